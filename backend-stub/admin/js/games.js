// Games: the list with visibility, versions and sizes; creating a game; editing its
// title, description and cover; and switching it between public and private.
import { api } from './api.js';
import { confirm, showDialog } from './dialog.js';
import {
  announce,
  field,
  formError,
  formatList,
  formatSize,
  h,
  replaceChildren,
  timeElement,
  whileBusy,
} from './dom.js';

const SLUG_PATTERN = '[a-z0-9][a-z0-9\\-]{0,63}';
const COVER_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const COVER_MAX_BYTES = 8 * 1024 * 1024; // docs/api.md: PUT …/cover takes at most 8 MiB

// Covers need the bearer token, so an <img> cannot fetch them itself: the bytes come
// through fetch() and the image shows them from a blob: URL, revoked with the view.
async function coverImage(game, signal, className) {
  if (!game.cover) {
    return h('div', { class: `${className} no-cover`, role: 'img', 'aria-label': 'No cover' });
  }
  try {
    const blob = await api.getCover(game.slug);
    const url = URL.createObjectURL(blob);
    signal.addEventListener('abort', () => URL.revokeObjectURL(url));
    return h('img', { class: className, src: url, alt: `Cover of ${game.title}` });
  } catch (error) {
    return h('div', { class: `${className} no-cover`, role: 'img', 'aria-label': error.message });
  }
}

function visibilityBadge(game) {
  return game.visibility === 'private'
    ? h('span', { class: 'badge warning' }, 'Private')
    : h('span', { class: 'badge success' }, 'Public');
}

function versionSummary(game) {
  const versions = game.versions ?? [];
  if (versions.length === 0) {
    return 'No versions yet';
  }
  const latest = versions[versions.length - 1];
  return (
    `${versions.length} ${versions.length === 1 ? 'version' : 'versions'} · latest ${latest.name} · ` +
    `${formatSize(latest.installed_size)} installed · ${formatSize(latest.download_size)} download`
  );
}

async function createGame() {
  const slug = h('input', {
    type: 'text', required: true, pattern: SLUG_PATTERN, maxlength: 64,
    autocomplete: 'off', spellcheck: 'false', autofocus: true,
  });
  const title = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const description = h('textarea', { rows: 3 });
  const isPublic = h('input', { type: 'checkbox' });
  const game = await showDialog({
    title: 'New game',
    body: [
      field('Slug', slug, 'Its name in URLs: lowercase letters, digits and dashes. It cannot change later.'),
      field('Title', title),
      field('Description', description),
      h('label', { class: 'check' }, isPublic, ' Public: every user sees it at once'),
      h('p', { class: 'help' }, 'A private game is seen only by admins until you make it public.'),
    ],
    submitLabel: 'Create',
    onSubmit: () =>
      api.createGame({
        slug: slug.value,
        title: title.value,
        description: description.value,
        visibility: isPublic.checked ? 'public' : 'private',
      }),
  });
  if (game) {
    announce(`Created ${game.title}`);
    location.hash = `#/games/${encodeURIComponent(game.slug)}`;
  }
}

async function gameCard(game, signal) {
  const detailsUrl = `#/games/${encodeURIComponent(game.slug)}`;
  return h(
    'li',
    { class: 'card game-card', 'data-game': game.slug },
    await coverImage(game, signal, 'cover-thumb'),
    h(
      'div',
      { class: 'game-info' },
      h('h2', {}, h('a', { href: detailsUrl }, game.title)),
      h('p', { class: 'dim' }, game.slug, ' ', visibilityBadge(game)),
      h('p', {}, versionSummary(game)),
    ),
    h(
      'div',
      { class: 'row-actions' },
      h('a', { class: 'button', href: detailsUrl, 'aria-label': `Edit ${game.title}` }, 'Edit'),
      h('a', {
        class: 'button',
        href: `#/builds/${encodeURIComponent(game.slug)}`,
        'aria-label': `Builds of ${game.title}`,
      }, 'Builds'),
    ),
  );
}

export async function renderGames(main, { signal }) {
  const { games } = await api.listGames();
  // The list has only the latest version; the details add the version count.
  const details = await Promise.all(games.map((game) => api.getGame(game.slug)));
  const cards = await Promise.all(details.map((game) => gameCard(game, signal)));
  replaceChildren(
    main,
    h(
      'div',
      { class: 'page-header' },
      h('h1', { tabindex: -1 }, 'Games'),
      h('button', { type: 'button', class: 'suggested', onclick: createGame }, 'New game'),
    ),
    games.length === 0
      ? h('p', { class: 'empty' }, 'No games yet. Create one, then push versions with mistpipe.')
      : h('ul', { class: 'card-list', 'aria-label': 'Games' }, cards),
  );
  return 'Games';
}

// The sentence a visibility switch confirms: who gains or loses sight of the game.
// Admins see every game, and disabled users see nothing, so only enabled users who are
// not admins are affected.
function visibilityMessage(game, users) {
  const affected = users.filter((user) => !user.is_admin && !user.disabled).map((user) => user.name);
  const makePrivate = game.visibility === 'public';
  const count = `${affected.length} ${affected.length === 1 ? 'user' : 'users'}`;
  const names = affected.length === 0 ? '' : ` (${formatList(affected)})`;
  if (makePrivate) {
    return affected.length === 0
      ? 'Nobody loses sight of it: every active account is an admin. Only admins will see it.'
      : `${count} who ${affected.length === 1 ? 'is' : 'are'} not admins${names} will no longer ` +
          'see it in their catalog, nor download it or its updates. Only admins will see it.';
  }
  return affected.length === 0
    ? 'Every user will see it in their catalog; right now every active account is an admin.'
    : `${count} who ${affected.length === 1 ? 'is' : 'are'} not admins${names} will see it in ` +
        'their catalog and may install it.';
}

async function switchVisibility(game, rerender) {
  const { users } = await api.listUsers();
  const makePrivate = game.visibility === 'public';
  const confirmed = await confirm({
    title: makePrivate ? `Make ${game.title} private?` : `Make ${game.title} public?`,
    message: h('p', { 'data-testid': 'visibility-message' }, visibilityMessage(game, users)),
    confirmLabel: makePrivate ? 'Make private' : 'Make public',
    destructive: makePrivate,
  });
  if (!confirmed) {
    return;
  }
  try {
    await api.updateGame(game.slug, { visibility: makePrivate ? 'private' : 'public' });
    announce(`${game.title} is now ${makePrivate ? 'private' : 'public'}`);
  } catch (error) {
    announce(error.message, { error: true });
  }
  await rerender('visibility');
}

function detailsForm(game, rerender) {
  const title = h('input', { type: 'text', required: true, value: game.title, autocomplete: 'off' });
  const description = h('textarea', { rows: 4 });
  description.value = game.description;
  const error = formError();
  const form = h(
    'form',
    { class: 'card form-card', 'aria-labelledby': 'details-heading' },
    h('h2', { id: 'details-heading' }, 'Details'),
    field('Title', title),
    field('Description', description),
    error,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'suggested' }, 'Save')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await whileBusy(form, () =>
        api.updateGame(game.slug, { title: title.value, description: description.value }));
      announce(`Saved ${title.value}`);
      await rerender('details');
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
  return form;
}

async function coverSection(game, signal, rerender) {
  const input = h('input', { type: 'file', accept: COVER_TYPES.join(',') });
  const error = formError();
  const section = h(
    'section',
    { class: 'card form-card', 'aria-labelledby': 'cover-heading' },
    h('h2', { id: 'cover-heading' }, 'Cover'),
    h('div', { class: 'cover-row' },
      await coverImage(game, signal, 'cover-large'),
      h('div', {},
        field('Upload a cover', input, 'PNG, JPEG or WebP, at most 8 MiB.'),
        error,
        game.cover
          ? h('button', { type: 'button', class: 'destructive-text', 'data-action': 'remove-cover',
              onclick: async () => {
                try {
                  await api.deleteCover(game.slug);
                  announce(`Removed the cover of ${game.title}`);
                } catch (failure) {
                  announce(failure.message, { error: true });
                }
                await rerender('cover');
              } }, 'Remove cover')
          : null)),
  );
  input.addEventListener('change', async () => {
    const file = input.files[0];
    error.hidden = true;
    if (!file) {
      return;
    }
    if (file.size > COVER_MAX_BYTES) {
      error.textContent = `${file.name} has ${formatSize(file.size)}; a cover may have at most 8 MiB.`;
      error.hidden = false;
      return;
    }
    try {
      await whileBusy(section, () => api.putCover(game.slug, file));
      announce(`Uploaded the cover of ${game.title}`);
      await rerender('cover');
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
  return section;
}

function visibilitySection(game, rerender) {
  const makePrivate = game.visibility === 'public';
  return h(
    'section',
    { class: 'card form-card', 'aria-labelledby': 'visibility-heading' },
    h('h2', { id: 'visibility-heading' }, 'Visibility'),
    h('p', {}, visibilityBadge(game), ' ',
      makePrivate
        ? 'Every user sees this game in their catalog.'
        : 'Only admins see this game. Users get “not found” for it.'),
    h('div', { class: 'form-actions' },
      h('button', {
        type: 'button',
        class: makePrivate ? 'destructive' : 'suggested',
        'data-action': 'visibility',
        onclick: () => switchVisibility(game, rerender),
      }, makePrivate ? 'Make private…' : 'Make public…')),
  );
}

export async function renderGame(main, { params, signal }) {
  const slug = decodeURIComponent(params[0]);

  // Rebuilds the page after a change and puts focus back on the control that made it.
  async function rerender(focusAction) {
    const title = await renderGame(main, { params, signal });
    document.title = `${title} – Mist admin`;
    const target =
      main.querySelector(`[data-action="${focusAction}"]`) ??
      main.querySelector(`#${focusAction}-heading`);
    if (target) {
      target.tabIndex = target.tabIndex < 0 ? -1 : target.tabIndex;
      target.focus();
    }
  }

  const game = await api.getGame(slug);
  replaceChildren(
    main,
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/games' }, 'Games'), ' › ', h('span', { 'aria-current': 'page' }, game.title)),
    h(
      'div',
      { class: 'page-header' },
      h('h1', { tabindex: -1 }, game.title),
      h('a', { class: 'button', href: `#/builds/${encodeURIComponent(game.slug)}` }, 'Builds and patches'),
    ),
    h('p', { class: 'dim' }, game.slug, ' · ', versionSummary(game),
      game.versions?.length ? [' · last pushed ', timeElement(game.versions.at(-1).created_at)] : null),
    detailsForm(game, rerender),
    await coverSection(game, signal, rerender),
    visibilitySection(game, rerender),
  );
  return game.title;
}
