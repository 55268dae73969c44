// One job, live: the page follows GET /jobs/{id}/events (SSE over fetch)
// and redraws from each progress event's job JSON. Items and the error log
// are re-read at most once a second while events arrive.
import { h, replace, link, fmtMoney, fmtTokens, fmtInt, fmtDate, fmtDuration, statusBadge, errorBox, tableWrap, breakable, keepFocus } from '../dom.js';
import * as api from '../api.js';
import { progressBar } from './jobs.js';
import { layerTitle } from '../layers.js';

const TERMINAL = ['completed', 'failed', 'cancelled'];

// Which actions the server accepts from each status (jobs package state
// table); anything else would answer 409.
export const ACTIONS = {
  queued: ['pause', 'cancel'],
  running: ['pause', 'cancel'],
  pausing: ['resume', 'cancel'],
  paused: ['resume', 'cancel'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function render(root, route) {
  const id = route.parts[1];
  let alive = true;
  let job = null;
  let streamCtrl = null;
  let detailTimer = null;
  let lastDetail = 0;
  let busy = false;

  const title = h('h1', null, `Job #${id}`);
  const statusEl = h('span', { id: 'job-status' });
  const live = h('span', { class: 'live muted small', id: 'job-live' });
  const statusLine = h('div', { class: 'status-line', tabindex: '-1' }, statusEl, ' ', live);
  const message = h('div', { id: 'job-message' });
  const bar = h('div', { id: 'job-bar' });
  const pctEl = h('strong', { id: 'job-pct' });
  const counts = h('dl', { class: 'stats', id: 'job-counts' });
  const money = h('dl', { class: 'stats', id: 'job-money' });
  const running = h('ul', { class: 'running', id: 'job-running' });
  const layers = h('div', { id: 'job-layers' });
  const items = h('div', { id: 'job-items' });
  const errors = h('div', { id: 'job-errors' });
  const actionErr = h('div', { 'aria-live': 'assertive' });
  const topErr = h('div');

  const btn = (action, text, cls) => h('button', { type: 'button', class: `btn ${cls}`, id: `job-${action}`, disabled: true, onclick: () => act(action) }, text);
  const buttons = { pause: btn('pause', 'Pause', ''), resume: btn('resume', 'Resume', 'btn-primary'), cancel: btn('cancel', 'Cancel job', 'btn-danger') };

  async function act(action) {
    if (busy) return;
    if (action === 'cancel' && !confirmCancel()) return;
    busy = true;
    // Disabling the pressed button drops focus to <body>; the control the
    // person is likely to want next takes it once the action is done.
    const hadFocus = Object.values(buttons).includes(document.activeElement);
    Object.values(buttons).forEach((b) => { b.disabled = true; });
    replace(actionErr);
    try {
      const path = `/jobs/${encodeURIComponent(id)}`;
      const res = action === 'cancel' ? await api.del(path) : await api.post(`${path}/${action}`);
      if (res && (res.job || res.id)) update(res.job || res);
      else await refresh();
      // A paused job's stream has ended; resuming needs a new one.
      if (action === 'resume') follow();
    } catch (err) {
      replace(actionErr, errorBox(err));
      await refresh().catch(() => {});
    } finally {
      busy = false;
      if (job) renderButtons();
      if (hadFocus && alive) focusAfter(action);
    }
  }

  // focusAfter puts focus on the action that undoes the one just taken
  // (Pause → Resume, Resume → Pause), else on any action left, else on
  // the job's status, which says what happened.
  function focusAfter(action) {
    const order = { pause: ['resume', 'cancel'], resume: ['pause', 'cancel'], cancel: [] }[action] || [];
    for (const a of [...order, 'pause', 'resume', 'cancel']) {
      const b = buttons[a];
      if (!b.disabled && !b.hidden) {
        b.focus();
        return;
      }
    }
    statusLine.focus();
  }

  // Cancelling loses the objects not yet written, so it asks once. The
  // tests drive the button through the same dialog (auto-accepted).
  function confirmCancel() {
    return window.confirm(`Cancel job #${id}? Models already documented are kept; the rest are not written.`);
  }

  function renderButtons() {
    const ok = ACTIONS[job.status] || [];
    for (const [a, b] of Object.entries(buttons)) {
      b.disabled = busy || !ok.includes(a);
      // A finished job takes no action: its buttons go, not just grey.
      b.hidden = TERMINAL.includes(job.status);
      b.title = ok.includes(a) ? '' : `Not possible while the job is ${job.status}`;
    }
  }

  function update(j) {
    job = j;
    const done = (j.processed || 0) + (j.failed || 0) + (j.skipped || 0);
    replace(statusEl, statusBadge(j.status), j.status_reason ? h('span', { class: 'muted small' }, ` ${j.status_reason.replace(/_/g, ' ')}`) : null);
    replace(message, j.message ? h('div', { class: `alert ${j.status === 'failed' ? 'alert-error' : 'alert-info'}` }, j.message) : null);
    replace(bar, progressBar(j.percentage, 'Job progress'));
    pctEl.textContent = `${Math.round(j.percentage || 0)}%`;
    replace(counts,
      stat('Models', `${fmtInt(done)} of ${fmtInt(j.total)}`, 'stat-done'),
      stat('Documented', fmtInt(j.processed), 'stat-processed'),
      stat('Partial', fmtInt(j.partial), 'stat-partial'),
      stat('Failed', fmtInt(j.failed), 'stat-failed'),
      stat('Skipped', fmtInt(j.skipped), 'stat-skipped'),
      j.cancelled || j.status === 'cancelled' ? stat('Cancelled', fmtInt(j.cancelled), 'stat-cancelled') : null,
      stat('In flight', fmtInt(j.in_flight), 'stat-inflight'),
      stat('ETA', TERMINAL.includes(j.status) || j.status === 'paused' ? '—' : fmtDuration(j.eta_seconds), 'stat-eta'));
    replace(money,
      stat('Cost so far', j.price_known === false ? 'price unknown' : fmtMoney(j.actual_cost), 'stat-cost'),
      stat('Estimate', j.price_known === false ? 'price unknown' : fmtMoney(j.estimated_cost), 'stat-estimate'),
      j.budget ? stat('Budget', fmtMoney(j.budget), 'stat-budget') : null,
      stat('Prompt tokens', `${fmtTokens(j.prompt_tokens)}${j.cached_tokens ? ` (${fmtTokens(j.cached_tokens)} cached)` : ''}`, 'stat-prompt'),
      stat('Completion tokens', fmtTokens(j.completion_tokens), 'stat-completion'),
      stat('Estimated tokens', fmtTokens((j.estimated_prompt_tokens || 0) + (j.estimated_completion_tokens || 0)), 'stat-est-tokens'),
      stat('Avg per model', j.avg_item_ms ? fmtDuration(j.avg_item_ms / 1000) : '—', 'stat-avg'));
    const runningNames = j.running || [];
    replace(running, runningNames.length ? runningNames.map((n) => h('li', null, h('span', { class: 'spinner', 'aria-hidden': 'true' }), breakable(n))) : h('li', { class: 'muted' }, TERMINAL.includes(j.status) ? 'Finished.' : 'Nothing writing right now.'));
    const lc = j.layers || {};
    const names = Object.keys(lc);
    replace(layers, names.length ? tableWrap(h('table', { class: 'compact' },
      h('thead', null, h('tr', null, h('th', null, 'Layer'), h('th', null, 'Written'), h('th', null, 'Failed'))),
      h('tbody', null, names.map((n) => h('tr', null, h('td', null, layerTitle(n)), h('td', null, fmtInt(lc[n].ok)), h('td', { class: lc[n].failed ? 'bad' : null }, fmtInt(lc[n].failed))))))) : h('p', { class: 'muted' }, 'No layer written yet.'));
    const o = j.options || {};
    replace(meta, `${o.provider || ''} · ${o.model || ''} · concurrency ${o.concurrency || '?'} · created ${fmtDate(j.created_at)}`);
    nameProject(j);
    renderButtons();
    const now = Date.now();
    if (now - lastDetail > 1000) {
      lastDetail = now;
      loadDetails();
    } else if (!detailTimer) {
      detailTimer = setTimeout(() => { detailTimer = null; lastDetail = Date.now(); loadDetails(); }, 1000);
    }
  }

  const meta = h('p', { class: 'muted small', id: 'job-meta' });
  const projectEl = h('p', { class: 'job-project', id: 'job-project' });
  let projectShown = null;

  // nameProject says which project the job documents (a job selected
  // across projects has none), and puts it in the tab's title.
  async function nameProject(j) {
    const pid = j.project_id || 0;
    if (projectShown === pid) return;
    projectShown = pid;
    let name = '';
    if (pid) {
      try {
        const p = api.listOf(await api.get('/projects' + api.query({ limit: 500 })), 'projects').find((x) => x.id === pid);
        name = p ? p.name : `#${pid}`;
      } catch {
        name = `#${pid}`;
      }
    }
    if (!alive) return;
    replace(projectEl, 'Project: ', pid
      ? h('a', { href: `#/models${api.query({ project_id: pid })}`, id: 'job-project-link' }, name)
      : h('span', null, 'several projects'));
    document.title = `Job #${id}${name ? ` · ${name}` : ''} · modeldoc`;
  }

  function stat(label, value, id) {
    return h('div', { class: 'stat' }, h('dt', null, label), h('dd', { id }, value));
  }

  async function loadDetails() {
    const base = `/jobs/${encodeURIComponent(id)}`;
    const [it, lg] = await Promise.allSettled([api.get(`${base}/items?limit=500`), api.get(`${base}/logs?limit=200`)]);
    if (!alive) return;
    if (it.status === 'fulfilled') {
      const list = api.listOf(it.value, 'items');
      // Redrawn every second while the job runs: focus on a row's link
      // must survive it.
      keepFocus(items, () => replace(items, list.length ? tableWrap(h('table', { class: 'compact', id: 'items-table' },
        h('thead', null, h('tr', null, h('th', null, 'Model'), h('th', null, 'State'), h('th', { class: 'hide-sm' }, 'Tokens'), h('th', null, 'Cost'), h('th', { class: 'hide-sm' }, 'Time'))),
        h('tbody', null, list.map((x) => h('tr', null,
          h('td', null, link(breakable(x.object_name || `#${x.object_id}`), ['models', x.object_id]),
            x.missing_layers?.length ? h('div', { class: 'muted small' }, 'missing: ', x.missing_layers.map(layerTitle).join(', ')) : null,
            x.skip_reason ? h('div', { class: 'muted small' }, x.skip_reason.replace(/_/g, ' ')) : null),
          h('td', null, statusBadge(x.status)),
          h('td', { class: 'hide-sm' }, fmtTokens((x.prompt_tokens || 0) + (x.completion_tokens || 0))),
          h('td', null, fmtMoney(x.cost)),
          h('td', { class: 'hide-sm' }, x.duration_ms ? fmtDuration(x.duration_ms / 1000) : '—')))))) : h('p', { class: 'muted' }, 'No items.')));
    }
    if (lg.status === 'fulfilled') {
      const v = lg.value || {};
      // The error log: entries with an error class, whichever list they
      // come in (an errors list, or call logs whose status is not ok).
      let list = api.listOf(v, 'errors', 'error_log');
      if (!list.length) list = api.listOf(v, 'logs').filter((x) => x.error || (x.status && x.status !== 'ok'));
      replace(errors, list.length ? h('ol', { class: 'errlog', id: 'error-log' }, list.map((e) => h('li', null,
        h('div', null, h('strong', null, e.object_name || (e.object_id ? `#${e.object_id}` : 'job')), e.layer ? ` · ${layerTitle(e.layer)}` : '',
          e.attempt ? ` · attempt ${e.attempt}` : '', ' ', h('span', { class: 'badge badge-bad' }, e.error_class || e.status || 'error')),
        h('div', { class: 'small' }, e.message || e.error || ''),
        h('div', { class: 'muted small' }, fmtDate(e.created_at))))) : h('p', { class: 'muted', id: 'error-log-empty' }, 'No errors.'));
    }
  }

  async function refresh() {
    const j = await api.get(`/jobs/${encodeURIComponent(id)}`);
    if (alive) update(j && j.job ? j.job : j);
  }

  // follow reads the event stream until the server ends it (the job ended
  // or paused). If the connection drops while the job still runs, it
  // reconnects after a pause, re-reading the job first.
  async function follow() {
    if (streamCtrl) streamCtrl.abort();
    const ctrl = new AbortController();
    streamCtrl = ctrl;
    let failures = 0;
    while (alive && !ctrl.signal.aborted) {
      live.textContent = 'live';
      live.classList.add('on');
      try {
        await api.stream(`/jobs/${encodeURIComponent(id)}/events`, (ev) => {
          let data;
          try {
            data = JSON.parse(ev.data);
          } catch {
            return;
          }
          const j = data && data.job ? data.job : data;
          if (j && typeof j === 'object' && 'status' in j) update(j);
          failures = 0;
        }, ctrl.signal);
      } catch (err) {
        if (ctrl.signal.aborted) return;
        failures++;
        if (err.status && err.status !== 503) {
          replace(topErr, errorBox(err));
          break;
        }
      }
      if (ctrl.signal.aborted) return;
      try {
        await refresh();
      } catch (err) {
        failures++;
      }
      if (!job || TERMINAL.includes(job.status) || job.status === 'paused') break;
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** failures)));
    }
    if (streamCtrl === ctrl) {
      // A paused job's stream ends by design; only a lost stream is news.
      live.textContent = job && (TERMINAL.includes(job.status) || job.status === 'paused') ? '' : 'not live';
      live.classList.remove('on');
    }
  }

  root.append(
    h('div', { class: 'page-head' },
      h('div', null, h('p', { class: 'crumbs' }, link('Jobs', ['jobs']), ' / ', `#${id}`), title, projectEl, statusLine, meta),
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Job actions' }, buttons.pause, buttons.resume, buttons.cancel)),
    topErr, actionErr, message,
    h('section', { class: 'card', 'aria-labelledby': 'progress-title' },
      h('div', { class: 'progress-head' }, h('h2', { id: 'progress-title' }, 'Progress'), pctEl), bar, counts),
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'money-title' }, h('h2', { id: 'money-title' }, 'Tokens and cost'), money),
      h('section', { class: 'card', 'aria-labelledby': 'running-title' }, h('h2', { id: 'running-title' }, 'Writing now'), running)),
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'layers-title' }, h('h2', { id: 'layers-title' }, 'Layers'), layers),
      h('section', { class: 'card', 'aria-labelledby': 'errors-title' }, h('h2', { id: 'errors-title' }, 'Error log'), errors)),
    h('section', { class: 'card', 'aria-labelledby': 'items-title' }, h('h2', { id: 'items-title' }, 'Models'), items));

  refresh().then(() => {
    if (alive && job && !TERMINAL.includes(job.status)) follow();
    else live.textContent = '';
  }).catch((err) => replace(topErr, errorBox(err)));

  return () => {
    alive = false;
    if (streamCtrl) streamCtrl.abort();
    clearTimeout(detailTimer);
  };
}
