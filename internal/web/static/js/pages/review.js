// Review queue: generated text of the current documentation, one item per
// layer and per generated column description, with its confidence and
// grounding findings beside it. Admins accept, reject or edit in place;
// j/k move, a accepts, r rejects, e edits. "Accept all" accepts the drafts
// the filters select, after a confirmation that says how many.
import { h, replace, badge, errorBox, fmtInt, link, markdownTree } from '../dom.js';
import * as api from '../api.js';
import { isAdmin } from '../session.js';

const LAYERS = ['executive_summary', 'business_narrative', 'transformation_cards', 'code_explanations',
  'business_rules', 'impact_analysis', 'column_descriptions'];
const STATES = ['draft', 'accepted', 'rejected', 'edited'];
const STATE_KIND = { draft: 'warn', accepted: 'ok', rejected: 'bad', edited: 'info' };
// Layers a person edits as plain text; the others as their JSON.
const PLAIN = (it) => it.layer === 'executive_summary' || it.column;

function select(id, label, options, value) {
  return h('label', { class: 'field' }, label,
    h('select', { id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
}

export function render(root, route) {
  let alive = true;
  const admin = isAdmin();
  const params = route.params;
  const filter = {
    project_id: params.get('project_id') || '',
    layer: params.get('layer') || '',
    state: params.has('state') ? params.get('state') : 'draft',
    findings: params.get('findings') === 'true',
  };
  let items = [];
  let current = 0;
  const list = h('div', { id: 'review-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const message = h('div', { id: 'review-message', 'aria-live': 'polite' });
  const bulk = h('div', { id: 'review-bulk' });
  const projectSel = select('review-project', 'Project', [['', 'All projects']], filter.project_id);
  const controls = h('form', { class: 'filters', id: 'review-filters', onsubmit: (e) => e.preventDefault() },
    projectSel,
    select('review-layer', 'Layer', [['', 'All layers'], ...LAYERS.map((l) => [l, l])], filter.layer),
    select('review-state', 'State', [['', 'Any state'], ...STATES.map((s) => [s, s])], filter.state),
    h('label', { class: 'field check' }, h('input', { type: 'checkbox', id: 'review-findings', checked: filter.findings }), ' With findings only'));

  controls.addEventListener('change', () => {
    filter.project_id = root.querySelector('#review-project').value;
    filter.layer = root.querySelector('#review-layer').value;
    filter.state = root.querySelector('#review-state').value;
    filter.findings = root.querySelector('#review-findings').checked;
    load();
  });

  replace(root,
    h('h1', null, 'Review'),
    h('p', { class: 'muted small' }, 'Generated text is a draft until a person accepts, rejects or edits it. Only reviewed text is exported to dbt. Keys: j / k next and previous, a accept, r reject, e edit.'),
    controls, bulk, message, list);

  api.get('/projects' + api.query({ limit: 500 })).then((data) => {
    if (!alive) return;
    const sel = root.querySelector('#review-project');
    for (const p of api.listOf(data, 'projects')) {
      sel.appendChild(h('option', { value: String(p.id), selected: String(p.id) === filter.project_id }, p.name));
    }
  }, () => {});

  function query() {
    return api.query({ project_id: filter.project_id || undefined, layer: filter.layer || undefined,
      state: filter.state || undefined, findings: filter.findings ? 'true' : undefined, limit: 500 });
  }

  // Filters change faster than answers come: only the latest answer is drawn.
  let generation = 0;
  async function load() {
    const mine = ++generation;
    try {
      const data = await api.get('/review' + query());
      if (!alive || mine !== generation) return;
      items = api.listOf(data, 'items');
      current = Math.min(current, Math.max(0, items.length - 1));
      draw(data.total);
    } catch (err) {
      if (alive && mine === generation) replace(list, errorBox(err));
    }
  }

  function draw(total) {
    drawBulk();
    if (!items.length) {
      replace(list, h('p', { class: 'muted', id: 'review-empty' }, 'Nothing to review matches these filters.'));
      return;
    }
    replace(list,
      h('p', { class: 'muted small', id: 'review-count' }, `${fmtInt(total)} item${total === 1 ? '' : 's'}`,
        total > items.length ? ` (first ${fmtInt(items.length)} shown)` : ''),
      h('ol', { class: 'review-items' }, items.map((it, i) => itemView(it, i))));
    focusItem(current, false);
  }

  function drawBulk() {
    replace(bulk);
    if (!admin) return;
    const drafts = items.filter((it) => it.state === 'draft').length;
    if (filter.state !== 'draft' || drafts === 0) return;
    const btn = h('button', { type: 'button', class: 'btn', id: 'review-accept-all' }, `Accept all ${fmtInt(drafts)} drafts shown`);
    btn.addEventListener('click', () => {
      replace(bulk, h('div', { class: 'alert alert-warn', id: 'review-confirm' },
        `Accept ${fmtInt(drafts)} draft${drafts === 1 ? '' : 's'}${filter.layer ? ` of ${filter.layer}` : ''}? They will be exported as reviewed text. `,
        h('button', { type: 'button', class: 'btn', id: 'review-confirm-yes', onclick: acceptAll }, `Accept ${fmtInt(drafts)}`), ' ',
        h('button', { type: 'button', class: 'btn btn-quiet', id: 'review-confirm-no', onclick: drawBulk }, 'Cancel')));
      root.querySelector('#review-confirm-yes').focus();
    });
    bulk.appendChild(btn);
  }

  async function acceptAll() {
    const body = { project_id: filter.project_id ? Number(filter.project_id) : undefined, layer: filter.layer || undefined,
      findings: filter.findings || undefined };
    try {
      const ans = await api.post('/review/accept', body);
      replace(message, h('div', { class: 'alert alert-ok', id: 'review-done' }, `Accepted ${fmtInt(ans.result.changed)} item(s).`));
    } catch (err) {
      replace(message, errorBox(err));
    }
    load();
  }

  function itemView(it, i) {
    const title = it.column ? `${it.layer} · ${it.column}` : it.layer;
    const findings = Array.isArray(it.findings) ? it.findings : [];
    const li = h('li', { class: 'card review-item', tabindex: '-1', dataset: { index: String(i), state: it.state, layer: it.layer, column: it.column || '' } },
      h('div', { class: 'review-head' },
        link(it.name, ['models', it.object_id], { class: 'review-model' }), ' ',
        h('span', { class: 'muted small' }, it.project), ' ',
        h('strong', null, title), ' ',
        h('span', { class: 'review-state' }, badge(it.state, STATE_KIND[it.state] || 'plain')),
        it.confidence ? h('span', { class: 'muted small review-confidence' }, ` confidence ${it.confidence}`) : null,
        it.stale ? h('span', null, ' ', badge('stale', 'warn')) : null,
        it.reviewed_by ? h('span', { class: 'muted small' }, ` · ${it.reviewed_by}`) : null),
      // A draft written in Markdown reads as it will be published: built
      // from the API's tree (text_doc), never parsed as HTML.
      it.text_doc ? h('div', { class: 'review-text md' }, markdownTree(it.text_doc))
        : h('p', { class: 'review-text' }, it.text || h('span', { class: 'muted' }, '(structured layer: edit to see its JSON)')),
      findings.length ? h('ul', { class: 'review-findings alert alert-warn' },
        findings.map((f) => h('li', null, h('code', null, f.path), ' ', f.message))) : null,
      admin ? h('div', { class: 'review-actions' },
        h('button', { type: 'button', class: 'btn btn-small review-accept', disabled: it.state === 'accepted' || it.state === 'edited', onclick: () => act(i, 'accept') }, 'Accept'), ' ',
        h('button', { type: 'button', class: 'btn btn-small btn-quiet review-reject', disabled: it.state === 'rejected' || it.state === 'edited', onclick: () => act(i, 'reject') }, 'Reject'), ' ',
        h('button', { type: 'button', class: 'btn btn-small btn-quiet review-edit', onclick: () => edit(i) }, 'Edit')) : null);
    return li;
  }

  function focusItem(i, scroll = true) {
    const el = list.querySelector(`.review-item[data-index="${i}"]`);
    if (!el) return;
    list.querySelectorAll('.review-item.current').forEach((x) => x.classList.remove('current'));
    el.classList.add('current');
    current = i;
    if (scroll) el.focus();
  }

  async function act(i, action, text) {
    const it = items[i];
    if (!it) return;
    try {
      const ans = await api.post(`/objects/${it.object_id}/review`, { action, layer: it.layer, column: it.column || undefined, text });
      if (!alive) return;
      const same = (x) => x.layer === it.layer && (x.column || '') === (it.column || '');
      const now = (ans.items || []).find(same);
      if (now) {
        items[i] = { ...it, ...now, name: it.name, project: it.project };
        // The tree was of the old text: an edited text shows as written.
        if (now.text !== it.text) delete items[i].text_doc;
      }
      replace(message, h('span', { class: 'muted small', id: 'review-acted' }, `${it.name} ${it.column || it.layer}: ${items[i].state}`));
      const li = list.querySelector(`.review-item[data-index="${i}"]`);
      if (li) li.replaceWith(itemView(items[i], i));
      drawBulk();
      focusItem(Math.min(i + 1, items.length - 1));
    } catch (err) {
      replace(message, errorBox(err));
    }
  }

  function edit(i) {
    const it = items[i];
    const li = list.querySelector(`.review-item[data-index="${i}"]`);
    if (!it || !li) return;
    const start = PLAIN(it) ? it.text : JSON.stringify(it.content || {}, null, 2);
    const area = h('textarea', { class: 'review-editor', rows: PLAIN(it) ? 3 : 12, 'aria-label': `New text of ${it.name} ${it.column || it.layer}` });
    area.value = start;
    const form = h('form', { class: 'review-edit-form' },
      area,
      h('div', null,
        h('button', { type: 'submit', class: 'btn btn-small review-save' }, 'Save'), ' ',
        h('button', { type: 'button', class: 'btn btn-small btn-quiet review-cancel', onclick: () => li.replaceWith(itemView(it, i)) }, 'Cancel')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      act(i, 'edit', area.value);
    });
    const text = li.querySelector('.review-text');
    text.replaceWith(form);
    area.focus();
  }

  function onKey(e) {
    // Letters typed into a text field are text, not commands.
    const t = e.target;
    if (t && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && t.type !== 'checkbox'))) return;
    if (e.ctrlKey || e.metaKey || e.altKey || !items.length) return;
    switch (e.key) {
      case 'j': focusItem(Math.min(current + 1, items.length - 1)); break;
      case 'k': focusItem(Math.max(current - 1, 0)); break;
      case 'a': if (admin) act(current, 'accept'); break;
      case 'r': if (admin) act(current, 'reject'); break;
      case 'e': if (admin) { e.preventDefault(); edit(current); } break;
      default: return;
    }
  }
  document.addEventListener('keydown', onKey);

  load();
  return () => {
    alive = false;
    document.removeEventListener('keydown', onKey);
  };
}
