import { h, errorBox } from '../dom.js';
import * as api from '../api.js';
import { session } from '../session.js';

export function render(root, _route, notice) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const msg = h('div', { 'aria-live': 'polite' }, notice ? h('div', { class: 'alert alert-warn', role: 'status' }, notice) : null);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'signin-submit' }, 'Sign in');
  const form = h('form', { class: 'signin card', id: 'signin-form' },
    h('h1', null, 'Sign in to modeldoc'),
    h('p', { class: 'muted' }, 'Paste an API token. Make one with ', h('code', null, 'modeldoc tokens create --org NAME --role admin'),
      '. It is kept in this tab only and forgotten when the tab closes.'),
    h('label', { for: 'token' }, 'API token'),
    input,
    msg,
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    msg.replaceChildren();
    api.setToken(token);
    try {
      session.me = await api.get('/me', { noRedirect: true });
      location.hash = '#/models';
    } catch (err) {
      api.setToken('');
      msg.replaceChildren(errorBox(err.status === 401 ? new Error('That token was not accepted. Check it, or create a new one with modeldoc tokens create.') : err));
      submit.disabled = false;
      input.focus();
    }
  });
  root.append(h('div', { class: 'signin-wrap' }, form));
  input.focus();
}
