// Provider keys: admins set, replace and remove the organization's keys.
// The server only ever answers masked keys; the input is cleared as soon
// as it is sent.
import { h, replace, fmtDate, errorBox, tableWrap } from '../dom.js';
import * as api from '../api.js';
import { isAdmin } from '../session.js';

const PROVIDERS = ['openai', 'anthropic'];

export function render(root) {
  let alive = true;
  const list = h('div', { id: 'keys-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const msg = h('div', { 'aria-live': 'polite' });
  const provider = h('select', { id: 'key-provider' }, PROVIDERS.map((p) => h('option', { value: p }, p)));
  const key = h('input', { id: 'key-value', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'sk-…' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', id: 'key-save' }, 'Save key');
  let known = [];

  const relabel = () => {
    save.textContent = known.some((k) => k.provider === provider.value) ? `Replace ${provider.value} key` : `Save ${provider.value} key`;
  };
  provider.addEventListener('change', relabel);

  async function load() {
    try {
      const data = await api.get('/provider-keys');
      if (!alive) return;
      known = api.listOf(data, 'keys', 'provider_keys');
      relabel();
      replace(list, known.length ? tableWrap(h('table', { id: 'keys-table' },
        h('thead', null, h('tr', null, h('th', null, 'Provider'), h('th', null, 'Key'), h('th', { class: 'hide-sm' }, 'Updated'), h('th', null, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', null, known.map((k) => h('tr', null,
          h('td', null, k.provider),
          h('td', null, h('code', { class: 'masked' }, k.masked || '••••')),
          h('td', { class: 'hide-sm small' }, fmtDate(k.updated_at || k.created_at)),
          h('td', null, !isAdmin() ? null : [
            h('button', { type: 'button', class: 'btn btn-small', onclick: () => { provider.value = k.provider; relabel(); key.focus(); } }, 'Replace'),
            ' ',
            h('button', { type: 'button', class: 'btn btn-small btn-danger', id: `key-remove-${k.provider}`, onclick: () => remove(k.provider) }, 'Remove')])))))) :
        h('p', { class: 'muted', id: 'keys-empty' }, 'No keys stored. Jobs for a provider fail at once until its key is set here.'));
    } catch (err) {
      if (!alive) return;
      replace(list, err.status === 403 ? h('div', { class: 'alert alert-warn' }, 'Only admins can manage provider keys. Ask an admin of your organization.') : errorBox(err));
    }
  }

  async function remove(p) {
    if (!window.confirm(`Remove the ${p} key? Jobs using ${p} will fail until a new key is set.`)) return;
    replace(msg);
    try {
      await api.del(`/provider-keys/${encodeURIComponent(p)}`);
      replace(msg, h('div', { class: 'alert alert-ok', role: 'status' }, `The ${p} key was removed.`));
    } catch (err) {
      replace(msg, errorBox(err));
    }
    load();
  }

  const form = h('form', { class: 'card key-form', id: 'key-form' },
    h('h2', null, 'Set a key'),
    h('div', { class: 'row2' },
      h('div', { class: 'field' }, h('label', { for: 'key-provider' }, 'Provider'), provider),
      h('div', { class: 'field' }, h('label', { for: 'key-value' }, 'API key'), key)),
    h('p', { class: 'muted small' }, 'Keys are encrypted at rest and never shown again; only a masked form is listed.'),
    save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = key.value.trim();
    if (!value) return;
    save.disabled = true;
    replace(msg);
    try {
      await api.put(`/provider-keys/${encodeURIComponent(provider.value)}`, { key: value });
      key.value = '';
      replace(msg, h('div', { class: 'alert alert-ok', role: 'status' }, `The ${provider.value} key was saved.`));
    } catch (err) {
      replace(msg, errorBox(err));
    } finally {
      save.disabled = false;
    }
    load();
  });

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Provider keys'), h('p', { class: 'muted' }, 'The keys your organization\u2019s jobs call providers with.')),
    msg, h('section', { class: 'card', 'aria-label': 'Stored keys' }, list),
    isAdmin() ? form : h('div', { class: 'alert alert-info' }, 'Only admins can set or remove keys. Ask an admin of your organization.'));
  load();
  return () => { alive = false; };
}
