// Builds and patches of one game: its versions with their sizes and every patch set
// with its state. The page polls while a patch set is pending or running.
import { api } from './api.js';
import { announce, formatSize, h, replaceChildren, timeElement } from './dom.js';

const POLL_INTERVAL_MS = 2000;

const STATE_LABELS = {
  pending: 'Pending',
  running: 'Running',
  ready: 'Ready',
  failed: 'Failed',
};
const STATE_CLASSES = {
  pending: 'badge',
  running: 'badge accent',
  ready: 'badge success',
  failed: 'badge error',
};

function patchName(patch) {
  return `${patch.from} → ${patch.to}`;
}

function versionsTable(game) {
  if (game.versions.length === 0) {
    return h('p', { class: 'empty' }, 'No versions yet. Push one with mistpipe.');
  }
  return h(
    'div',
    { class: 'table-card' },
    h(
      'table',
      { class: 'list' },
      h('caption', { class: 'visually-hidden' }, `Versions of ${game.title}, oldest first`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, '#'),
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'Pushed'),
        h('th', { scope: 'col', class: 'number' }, 'Files'),
        h('th', { scope: 'col', class: 'number' }, 'Installed size'),
        h('th', { scope: 'col', class: 'number' }, 'Download size'))),
      h('tbody', {}, game.versions.map((version) => h('tr', {},
        h('td', {}, String(version.ordinal)),
        h('th', { scope: 'row' }, version.name),
        h('td', {}, timeElement(version.created_at)),
        h('td', { class: 'number' }, String(version.file_count)),
        h('td', { class: 'number' }, formatSize(version.installed_size)),
        h('td', { class: 'number' }, formatSize(version.download_size))))),
    ),
  );
}

// The share of the full download a ready patch set saves, rounded down so a set that
// still downloads something never shows 100 %.
function saving(patch) {
  if (patch.state !== 'ready' || !patch.full_download_size) {
    return '—';
  }
  const percent = 100 * (1 - patch.download_size / patch.full_download_size);
  return `${Math.max(0, Math.floor(percent))} %`;
}

function patchRow(game, patch, onRetry) {
  const name = patchName(patch);
  return h(
    'tr',
    { 'data-patch': `${patch.from}-${patch.to}` },
    h('th', { scope: 'row' }, name),
    h(
      'td',
      {},
      h('span', { class: STATE_CLASSES[patch.state] ?? 'badge' }, STATE_LABELS[patch.state] ?? patch.state),
      patch.error ? h('p', { class: 'patch-error' }, patch.error) : null,
    ),
    h('td', { class: 'number' }, patch.delta_count === null ? '—' : String(patch.delta_count)),
    h('td', { class: 'number' }, formatSize(patch.download_size)),
    h('td', { class: 'number' }, formatSize(patch.full_download_size)),
    h('td', { class: 'number' }, saving(patch)),
    h('td', {}, timeElement(patch.updated_at)),
    h(
      'td',
      {},
      patch.state === 'failed'
        ? h('button', {
            type: 'button',
            'data-action': `retry-${patch.from}-${patch.to}`,
            'aria-label': `Retry patch ${name} of ${game.title}`,
            onclick: () => onRetry(patch),
          }, 'Retry')
        : null,
    ),
  );
}

function patchesTable(game, patches, onRetry) {
  if (patches.length === 0) {
    return h('p', { class: 'empty' },
      'No patch sets yet: the server builds them when a second version is pushed.');
  }
  return h(
    'div',
    { class: 'table-card' },
    h(
      'table',
      { class: 'list' },
      h('caption', { class: 'visually-hidden' }, `Patch sets of ${game.title}`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Versions'),
        h('th', { scope: 'col' }, 'State'),
        h('th', { scope: 'col', class: 'number' }, 'Deltas'),
        h('th', { scope: 'col', class: 'number' }, 'Download'),
        h('th', { scope: 'col', class: 'number' }, 'Full download'),
        h('th', { scope: 'col', class: 'number' }, 'Saving'),
        h('th', { scope: 'col' }, 'Updated'),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
      h('tbody', {}, patches.map((patch) => patchRow(game, patch, onRetry))),
    ),
  );
}

function gamePicker(games, slug) {
  const select = h(
    'select',
    { id: 'builds-game' },
    games.map((game) => h('option', { value: game.slug, selected: game.slug === slug }, game.title)),
  );
  select.addEventListener('change', () => {
    location.hash = `#/builds/${encodeURIComponent(select.value)}`;
  });
  return h('div', { class: 'field inline' }, h('label', { for: select.id }, 'Game'), select);
}

export async function renderBuilds(main, { params, signal }) {
  const { games } = await api.listGames();
  const header = h('div', { class: 'page-header' }, h('h1', { tabindex: -1 }, 'Builds and patches'));
  if (games.length === 0) {
    replaceChildren(main, header, h('p', { class: 'empty' }, 'No games yet.'));
    return 'Builds';
  }
  const slug = params[0] ? decodeURIComponent(params[0]) : games[0].slug;
  const versions = h('section', { 'aria-labelledby': 'versions-heading' });
  const patches = h('section', { 'aria-labelledby': 'patches-heading' });
  const pollNote = h('p', { class: 'dim', 'aria-live': 'off' });
  replaceChildren(main, header, gamePicker(games, slug), versions, patches);

  let timer = null;
  let lastStates = new Map();
  signal.addEventListener('abort', () => clearTimeout(timer));

  // Announces state changes after the first load, so a screen reader hears
  // "Patch 1 → 2 is ready" without reading the table again.
  function announceChanges(list) {
    const states = new Map(list.map((patch) => [patchName(patch), patch.state]));
    for (const [name, state] of states) {
      const before = lastStates.get(name);
      if (before && before !== state) {
        announce(`Patch ${name} is ${STATE_LABELS[state]?.toLowerCase() ?? state}`, {
          error: state === 'failed',
        });
      }
    }
    lastStates = states;
  }

  async function retry(patch) {
    try {
      await api.retryPatch(slug, patch.from, patch.to);
      announce(`Patch ${patchName(patch)} is queued again`);
    } catch (error) {
      announce(error.message, { error: true });
    }
    await refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    const [game, patchList] = await Promise.all([api.getGame(slug), api.listPatches(slug)]);
    if (signal.aborted) {
      return;
    }
    announceChanges(patchList.patches);
    const busy = patchList.patches.some((patch) => patch.state === 'pending' || patch.state === 'running');
    pollNote.textContent = busy
      ? 'Patch sets are being built: this page refreshes every 2 seconds.'
      : '';

    // Keep focus on the same control across the rebuild.
    const focusedAction = document.activeElement?.dataset?.action;
    replaceChildren(versions, h('h2', { id: 'versions-heading' }, 'Versions'), versionsTable(game));
    replaceChildren(patches, h('h2', { id: 'patches-heading', tabindex: -1 }, 'Patch sets'), pollNote,
      patchesTable(game, patchList.patches, retry));
    if (focusedAction) {
      // A retried patch set loses its button: focus goes to the table's heading.
      const target =
        main.querySelector(`[data-action="${focusedAction}"]`) ?? main.querySelector('#patches-heading');
      target.focus();
    }

    if (busy) {
      timer = setTimeout(() => {
        refresh().catch((error) => announce(error.message, { error: true }));
      }, POLL_INTERVAL_MS);
    }
  }

  await refresh();
  return 'Builds';
}
