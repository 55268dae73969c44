// Jobs: newest first, with status, progress and cost; refreshed while any
// job on the page is still moving.
import { h, replace, link, fmtMoney, fmtDate, statusBadge, errorBox, tableWrap, keepFocus } from '../dom.js';
import * as api from '../api.js';

const PAGE = 25;
const STATUSES = ['', 'queued', 'running', 'pausing', 'paused', 'completed', 'failed', 'cancelled'];

export function progressBar(pct, label) {
  const p = Math.max(0, Math.min(100, Number(pct) || 0));
  const fill = h('div', { class: 'bar-fill' });
  fill.style.width = `${p}%`;
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(p), 'aria-label': label || 'Progress' }, fill);
}

export function render(root, route) {
  let status = route.params.get('status') || '';
  const offset = Math.max(0, parseInt(route.params.get('offset') || '0', 10) || 0);
  let alive = true;
  let timer = null;

  const sel = h('select', { id: 'jobs-status' }, STATUSES.map((s) => h('option', { value: s, selected: s === status }, s || 'All statuses')));
  // The list follows the select in place: re-routing on each change moved
  // focus away, so arrow keys jumped a status and left the select.
  sel.addEventListener('change', () => {
    status = sel.value;
    history.replaceState(null, '', '#/jobs' + api.query({ status }));
    clearTimeout(timer);
    if (offset) location.hash = '#/jobs' + api.query({ status });
    else load();
  });
  const tbody = h('tbody');
  const info = h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading…');
  const errBox = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });

  // Project names by id, read once: a job row names its project.
  const projects = new Map();
  let projectsRead = false;

  async function load() {
    try {
      if (!projectsRead) {
        api.listOf(await api.get('/projects' + api.query({ limit: 500 })), 'projects').forEach((p) => projects.set(p.id, p.name));
        projectsRead = true;
      }
      const data = await api.get('/jobs' + api.query({ status, limit: PAGE, offset }));
      if (!alive) return;
      const jobs = api.listOf(data, 'jobs');
      const total = data && typeof data.total === 'number' ? data.total : jobs.length;
      info.textContent = total === 1 ? '1 job.' : `${total} jobs.`;
      replace(errBox);
      // Redrawn every 2 s while a job moves: a focused link keeps focus.
      keepFocus(tbody, () => replace(tbody, jobs.map((j) => h('tr', null,
        h('td', null, link(`#${j.id}`, ['jobs', j.id], { class: 'job-link' })),
        h('td', { class: 'project small hide-sm' }, j.project_id ? (projects.get(j.project_id) || `#${j.project_id}`) : 'several'),
        h('td', null, statusBadge(j.status), j.status_reason ? h('div', { class: 'muted small' }, j.status_reason.replace(/_/g, ' ')) : null),
        h('td', { class: 'progress-cell' }, progressBar(j.percentage, `Job ${j.id} progress`),
          h('div', { class: 'small muted' }, `${j.processed + j.failed + j.skipped} of ${j.total} · ${Math.round(j.percentage || 0)}%`)),
        j.price_known === false
          ? h('td', null, 'price unknown')
          : h('td', null, fmtMoney(j.actual_cost), h('div', { class: 'muted small' }, `est. ${fmtMoney(j.estimated_cost)}`)),
        h('td', { class: 'hide-sm' }, `${j.options?.provider || ''} · ${j.options?.model || ''}`),
        h('td', { class: 'hide-sm small' }, fmtDate(j.created_at))))));
      if (!jobs.length) tbody.append(h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No jobs yet. Start one from the Models page.')));
      keepFocus(pager, () => replace(pager,
        h('a', { class: 'btn btn-small', href: '#/jobs' + api.query({ status, offset: Math.max(0, offset - PAGE) || '' }), 'aria-disabled': offset <= 0 ? 'true' : null, hidden: offset <= 0 }, '← Newer'),
        h('a', { class: 'btn btn-small', href: '#/jobs' + api.query({ status, offset: offset + PAGE }), hidden: offset + jobs.length >= total }, 'Older →')));
      const moving = jobs.some((j) => ['queued', 'running', 'pausing'].includes(j.status));
      clearTimeout(timer);
      if (moving && alive) timer = setTimeout(load, 2000);
    } catch (err) {
      if (alive) replace(errBox, errorBox(err));
    }
  }

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Jobs'),
      h('div', { class: 'field inline' }, h('label', { for: 'jobs-status' }, 'Status'), sel)),
    errBox, info,
    tableWrap(h('table', { class: 'jobs', id: 'jobs-table' },
      h('thead', null, h('tr', null, h('th', null, 'Job'), h('th', { class: 'hide-sm' }, 'Project'), h('th', null, 'Status'), h('th', null, 'Progress'), h('th', null, 'Cost'), h('th', { class: 'hide-sm' }, 'Model'), h('th', { class: 'hide-sm' }, 'Created'))),
      tbody)),
    pager);
  load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
