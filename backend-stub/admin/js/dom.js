// Small DOM helpers. Every text from the server goes in through textContent or an
// attribute, never through innerHTML, so a game title cannot inject markup.

// Creates an element. `attributes` may hold `class`, `on<event>` listeners, boolean
// attributes (true adds, false or null leaves out) and any other attribute as a string.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  appendChildren(element, children);
  return element;
}

function appendChildren(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(element, ...children) {
  element.replaceChildren();
  appendChildren(element, children);
}

// Sizes in SI units as GNOME shows them (g_format_size): 1 kB = 1000 bytes.
export function formatSize(bytes) {
  if (bytes === null || bytes === undefined) {
    return '—';
  }
  if (bytes < 1000) {
    return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  }
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatTime(rfc3339) {
  if (!rfc3339) {
    return '—';
  }
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? rfc3339 : dateFormat.format(date);
}

export function timeElement(rfc3339) {
  return h('time', { datetime: rfc3339 ?? null }, formatTime(rfc3339));
}

// Lists names for a sentence: "alice", "alice and bob", "alice, bob and carol".
export function formatList(names) {
  return new Intl.ListFormat('en', { style: 'long', type: 'conjunction' }).format(names);
}

// Announces a message to screen readers and shows it as a toast for a few seconds. The
// live region stays in the page (an empty one is invisible), because a region that
// appears together with its text is not read by every screen reader.
let toastTimer = null;

export function announce(message, { error = false } = {}) {
  const status = document.getElementById('status');
  status.classList.toggle('error', error);
  status.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    status.textContent = '';
  }, error ? 10000 : 5000);
}

// Shows an error inside a form: the element gets role="alert" so it is read at once.
export function showFormError(container, error) {
  container.textContent = error ? error.message : '';
  container.hidden = !error;
}

export function formError() {
  return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

// Labelled form field. `input` is the control; `help` a sentence below it.
let fieldCounter = 0;

export function field(labelText, input, help = null) {
  fieldCounter++;
  input.id ||= `field-${fieldCounter}`;
  const children = [h('label', { for: input.id }, labelText), input];
  if (help) {
    const helpId = `${input.id}-help`;
    input.setAttribute('aria-describedby', helpId);
    children.push(h('p', { class: 'help', id: helpId }, help));
  }
  return h('div', { class: 'field' }, children);
}

// Disables the form's controls while `work` runs, so a double click sends one request.
export async function whileBusy(form, work) {
  const controls = [...form.querySelectorAll('button, input, textarea, select')];
  const wasDisabled = controls.map((control) => control.disabled);
  controls.forEach((control) => {
    control.disabled = true;
  });
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    controls.forEach((control, index) => {
      control.disabled = wasDisabled[index];
    });
    form.removeAttribute('aria-busy');
  }
}
