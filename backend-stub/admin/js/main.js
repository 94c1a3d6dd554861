// The portal's shell: sign-in, the "admins only" page, navigation between the views and
// what happens when the session ends.
import { ApiError, api, clearToken, getToken, onSessionEnded, setToken } from './api.js';
import { closeAllDialogs } from './dialog.js';
import { announce, field, formError, h, replaceChildren, showFormError, whileBusy } from './dom.js';
import { renderBuilds } from './builds.js';
import { renderGame, renderGames } from './games.js';
import { renderUsers } from './users.js';

const APP_NAME = 'Mist admin';

const routes = [
  { pattern: /^#\/users$/, view: renderUsers, section: 'users' },
  { pattern: /^#\/games$/, view: renderGames, section: 'games' },
  { pattern: /^#\/games\/([^/]+)$/, view: renderGame, section: 'games' },
  { pattern: /^#\/builds(?:\/([^/]+))?$/, view: renderBuilds, section: 'builds' },
];
const DEFAULT_ROUTE = '#/users';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const account = document.getElementById('account');
const accountName = document.getElementById('account-name');

let me = null;
let viewController = null;

function setTitle(title) {
  document.title = title ? `${title} – ${APP_NAME}` : APP_NAME;
}

// Moves focus to the new page's heading, so a screen reader starts reading there.
function focusHeading() {
  main.querySelector('h1')?.focus();
}

function showShell(signedIn) {
  nav.hidden = !signedIn;
  account.hidden = !signedIn;
  accountName.textContent = signedIn ? me.name : '';
}

function stopView() {
  viewController?.abort();
  viewController = null;
  closeAllDialogs();
}

function renderSignIn(message = null) {
  stopView();
  me = null;
  showShell(false);
  const username = h('input', { type: 'text', autocomplete: 'username', required: true, autofocus: true,
    spellcheck: 'false', autocapitalize: 'none' });
  const password = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const error = formError();
  const form = h(
    'form',
    { class: 'card sign-in', 'aria-labelledby': 'sign-in-heading' },
    h('h1', { id: 'sign-in-heading', tabindex: -1 }, 'Sign in'),
    h('p', { class: 'dim' }, 'Sign in with an admin account of this Mist server.'),
    message ? h('p', { class: 'notice', role: 'status' }, message) : null,
    field('User name', username),
    field('Password', password),
    error,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'suggested' }, 'Sign in')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showFormError(error, null);
    try {
      const session = await whileBusy(form, () => api.login(username.value, password.value));
      await startSession(session.token, session.user);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 429 && failure.retryAfter) {
        const minutes = Math.ceil(failure.retryAfter / 60);
        showFormError(error, new Error(
          `Too many failed sign-ins. Try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`));
      } else {
        showFormError(error, failure);
      }
      password.select();
    }
  });
  replaceChildren(main, form);
  setTitle('Sign in');
  username.focus();
}

// A signed-in user who is not an admin: the token is revoked at once, since the portal
// has nothing it may do with it.
function renderAdminsOnly(user, token) {
  stopView();
  clearToken();
  me = null;
  showShell(false);
  if (token) {
    api.logout(token).catch(() => {});
  }
  replaceChildren(
    main,
    h(
      'section',
      { class: 'card notice-page', 'aria-labelledby': 'admins-only-heading' },
      h('h1', { id: 'admins-only-heading', tabindex: -1 }, 'Admins only'),
      h('p', {}, 'You signed in as ', h('strong', {}, user.name),
        ', which is not an admin account. This portal manages the server’s users and games, ' +
        'so only admins may use it.'),
      h('p', {}, 'To install and play games, use the Mist launcher. If you should be an admin, ' +
        'ask one of this server’s admins.'),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'suggested', onclick: () => renderSignIn() },
          'Sign in with another account')),
    ),
  );
  setTitle('Admins only');
  focusHeading();
}

async function startSession(token, user) {
  if (!user.is_admin) {
    renderAdminsOnly(user, token);
    return;
  }
  setToken(token);
  me = user;
  showShell(true);
  if (!routes.some((route) => route.pattern.test(location.hash))) {
    history.replaceState(null, '', DEFAULT_ROUTE);
  }
  await route();
}

function renderError(error) {
  replaceChildren(
    main,
    h('section', { class: 'card notice-page', 'aria-labelledby': 'error-heading' },
      h('h1', { id: 'error-heading', tabindex: -1 }, error.status === 404 ? 'Not found' : 'Something went wrong'),
      h('p', { role: 'alert' }, error.message),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', onclick: () => route() }, 'Try again'),
        h('a', { class: 'button', href: DEFAULT_ROUTE }, 'Users'))),
  );
  setTitle('Error');
  focusHeading();
}

async function route() {
  if (!me) {
    return;
  }
  stopView();
  const controller = new AbortController();
  viewController = controller;

  let entry = null;
  let match = null;
  for (const candidate of routes) {
    match = candidate.pattern.exec(location.hash);
    if (match) {
      entry = candidate;
      break;
    }
  }
  if (!entry) {
    history.replaceState(null, '', DEFAULT_ROUTE);
    return route();
  }
  for (const link of nav.querySelectorAll('a')) {
    if (link.dataset.section === entry.section) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }

  main.setAttribute('aria-busy', 'true');
  try {
    const title = await entry.view(main, { params: match.slice(1), me, signal: controller.signal });
    if (controller.signal.aborted) {
      return;
    }
    setTitle(title);
    focusHeading();
  } catch (error) {
    if (controller.signal.aborted || error.name === 'AbortError') {
      return;
    }
    if (error instanceof ApiError && error.status === 403) {
      // The admin flag was taken away while this tab was open.
      renderAdminsOnly(me, getToken());
      return;
    }
    if (error instanceof ApiError && error.status === 401) {
      return; // onSessionEnded already showed the sign-in page.
    }
    renderError(error);
  } finally {
    main.removeAttribute('aria-busy');
  }
}

async function signOut() {
  const token = getToken();
  clearToken();
  try {
    await api.logout(token);
  } catch {
    // The token may have expired already; it is forgotten here either way.
  }
  renderSignIn('You signed out.');
}

async function start() {
  document.getElementById('sign-out').addEventListener('click', signOut);
  window.addEventListener('hashchange', () => route());
  onSessionEnded(() => {
    clearToken();
    renderSignIn('Your session ended (it expired, was revoked or the account changed). Sign in again.');
  });

  const token = getToken();
  if (!token) {
    renderSignIn();
    return;
  }
  try {
    const user = await api.me();
    await startSession(token, user);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      renderSignIn(error.message);
    }
  }
}

window.addEventListener('unhandledrejection', (event) => {
  announce(event.reason?.message ?? String(event.reason), { error: true });
});

start();
