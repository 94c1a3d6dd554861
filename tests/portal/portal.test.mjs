// End-to-end tests of the admin portal (backend-stub/admin/) in headless Chromium against
// a real mist-backend-stub on a loopback port. Every change made through the portal is
// checked through the API, as the launcher would see it.
//
// Screenshots of each page go to $MIST_BUILD_ROOT/screenshots, or to docs/screenshots
// when MIST_UPDATE_SCREENSHOTS=1, so a test run leaves the committed ones alone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, rename } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { gradientPng } from './lib/png.mjs';
import { TestServer } from './lib/server.mjs';

const CHROMIUM = process.env.MIST_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PORTAL_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const ADMIN = { name: 'root', password: 'correct horse battery' };
const PLAIN = { name: 'bob', password: 'bob-password-1' };

const screenshotDir =
  process.env.MIST_UPDATE_SCREENSHOTS === '1'
    ? path.join(process.env.MIST_SOURCE_ROOT, 'docs', 'screenshots')
    : path.join(process.env.MIST_BUILD_ROOT ?? '.', 'screenshots');

// Random bytes do not compress, so a delta between two versions that differ in a few
// bytes is much smaller than the full object and the server keeps it.
const engine = randomBytes(200000);
const levels = randomBytes(50000);

function patched(bytes, seed) {
  const copy = Buffer.from(bytes);
  for (let i = 0; i < 16; i++) {
    copy[(seed * 7919 + i * 4099) % copy.length] ^= 0xff;
  }
  return copy;
}

let server;
let browser;
let adminToken;
let context; // the admin's browser context, signed in by the first browser test
let page;

// The test environment's sanitizer and GLib debug settings are for Mist's programs: the
// browser runs without them.
function browserEnv() {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(ASAN|UBSAN|LSAN)_OPTIONS$|^G_DEBUG$|^MALLOC_PERTURB_$/.test(name)) {
      delete env[name];
    }
  }
  return env;
}

async function screenshot(target, name) {
  await mkdir(screenshotDir, { recursive: true });
  // A full-page shot of a scrolled page draws the sticky header bar in the middle.
  await target.evaluate(() => window.scrollTo(0, 0));
  await target.screenshot({ path: path.join(screenshotDir, `portal-${name}.png`), fullPage: true });
}

async function newPage(browserContext) {
  const created = await browserContext.newPage();
  created.setDefaultTimeout(15000);
  created.on('pageerror', (error) => console.log(`# page error: ${error.message}`));
  created.on('console', (message) => {
    if (message.type() === 'error') {
      console.log(`# console error: ${message.text()}`);
    }
  });
  return created;
}

async function signIn(target, user) {
  await target.goto(`${server.url}/admin/`);
  await target.getByLabel('User name').fill(user.name);
  await target.getByLabel('Password').fill(user.password);
  await target.getByRole('button', { name: 'Sign in' }).click();
}

// Polls the API until `check` returns a truthy value, for work the server does in the
// background (patch sets).
async function waitFor(description, check, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// Every form control has a label, and the page has the banner, navigation and main
// landmarks, so a screen reader can name and reach everything.
async function assertAccessible(target) {
  const unlabelled = await target.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((control) => control.type !== 'hidden' && control.offsetParent !== null)
      .filter((control) => {
        if (control.getAttribute('aria-label')) {
          return false;
        }
        if (control.tagName === 'BUTTON') {
          return control.textContent.trim() === '';
        }
        return control.labels.length === 0;
      })
      .map((control) => control.outerHTML));
  assert.deepEqual(unlabelled, [], 'controls without a label');
  assert.equal(await target.locator('header').count(), 1, 'one banner landmark');
  assert.equal(await target.locator('main').count(), 1, 'one main landmark');
  assert.equal(await target.locator('[role="status"][aria-live="polite"]').count(), 1, 'a live region');
}

before(async () => {
  server = await TestServer.start({ adminName: ADMIN.name, adminPassword: ADMIN.password });
  adminToken = await server.login(ADMIN.name, ADMIN.password);

  const bob = await server.api('POST', '/admin/users', {
    token: adminToken,
    json: { name: PLAIN.name, password: PLAIN.password, is_admin: false },
  });
  assert.equal(bob.status, 201, JSON.stringify(bob.body));
  const game = await server.api('POST', '/admin/games', {
    token: adminToken,
    json: { slug: 'tetris', title: 'Tetris', description: 'Falling blocks.', visibility: 'public' },
  });
  assert.equal(game.status, 201, JSON.stringify(game.body));
  const cover = await server.api('PUT', '/admin/games/tetris/cover', {
    token: adminToken,
    body: gradientPng(60, 80, [53, 132, 228], [145, 65, 172]),
    headers: { 'Content-Type': 'image/png' },
  });
  assert.equal(cover.status, 200, JSON.stringify(cover.body));
  await server.push(adminToken, 'tetris', '1.0', { 'bin/tetris': engine, 'data/levels': levels });
  await server.push(adminToken, 'tetris', '1.1', { 'bin/tetris': patched(engine, 1), 'data/levels': levels });

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, env: browserEnv() });
});

after(async () => {
  await browser?.close();
  const status = await server?.stop();
  if (status) {
    assert.equal(status.code, 0, `the server exited with ${status.code ?? status.signal}:\n${server.log}`);
  }
});

test('portal files carry security headers', async () => {
  for (const [file, type] of [
    ['', 'text/html; charset=utf-8'],
    ['js/main.js', 'text/javascript; charset=utf-8'],
    ['portal.css', 'text/css; charset=utf-8'],
  ]) {
    const response = await fetch(`${server.url}/admin/${file}`);
    assert.equal(response.status, 200, `/admin/${file}`);
    assert.equal(response.headers.get('content-type'), type, `/admin/${file}`);
    assert.equal(response.headers.get('content-security-policy'), PORTAL_CSP, `/admin/${file}`);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', `/admin/${file}`);
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer', `/admin/${file}`);
    assert.equal(response.headers.get('x-frame-options'), 'DENY', `/admin/${file}`);
    assert.equal(response.headers.get('set-cookie'), null, `/admin/${file}`);
  }
});

test('API responses carry security headers', async () => {
  for (const [method, apiPath, token] of [
    ['GET', '/server', null],
    ['GET', '/games', adminToken],
    ['GET', '/admin/users', null],
  ]) {
    const response = await server.api(method, apiPath, { token });
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/, apiPath);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', apiPath);
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer', apiPath);
    assert.equal(response.headers.get('x-frame-options'), 'DENY', apiPath);
    assert.equal(response.headers.get('set-cookie'), null, apiPath);
  }
});

test('portal paths outside its files are not found', async () => {
  assert.equal((await fetch(`${server.url}/admin/nothing.js`)).status, 404);
  assert.equal((await fetch(`${server.url}/admin/js`)).status, 404);
  assert.equal((await fetch(`${server.url}/admin/%2e%2e/%2e%2e/etc/passwd`)).status, 404);
  const redirect = await fetch(`${server.url}/admin`, { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/admin/');
  const post = await fetch(`${server.url}/admin/`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  const etag = (await fetch(`${server.url}/admin/`)).headers.get('etag');
  const cached = await fetch(`${server.url}/admin/`, { headers: { 'If-None-Match': etag } });
  assert.equal(cached.status, 304);
});

test('admin signs in', async () => {
  context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  page = await newPage(context);
  await page.goto(`${server.url}/admin/`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await assertAccessible(page);
  await page.getByLabel('User name').fill(ADMIN.name);
  await page.getByLabel('Password').fill('a wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /./ }).waitFor();
  await screenshot(page, 'sign-in');

  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Users', 'focus on the heading');

  const token = await page.evaluate(() => sessionStorage.getItem('mist-admin-token'));
  assert.match(token ?? '', /^[0-9a-f]{64}$/, 'the token is in sessionStorage');
  assert.ok(!page.url().includes(token), 'the token is not in the URL');
  assert.deepEqual(await context.cookies(), [], 'no cookies');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
});

test('admin creates a user who logs in', async () => {
  await page.getByRole('button', { name: 'New user' }).click();
  const dialog = page.getByRole('dialog', { name: 'New user' });
  await dialog.getByLabel('Name').fill('alice');
  await screenshot(page, 'new-user');
  await dialog.getByRole('button', { name: 'Create' }).click();

  const passwordDialog = page.getByRole('dialog', { name: 'Password for alice' });
  const password = await passwordDialog.getByLabel('Password').inputValue();
  assert.match(password, /^[A-Za-z0-9]{20}$/);
  await screenshot(page, 'generated-password');
  await passwordDialog.getByRole('button', { name: 'Done' }).click();
  await page.locator('tr[data-user="alice"]').waitFor();
  await assertAccessible(page);
  await screenshot(page, 'users');

  const login = await server.api('POST', '/auth/login', { json: { username: 'alice', password } });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  assert.equal(login.body.user.is_admin, false);
});

test('admin creates a user with a typed password', async () => {
  await page.getByRole('button', { name: 'New user' }).click();
  const dialog = page.getByRole('dialog', { name: 'New user' });
  await dialog.getByLabel('Name').fill('carol');
  await dialog.getByLabel('Type a password').check();
  await dialog.getByLabel('Password', { exact: true }).fill('short');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'needs 8 to 1024' }).waitFor();

  await dialog.getByLabel('Password', { exact: true }).fill('carol-password-1');
  await dialog.getByLabel('Administrator').check();
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.locator('tr[data-user="carol"]').waitFor();
  assert.equal(await page.getByRole('dialog').count(), 0, 'no password dialog for a typed password');

  const login = await server.api('POST', '/auth/login', {
    json: { username: 'carol', password: 'carol-password-1' },
  });
  assert.equal(login.status, 200);
  assert.equal(login.body.user.is_admin, true);
});

test('admin resets a password', async () => {
  const before = await server.login('carol', 'carol-password-1');
  await page.getByRole('button', { name: 'Reset the password of carol' }).click();
  const dialog = page.getByRole('dialog', { name: 'Reset the password of carol' });
  await dialog.getByRole('button', { name: 'Reset password' }).click();
  const passwordDialog = page.getByRole('dialog', { name: 'Password for carol' });
  const password = await passwordDialog.getByLabel('Password').inputValue();
  await passwordDialog.getByRole('button', { name: 'Done' }).click();

  assert.equal((await server.api('GET', '/me', { token: before })).status, 401, 'old token revoked');
  await server.login('carol', password);
});

test('admin toggles the admin flag', async () => {
  await page.getByRole('button', { name: 'Remove admin from carol' }).click();
  await page.getByRole('button', { name: 'Make admin carol' }).waitFor();
  let users = (await server.api('GET', '/admin/users', { token: adminToken })).body.users;
  assert.equal(users.find((user) => user.name === 'carol').is_admin, false);

  await page.getByRole('button', { name: 'Make admin carol' }).click();
  await page.getByRole('button', { name: 'Remove admin from carol' }).waitFor();
  users = (await server.api('GET', '/admin/users', { token: adminToken })).body.users;
  assert.equal(users.find((user) => user.name === 'carol').is_admin, true);
  assert.equal(
    await page.evaluate(() => document.activeElement.getAttribute('aria-label')),
    'Remove admin from carol',
    'focus stays on the button after the row is rebuilt',
  );
});

test('own admin flag cannot be removed', async () => {
  await page.getByRole('button', { name: `Remove admin from ${ADMIN.name}` }).click();
  await page.locator('#status.error').filter({ hasText: /./ }).waitFor();
  const users = (await server.api('GET', '/admin/users', { token: adminToken })).body.users;
  assert.equal(users.find((user) => user.name === ADMIN.name).is_admin, true);
  assert.equal(users.find((user) => user.name === ADMIN.name).disabled, false);

  await page.getByRole('button', { name: `Disable ${ADMIN.name}` }).click();
  await page.getByRole('button', { name: `Disable ${ADMIN.name}` }).waitFor();
  const again = (await server.api('GET', '/admin/users', { token: adminToken })).body.users;
  assert.equal(again.find((user) => user.name === ADMIN.name).disabled, false);
});

test('dialog works by keyboard', async () => {
  await page.getByRole('button', { name: 'New user' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'New user' });
  await dialog.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.labels?.[0]?.textContent), 'Name',
    'focus starts in the first field');
  await page.keyboard.type('dave');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'New user',
    'focus returns to the button that opened the dialog');
  const users = (await server.api('GET', '/admin/users', { token: adminToken })).body.users;
  assert.ok(!users.some((user) => user.name === 'dave'), 'Escape creates nothing');
});

test('games page lists versions and sizes', async () => {
  await page.getByRole('link', { name: 'Games' }).click();
  await page.getByRole('heading', { name: 'Games', level: 1 }).waitFor();
  const card = page.locator('li[data-game="tetris"]');
  await card.getByText('2 versions · latest 1.1').waitFor();
  await card.getByText('Public').waitFor();
  const cover = card.getByRole('img', { name: 'Cover of Tetris' });
  await cover.waitFor();
  assert.ok(await cover.evaluate((image) => image.complete && image.naturalWidth === 60), 'cover loaded');
  await assertAccessible(page);
  await screenshot(page, 'games');
});

test('admin creates and edits a game', async () => {
  await page.getByRole('button', { name: 'New game' }).click();
  const dialog = page.getByRole('dialog', { name: 'New game' });
  await dialog.getByLabel('Slug').fill('pong');
  await dialog.getByLabel('Title').fill('Pong');
  await dialog.getByLabel('Description').fill('Two paddles.');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Pong', level: 1 }).waitFor();

  let game = (await server.api('GET', '/games/pong', { token: adminToken })).body;
  assert.equal(game.visibility, 'private', 'new games start private');
  assert.equal(game.description, 'Two paddles.');

  await page.getByLabel('Title').fill('Pong Deluxe');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Pong Deluxe', level: 1 }).waitFor();

  await page.getByLabel('Upload a cover').setInputFiles({
    name: 'pong.png',
    mimeType: 'image/png',
    buffer: gradientPng(90, 120, [46, 194, 126], [28, 113, 216]),
  });
  await page.getByRole('img', { name: 'Cover of Pong Deluxe' }).waitFor();
  game = (await server.api('GET', '/games/pong', { token: adminToken })).body;
  assert.equal(game.title, 'Pong Deluxe');
  assert.equal(game.cover?.content_type, 'image/png');
  await assertAccessible(page);
  await screenshot(page, 'game');

  await page.getByRole('button', { name: 'Remove cover' }).click();
  await page.getByRole('img', { name: 'No cover' }).waitFor();
  game = (await server.api('GET', '/games/pong', { token: adminToken })).body;
  assert.equal(game.cover, null);
});

test('private game disappears for users', async () => {
  const userToken = await server.login('bob', PLAIN.password);
  let list = (await server.api('GET', '/games', { token: userToken })).body.games;
  assert.ok(list.some((game) => game.slug === 'tetris'), 'bob sees the public game');

  await page.goto(`${server.url}/admin/#/games/tetris`);
  await page.getByRole('heading', { name: 'Tetris', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Make private…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Make Tetris private?' });
  const message = await dialog.getByTestId('visibility-message').textContent();
  assert.match(message, /2 users who are not admins \(alice and bob\) will no longer see it/);
  await screenshot(page, 'visibility');

  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await server.api('GET', '/games/tetris', { token: userToken })).status, 200, 'cancel keeps it public');
  assert.equal(
    await page.evaluate(() => document.activeElement.textContent),
    'Make private…',
    'focus returns to the button that opened the dialog',
  );

  await page.getByRole('button', { name: 'Make private…' }).click();
  await dialog.getByRole('button', { name: 'Make private' }).click();
  await page.getByRole('button', { name: 'Make public…' }).waitFor();

  list = (await server.api('GET', '/games', { token: userToken })).body.games;
  assert.ok(!list.some((game) => game.slug === 'tetris'), 'bob no longer sees it');
  assert.equal((await server.api('GET', '/games/tetris', { token: userToken })).status, 404);
  const admin = (await server.api('GET', '/games/tetris', { token: adminToken })).body;
  assert.equal(admin.visibility, 'private', 'admins still see it');
});

test('builds page shows versions and patch sets', async () => {
  await waitFor('patch set 1 → 2', async () => {
    const { body } = await server.api('GET', '/games/tetris/patches', { token: adminToken });
    return body.patches.some((patch) => patch.state === 'ready' || patch.state === 'failed');
  });
  await page.getByRole('link', { name: 'Builds', exact: true }).click();
  await page.getByRole('heading', { name: 'Builds and patches', level: 1 }).waitFor();
  await page.getByLabel('Game').selectOption('tetris');
  const versions = page.getByRole('table', { name: 'Versions of Tetris, oldest first' });
  await versions.waitFor();
  assert.equal(await versions.locator('tbody tr').count(), 2);
  const patches = page.getByRole('table', { name: 'Patch sets of Tetris' });
  await patches.locator('tr[data-patch="1-2"]').getByText(/Ready|Failed/).waitFor();
  await assertAccessible(page);
  await screenshot(page, 'builds');
});

// A patch set fails when the source version's object is missing from the store. Once the
// object is back, Retry queues the set again, and the page polls until it is ready.
test('failed patch set is retried', async () => {
  const manifest = (await server.api('GET', '/games/tetris/versions/2/manifest', { token: adminToken })).body;
  const object = manifest.files.find((file) => file.path === 'bin/tetris').object.id;
  const objectPath = path.join(server.dataDir, 'content', 'objects', object.slice(0, 2), object);
  await rename(objectPath, `${objectPath}.moved`);
  await server.push(adminToken, 'tetris', '1.2', { 'bin/tetris': patched(engine, 2), 'data/levels': levels });
  const failed = await waitFor('patch set 2 → 3 to fail', async () => {
    const { body } = await server.api('GET', '/games/tetris/patches', { token: adminToken });
    return body.patches.find((patch) => patch.from === 2 && patch.to === 3 && patch.state === 'failed');
  });
  assert.ok(failed.error, 'a failed patch set has a reason');

  // The page may already show this URL, where goto() changes nothing: reload it.
  await page.goto(`${server.url}/admin/#/builds/tetris`);
  await page.reload();
  const row = page.locator('tr[data-patch="2-3"]');
  await row.getByText('Failed').waitFor();
  await row.getByText(failed.error).waitFor();
  await screenshot(page, 'builds-failed');

  await rename(`${objectPath}.moved`, objectPath);
  await row.getByRole('button', { name: 'Retry patch 2 → 3 of Tetris' }).click();
  await row.getByText('Ready').waitFor({ timeout: 60000 });
  const { body } = await server.api('GET', '/games/tetris/patches', { token: adminToken });
  const retried = body.patches.find((patch) => patch.from === 2 && patch.to === 3);
  assert.equal(retried.state, 'ready');
  assert.equal(retried.error, null);
  assert.ok(retried.delta_count >= 1, 'the rebuilt set has a delta');
});

test('disabled user loses access', async () => {
  const userToken = await server.login('bob', PLAIN.password);
  assert.equal((await server.api('GET', '/me', { token: userToken })).status, 200);

  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('button', { name: `Disable ${PLAIN.name}` }).click();
  await page.getByRole('button', { name: `Enable ${PLAIN.name}` }).waitFor();
  await page.locator(`tr[data-user="${PLAIN.name}"]`).getByText('Disabled').waitFor();

  assert.equal((await server.api('GET', '/me', { token: userToken })).status, 401, 'token stops working');
  const login = await server.api('POST', '/auth/login', { json: { username: PLAIN.name, password: PLAIN.password } });
  assert.equal(login.status, 401, 'no new login');

  await page.getByRole('button', { name: `Enable ${PLAIN.name}` }).click();
  await page.getByRole('button', { name: `Disable ${PLAIN.name}` }).waitFor();
  await server.login(PLAIN.name, PLAIN.password);
});

test('plain user sees admins only', async () => {
  const userContext = await browser.newContext({ viewport: { width: 900, height: 600 } });
  try {
    const userPage = await newPage(userContext);
    await signIn(userPage, PLAIN);
    await userPage.getByRole('heading', { name: 'Admins only', level: 1 }).waitFor();
    await userPage.getByText(`You signed in as ${PLAIN.name}`).waitFor();
    assert.equal(await userPage.evaluate(() => sessionStorage.length), 0, 'no token kept');
    assert.equal(await userPage.locator('#nav').isVisible(), false, 'no navigation');
    await screenshot(userPage, 'admins-only');
  } finally {
    await userContext.close();
  }
});

test('session ends when the token is revoked', async () => {
  const otherContext = await browser.newContext();
  try {
    const otherPage = await newPage(otherContext);
    await signIn(otherPage, ADMIN);
    await otherPage.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    const token = await otherPage.evaluate(() => sessionStorage.getItem('mist-admin-token'));
    assert.equal((await server.api('POST', '/auth/logout', { token })).status, 204);

    await otherPage.getByRole('link', { name: 'Games' }).click();
    await otherPage.getByRole('heading', { name: 'Sign in' }).waitFor();
    await otherPage.getByText('Your session ended').waitFor();
    assert.equal(await otherPage.evaluate(() => sessionStorage.length), 0);
  } finally {
    await otherContext.close();
  }
});

// A page on another origin posts forms at the API while the admin is signed in to the
// portal in the same browser. Tokens travel only in the Authorization header, so the
// forms carry no credentials, and the server rejects form bodies outright.
test('cross-origin form post changes nothing', async () => {
  const target = `${server.url}/api/v1`;
  // enctype=text/plain sends "NAME=VALUE": this name and value make the body valid JSON.
  const jsonName = '{"name": "mallory", "password": "mallory-password", "is_admin": true, "x": "';
  const attackerPages = {
    '/text-plain': `<form method="post" enctype="text/plain" action="${target}/admin/users">
        <input name='${jsonName}' value='"}'></form>`,
    '/urlencoded': `<form method="post" action="${target}/admin/users">
        <input name="name" value="mallory"><input name="password" value="mallory-password">
        <input name="is_admin" value="true"></form>`,
    '/multipart': `<form method="post" enctype="multipart/form-data" action="${target}/admin/games">
        <input name="slug" value="evil"><input name="title" value="Evil"></form>`,
    '/login': `<form method="post" enctype="text/plain" action="${target}/auth/login">
        <input name='{"username": "${PLAIN.name}", "password": "${PLAIN.password}", "x": "' value='"}'></form>`,
  };
  const attacker = createServer((request, response) => {
    const form = attackerPages[request.url];
    if (request.url === '/frame') {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end(`<!DOCTYPE html><title>attacker</title><iframe src="${server.url}/admin/"></iframe>`);
    } else if (form) {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end(`<!DOCTYPE html><title>attacker</title>${form}
        <script>document.forms[0].submit()</script>`);
    } else {
      response.writeHead(404).end();
    }
  });
  attacker.listen(0, '127.0.0.1');
  await once(attacker, 'listening');
  // Served as localhost, the page is cross-site to the portal at 127.0.0.1, not only
  // cross-origin by its port.
  const attackerUrl = `http://localhost:${attacker.address().port}`;

  try {
    const attackerPage = await newPage(context);
    for (const name of Object.keys(attackerPages)) {
      const response = await Promise.all([
        attackerPage.waitForResponse((candidate) => candidate.url().startsWith(target)),
        attackerPage.goto(`${attackerUrl}${name}`),
      ]).then(([apiResponse]) => apiResponse);
      assert.equal(response.status(), 415, `${name}: the server rejects the form body`);
      assert.equal(response.headers()['set-cookie'], undefined, `${name}: no cookie`);
    }

    await attackerPage.goto(`${attackerUrl}/frame`);
    const frame = attackerPage.frames().find((candidate) => candidate !== attackerPage.mainFrame());
    await attackerPage.waitForTimeout(500);
    const framed = await frame?.evaluate(() => document.querySelector('#main') !== null).catch(() => false);
    assert.ok(!framed, 'the portal does not render inside a frame');
    await attackerPage.close();
  } finally {
    attacker.close();
  }

  const users = (await server.api('GET', '/admin/users', { token: adminToken })).body.users;
  assert.ok(!users.some((user) => user.name === 'mallory'), 'no user was created');
  const games = (await server.api('GET', '/games', { token: adminToken })).body.games;
  assert.ok(!games.some((game) => game.slug === 'evil'), 'no game was created');
});

test('narrow window shows one column', async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(`${server.url}/admin/#/games`);
  await page.getByRole('heading', { name: 'Games', level: 1 }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
  await screenshot(page, 'games-narrow');
});

test('dark style follows the system', async () => {
  await page.setViewportSize({ width: 1100, height: 760 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${server.url}/admin/#/users`);
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  assert.equal(background, 'rgb(34, 34, 38)');
  await screenshot(page, 'users-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});
