// Modal dialogs on the native <dialog> element: showModal() keeps focus inside, Escape
// cancels, and focus goes back to the control that opened the dialog.
import { ApiError } from './api.js';
import { formError, h, showFormError, whileBusy } from './dom.js';

let dialogCounter = 0;

// Opens a dialog holding a form and resolves with what `onSubmit(form)` returned (true
// when it returned nothing), or null when cancelled. An error thrown by onSubmit is
// shown in the dialog, which stays open so the admin can correct the input.
export function showDialog({
  title,
  body = [],
  submitLabel = 'OK',
  cancelLabel = 'Cancel',
  destructive = false,
  onSubmit = null,
}) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = `dialog-title-${++dialogCounter}`;
    const errorBox = formError();
    const submitButton = h(
      'button',
      { type: 'submit', class: destructive ? 'destructive' : 'suggested' },
      submitLabel,
    );
    const actions = [submitButton];
    if (cancelLabel) {
      actions.unshift(h('button', { type: 'button', onclick: () => dialog.close() }, cancelLabel));
    }
    const form = h(
      'form',
      { class: 'dialog-form' },
      h('h2', { id: titleId }, title),
      body,
      errorBox,
      h('div', { class: 'dialog-actions' }, actions),
    );
    const dialog = h('dialog', { 'aria-labelledby': titleId }, form);
    let result = null;

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      showFormError(errorBox, null);
      try {
        const value = onSubmit ? await whileBusy(form, () => onSubmit(form)) : true;
        result = value ?? true;
        dialog.close();
      } catch (error) {
        if (!(error instanceof ApiError) && !(error instanceof InputError)) {
          console.error(error);
        }
        showFormError(errorBox, error);
      }
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) {
        opener.focus();
      }
      resolve(result);
    });

    document.body.append(dialog);
    dialog.showModal();
    const first = form.querySelector('[autofocus], input, textarea, select');
    (first ?? submitButton).focus();
  });
}

// An input the portal rejects before sending it, shown like a server error.
export class InputError extends Error {}

export function closeAllDialogs() {
  for (const dialog of document.querySelectorAll('dialog[open]')) {
    dialog.close();
  }
}

// Asks a yes/no question. `message` may be a string or nodes.
export async function confirm({ title, message, confirmLabel, destructive = false }) {
  const body = typeof message === 'string' ? h('p', {}, message) : message;
  return (await showDialog({ title, body, submitLabel: confirmLabel, destructive })) === true;
}
