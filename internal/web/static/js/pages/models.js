// Models: search and filter the catalog, select models (on this page, or
// every one that matches), and start a job from the panel beside the list.
import { h, replace, link, fmtDate, fmtDay, badge, errorBox, debounce, tableWrap, breakable } from '../dom.js';
import * as api from '../api.js';
import { jobPanel } from './newjob.js';

const PAGE = 50;

// The selection outlives the page so that a person can filter, pick,
// filter again and pick more. id → name.
export const selection = new Map();

function filtersFrom(params) {
  return {
    q: params.get('q') || '',
    project_id: params.get('project_id') || '',
    schema: params.get('schema') || '',
    type: params.get('type') || '',
    documented: params.get('documented') || '',
    stale: params.get('stale') || '',
    offset: Math.max(0, parseInt(params.get('offset') || '0', 10) || 0),
  };
}

function apiParams(f) {
  return { q: f.q, project_id: f.project_id, schema: f.schema, type: f.type, documented: f.documented, stale: f.stale };
}

function docState(o) {
  if (!o.documented) return badge('not documented', 'muted');
  if (o.stale) return badge(`stale · v${o.current_version || '?'}`, 'warn');
  return badge(`documented · v${o.current_version || '?'}`, 'ok');
}

function complexity(score) {
  const n = Number(score) || 0;
  if (!n) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'complexity', title: `Complexity ${n} of 5`, 'aria-label': `Complexity ${n} of 5` }, '●'.repeat(n) + '○'.repeat(Math.max(0, 5 - n)));
}

export function render(root, route) {
  let f = filtersFrom(route.params);
  let alive = true;
  let ctrl = null;
  let rows = [];
  let total = 0;

  // A filter or a page changes the list in place: the address follows
  // without a hashchange, so the page is not drawn again and focus stays
  // in the field being typed in (re-routing moved it to the heading and
  // lost the next keystrokes). A new page is a history entry; a filter
  // being typed is not.
  const setHash = (nf, push) => {
    const q = api.query({ ...apiParams(nf), offset: nf.offset || '' });
    const target = `#/models${q}`;
    f = nf;
    if (location.hash !== target) history[push ? 'pushState' : 'replaceState'](null, '', target);
    more.textContent = activeCount() ? `Filters (${activeCount()})` : 'Filters';
    load();
  };

  // Filters
  const search = h('input', { id: 'f-q', type: 'search', value: f.q, placeholder: 'orders, stg_*', autocomplete: 'off' });
  const project = h('select', { id: 'f-project' }, h('option', { value: '' }, 'All projects'));
  const schema = h('input', { id: 'f-schema', type: 'text', value: f.schema, placeholder: 'any', autocomplete: 'off' });
  const type = h('select', { id: 'f-type' }, ['', 'model', 'seed', 'snapshot', 'source'].map((t) => h('option', { value: t, selected: t === f.type }, t || 'All types')));
  const tri = (id, yes, no) => h('select', { id }, h('option', { value: '' }, 'Any'), h('option', { value: 'true' }, yes), h('option', { value: 'false' }, no));
  const documented = tri('f-documented', 'Documented', 'Not documented');
  documented.value = f.documented;
  const stale = tri('f-stale', 'Stale', 'Up to date');
  stale.value = f.stale;

  const readFilters = () => ({ q: search.value.trim(), project_id: project.value, schema: schema.value.trim(), type: type.value, documented: documented.value, stale: stale.value, offset: 0 });
  const onChange = () => setHash(readFilters());
  const onType = debounce(onChange, 300);
  search.addEventListener('input', onType);
  schema.addEventListener('input', onType);
  [project, type, documented, stale].forEach((el) => el.addEventListener('change', onChange));

  const field = (label, el) => h('div', { class: 'field' }, h('label', { for: el.id }, label), el);
  const activeCount = () => [f.project_id, f.schema, f.type, f.documented, f.stale].filter(Boolean).length;
  const filters = h('form', { class: 'filters collapsed', id: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); onChange(); } },
    field('Search by name', search), field('Project', project), field('Schema', schema), field('Type', type),
    field('Documentation', documented), field('Freshness', stale));
  // On a phone the filters beyond the search fold away behind a button.
  const more = h('button', { type: 'button', class: 'btn btn-small show-sm', id: 'filters-toggle', 'aria-controls': 'filters', 'aria-expanded': 'false' },
    activeCount() ? `Filters (${activeCount()})` : 'Filters');
  more.addEventListener('click', () => {
    const open = filters.classList.toggle('collapsed') === false;
    more.setAttribute('aria-expanded', String(open));
  });

  const status = h('p', { class: 'muted', id: 'models-status', 'aria-live': 'polite' }, 'Loading…');
  const selInfo = h('div', { class: 'selbar', id: 'selbar', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const headBox = h('input', { type: 'checkbox', id: 'select-page', 'aria-label': 'Select every model on this page' });
  const table = h('table', { class: 'models', id: 'models-table' },
    h('thead', null, h('tr', null,
      h('th', { class: 'sel' }, headBox),
      h('th', null, 'Model'),
      h('th', { class: 'hide-sm' }, 'Project'),
      h('th', { class: 'hide-sm' }, 'Schema · type'),
      h('th', null, 'Documentation'),
      h('th', { class: 'hide-sm' }, 'Complexity'),
      h('th', { class: 'hide-sm' }, 'Last update'))),
    tbody);
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  const errBox = h('div');

  const panel = jobPanel({ selection, onChange: null });
  // The bar's controls are made once and shown or hidden: drawn again,
  // the button just pressed would be gone and focus with it.
  const selCount = h('span', { id: 'sel-count' });
  const allBtn = h('button', { type: 'button', class: 'btn btn-small', id: 'select-all-matching', hidden: true, onclick: selectAllMatching });
  const clearBtn = h('button', { type: 'button', class: 'btn btn-small btn-quiet', id: 'clear-selection', hidden: true, onclick: () => {
    selection.clear();
    syncBoxes();
    (allBtn.hidden ? headBox : allBtn).focus();
  } }, 'Clear selection');
  const toJob = h('button', { type: 'button', class: 'btn btn-small btn-primary show-md', id: 'to-job', hidden: true, onclick: () => panel.focus() }, 'Review job ↓');
  selInfo.append(selCount, allBtn, clearBtn, toJob);
  const refreshSel = () => {
    const n = selection.size;
    selCount.textContent = n === 1 ? '1 model selected' : `${n} models selected`;
    if (allBtn.getAttribute('aria-disabled') !== 'true') allBtn.textContent = `Select all ${total} that match`;
    allBtn.hidden = total <= 0;
    clearBtn.hidden = !n;
    toJob.hidden = !n;
    panel.update();
  };

  const syncBoxes = () => {
    tbody.querySelectorAll('input[type=checkbox]').forEach((b) => { b.checked = selection.has(Number(b.dataset.id)); });
    const onPage = rows.filter((o) => selection.has(o.id)).length;
    headBox.checked = rows.length > 0 && onPage === rows.length;
    headBox.indeterminate = onPage > 0 && onPage < rows.length;
    refreshSel();
  };

  headBox.addEventListener('change', () => {
    rows.forEach((o) => (headBox.checked ? selection.set(o.id, o.name) : selection.delete(o.id)));
    syncBoxes();
  });

  async function selectAllMatching() {
    const btn = allBtn;
    // aria-disabled, not disabled: a disabled button loses focus.
    if (btn.getAttribute('aria-disabled') === 'true') return;
    btn.setAttribute('aria-disabled', 'true');
    btn.textContent = 'Selecting…';
    try {
      // Page through every match: the filters (documented, stale, schema)
      // are not all expressible as a job selection, so the job gets ids.
      const lim = 500;
      for (let off = 0; ; off += lim) {
        const data = await api.get('/objects' + api.query({ ...apiParams(f), limit: lim, offset: off }));
        const list = api.listOf(data, 'objects');
        list.forEach((o) => selection.set(o.id, o.name));
        if (list.length < lim) break;
      }
    } catch (err) {
      replace(errBox, errorBox(err));
    }
    btn.removeAttribute('aria-disabled');
    if (alive) syncBoxes();
  }

  function renderRows() {
    replace(tbody, rows.map((o) => {
      const box = h('input', { type: 'checkbox', dataset: { id: o.id }, checked: selection.has(o.id), 'aria-label': `Select ${o.name}` });
      box.addEventListener('change', () => {
        if (box.checked) selection.set(o.id, o.name);
        else selection.delete(o.id);
        syncBoxes();
      });
      return h('tr', { class: selection.has(o.id) ? 'selected' : null },
        h('td', { class: 'sel' }, box),
        h('td', { class: 'name' }, link(breakable(o.name), ['models', o.id], { class: 'model-link' }), h('div', { class: 'muted small show-sm' }, [o.project, o.schema, o.type].filter(Boolean).join(' · '))),
        h('td', { class: 'project small hide-sm' }, o.project || ''),
        h('td', { class: 'hide-sm small' }, [o.schema, o.type].filter(Boolean).join(' · ')),
        h('td', null, docState(o)),
        h('td', { class: 'hide-sm' }, complexity(o.complexity_score)),
        h('td', { class: 'hide-sm small nowrap', title: fmtDate(o.last_documented_at || o.updated_at) }, fmtDay(o.last_documented_at || o.updated_at)));
    }));
    if (!rows.length) {
      // With no filter and nothing at all, the organization has no project
      // yet: point at the page that imports one.
      const none = total === 0 && !f.offset && !Object.values(apiParams(f)).some(Boolean);
      tbody.append(h('tr', null, h('td', { colspan: 7, class: 'empty', id: 'models-empty' }, none ?
        ['No models yet \u2014 ', link('upload a project', ['projects'], { id: 'models-empty-upload' })] :
        'No models match these filters.')));
    }
  }

  const prev = h('button', { type: 'button', class: 'btn btn-small', id: 'page-prev', onclick: () => setHash({ ...f, offset: Math.max(0, f.offset - PAGE) }, true) }, '← Previous');
  const next = h('button', { type: 'button', class: 'btn btn-small', id: 'page-next', onclick: () => setHash({ ...f, offset: f.offset + PAGE }, true) }, 'Next →');
  const range = h('span', { class: 'muted' });
  pager.append(prev, range, next);
  function renderPager() {
    const from = total ? f.offset + 1 : 0;
    const to = Math.min(total, f.offset + rows.length);
    range.textContent = `${from}–${to} of ${total}`;
    const lost = (prev === document.activeElement && f.offset <= 0) || (next === document.activeElement && f.offset + rows.length >= total);
    prev.disabled = f.offset <= 0;
    next.disabled = f.offset + rows.length >= total;
    // The last page's Next (or the first's Previous) is disabled under
    // the pointer: focus goes to the other one rather than to the page.
    if (lost) (prev.disabled ? next : prev).focus();
  }

  async function load() {
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    status.textContent = 'Loading…';
    replace(errBox);
    try {
      const data = await api.get('/objects' + api.query({ ...apiParams(f), limit: PAGE, offset: f.offset }), { signal: ctrl.signal });
      rows = api.listOf(data, 'objects');
      total = data && typeof data.total === 'number' ? data.total : rows.length;
      if (!alive) return;
      // The list holds sources, seeds and snapshots too: "models" here
      // disagreed with the import's and the estimate's counts.
      status.textContent = total === 1 ? '1 object matches.' : `${total} objects match.`;
      renderRows();
      renderPager();
      syncBoxes();
    } catch (err) {
      if (err.name === 'AbortError') return;
      status.textContent = '';
      replace(errBox, errorBox(err));
    }
  }

  api.get('/projects').then((data) => {
    const list = api.listOf(data, 'projects');
    list.forEach((p) => project.append(h('option', { value: String(p.id), selected: String(p.id) === f.project_id }, p.name)));
    project.value = f.project_id;
  }).catch(() => {});

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Models'), h('p', { class: 'muted' }, 'Pick the models to document, then check the estimate before you start.')),
    h('div', { class: 'split' },
      h('section', { class: 'main-col', 'aria-label': 'Models' }, filters, h('div', { class: 'status-row' }, status, more), errBox, selInfo, tableWrap(table), pager),
      panel.el));
  refreshSel();
  load();
  return () => {
    alive = false;
    if (ctrl) ctrl.abort();
    panel.destroy();
  };
}
