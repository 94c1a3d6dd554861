// Users: list, create, disable and enable, reset a password, grant and revoke admin.
import { api } from './api.js';
import { InputError, showDialog } from './dialog.js';
import { announce, field, h, replaceChildren, timeElement } from './dom.js';

// No 0/O, 1/l/I: a generated password is read out or copied by hand.
const PASSWORD_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const PASSWORD_LENGTH = 20; // log2(57) * 20 ≈ 116 bits
const PASSWORD_MIN_BYTES = 8; // docs/api.md: 8 to 1024 bytes of UTF-8
const PASSWORD_MAX_BYTES = 1024;
const USER_NAME_PATTERN = '[A-Za-z0-9._\\-]{1,64}';

export function generatePassword() {
  const characters = [];
  const limit = 256 - (256 % PASSWORD_ALPHABET.length); // rejection sampling, no modulo bias
  while (characters.length < PASSWORD_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(PASSWORD_LENGTH * 2))) {
      if (byte < limit && characters.length < PASSWORD_LENGTH) {
        characters.push(PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length]);
      }
    }
  }
  return characters.join('');
}

// The "generate one or type one" choice of the create and reset dialogs. `read()` returns
// the password to send and whether it was generated, or throws InputError.
function passwordChoice() {
  const name = `password-mode-${Math.random().toString(36).slice(2)}`;
  const generate = h('input', { type: 'radio', name, value: 'generate', checked: true });
  const type = h('input', { type: 'radio', name, value: 'type' });
  // The length is checked in bytes by read(), as the server counts it, not by minlength.
  const input = h('input', { type: 'password', autocomplete: 'new-password' });
  const typed = field('Password', input, 'At least 8 characters.');
  typed.hidden = true;
  const update = () => {
    typed.hidden = !type.checked;
    input.required = type.checked;
  };
  generate.addEventListener('change', update);
  type.addEventListener('change', update);

  const element = h(
    'fieldset',
    { class: 'choice' },
    h('legend', {}, 'Password'),
    h('label', { class: 'radio' }, generate, ' Generate a password and show it once'),
    h('label', { class: 'radio' }, type, ' Type a password'),
    typed,
  );

  function read() {
    if (generate.checked) {
      return { password: generatePassword(), generated: true };
    }
    const bytes = new TextEncoder().encode(input.value).length;
    if (bytes < PASSWORD_MIN_BYTES || bytes > PASSWORD_MAX_BYTES) {
      input.focus();
      throw new InputError(
        `The password has ${bytes} bytes: it needs ${PASSWORD_MIN_BYTES} to ${PASSWORD_MAX_BYTES}.`,
      );
    }
    return { password: input.value, generated: false };
  }

  return { element, read };
}

// Shows a generated password once; it is kept nowhere else.
async function showPassword(userName, password) {
  const output = h('input', {
    type: 'text',
    readonly: true,
    value: password,
    class: 'password-output',
    spellcheck: 'false',
    autocomplete: 'off',
    'data-testid': 'generated-password',
  });
  const copy = h('button', { type: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    output.select();
    try {
      await navigator.clipboard.writeText(password);
      announce('Password copied');
    } catch {
      // The clipboard API needs a secure context (HTTPS or localhost): the text stays
      // selected for Ctrl+C.
      announce('Press Ctrl+C to copy the selected password');
    }
  });
  await showDialog({
    title: `Password for ${userName}`,
    body: [
      h('p', {}, 'This password is shown only this once. Give it to ', h('strong', {}, userName),
        ' over a channel you trust.'),
      field('Password', output),
      h('div', { class: 'row' }, copy),
    ],
    submitLabel: 'Done',
    cancelLabel: null,
  });
}

async function createUser(refresh) {
  const nameInput = h('input', {
    type: 'text',
    required: true,
    pattern: USER_NAME_PATTERN,
    maxlength: 64,
    autocomplete: 'off',
    spellcheck: 'false',
    autofocus: true,
  });
  const adminInput = h('input', { type: 'checkbox' });
  const password = passwordChoice();

  const created = await showDialog({
    title: 'New user',
    body: [
      field('Name', nameInput, 'Letters, digits, dots, dashes and underscores; at most 64.'),
      password.element,
      h('label', { class: 'check' }, adminInput, ' Administrator: may use this portal and mistpipe'),
    ],
    submitLabel: 'Create',
    onSubmit: async () => {
      const { password: value, generated } = password.read();
      const user = await api.createUser(nameInput.value, value, adminInput.checked);
      return { user, password: value, generated };
    },
  });
  if (!created) {
    return;
  }
  announce(`Created ${created.user.name}`);
  await refresh();
  if (created.generated) {
    await showPassword(created.user.name, created.password);
  }
}

async function resetPassword(user, refresh) {
  const password = passwordChoice();
  const result = await showDialog({
    title: `Reset the password of ${user.name}`,
    body: [
      h('p', {}, `${user.name} is signed out everywhere and must sign in with the new password.`),
      password.element,
    ],
    submitLabel: 'Reset password',
    destructive: true,
    onSubmit: async () => {
      const { password: value, generated } = password.read();
      await api.updateUser(user.name, { password: value });
      return { password: value, generated };
    },
  });
  if (!result) {
    return;
  }
  announce(`Reset the password of ${user.name}`);
  await refresh();
  if (result.generated) {
    await showPassword(user.name, result.password);
  }
}

// Sends one PATCH from a row button. The server decides whether it is allowed: it
// rejects, for example, an admin disabling itself or dropping its own admin flag.
async function applyChange(user, changes, doneMessage, refresh) {
  try {
    await api.updateUser(user.name, changes);
    announce(doneMessage);
  } catch (error) {
    announce(error.message, { error: true });
  }
  await refresh();
}

function userRow(user, me, refresh) {
  const isMe = user.name === me.name;
  const actions = h(
    'div',
    { class: 'row-actions' },
    h(
      'button',
      {
        type: 'button',
        'aria-label': `Reset the password of ${user.name}`,
        'data-action': 'password',
        onclick: () => resetPassword(user, refresh),
      },
      'Reset password',
    ),
    h(
      'button',
      {
        type: 'button',
        'aria-label': `${user.disabled ? 'Enable' : 'Disable'} ${user.name}`,
        'data-action': 'disabled',
        class: user.disabled ? '' : 'destructive-text',
        onclick: () =>
          applyChange(
            user,
            { disabled: !user.disabled },
            user.disabled ? `Enabled ${user.name}` : `Disabled ${user.name}: signed out everywhere`,
            refresh,
          ),
      },
      user.disabled ? 'Enable' : 'Disable',
    ),
    h(
      'button',
      {
        type: 'button',
        'aria-label': `${user.is_admin ? 'Remove admin from' : 'Make admin'} ${user.name}`,
        'data-action': 'admin',
        onclick: () =>
          applyChange(
            user,
            { is_admin: !user.is_admin },
            user.is_admin ? `${user.name} is no longer an admin` : `${user.name} is now an admin`,
            refresh,
          ),
      },
      user.is_admin ? 'Remove admin' : 'Make admin',
    ),
  );

  return h(
    'tr',
    { 'data-user': user.name, class: user.disabled ? 'disabled' : null },
    h('th', { scope: 'row' }, user.name, isMe ? h('span', { class: 'tag' }, 'you') : null),
    h('td', {}, user.is_admin ? h('span', { class: 'badge accent' }, 'Admin') : 'User'),
    h(
      'td',
      {},
      user.disabled
        ? h('span', { class: 'badge error' }, 'Disabled')
        : h('span', { class: 'badge success' }, 'Active'),
    ),
    h('td', {}, timeElement(user.created_at)),
    h('td', {}, actions),
  );
}

export async function renderUsers(main, { me }) {
  const body = h('tbody');
  const summary = h('p', { class: 'dim' });

  async function refresh() {
    const { users } = await api.listUsers();
    const admins = users.filter((user) => user.is_admin).length;
    const disabled = users.filter((user) => user.disabled).length;
    summary.textContent =
      `${users.length} ${users.length === 1 ? 'user' : 'users'}, ${admins} ` +
      `${admins === 1 ? 'admin' : 'admins'}, ${disabled} disabled.`;
    // The rows are rebuilt, so focus moves to the same button of the new row.
    const active = document.activeElement;
    const row = active?.closest?.('tr[data-user]');
    const action = active?.dataset?.action;
    replaceChildren(body, users.map((user) => userRow(user, me, refresh)));
    if (row && action) {
      const selector = `tr[data-user="${CSS.escape(row.dataset.user)}"] [data-action="${action}"]`;
      body.querySelector(selector)?.focus();
    }
  }

  await refresh();
  replaceChildren(
    main,
    h(
      'div',
      { class: 'page-header' },
      h('h1', { tabindex: -1 }, 'Users'),
      h('button', { type: 'button', class: 'suggested', onclick: () => createUser(refresh) },
        'New user'),
    ),
    summary,
    h(
      'div',
      { class: 'table-card' },
      h(
        'table',
        { class: 'list' },
        h('caption', { class: 'visually-hidden' }, 'Users of this server'),
        h(
          'thead',
          {},
          h('tr', {},
            h('th', { scope: 'col' }, 'Name'),
            h('th', { scope: 'col' }, 'Role'),
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col' }, 'Created'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions'))),
        ),
        body,
      ),
    ),
  );
  return 'Users';
}
