// DOM helpers. Text always goes in through text nodes, never through
// innerHTML, so names, SQL and descriptions from projects render as text
// whatever they contain.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'checked' || k === 'value' || k === 'disabled' || k === 'selected' || k === 'indeterminate') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// link builds an in-app link from route parts; parts are encoded so that
// no name can change where a link goes.
export function link(text, parts, attrs = {}) {
  const href = '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
  return h('a', { ...attrs, href }, text);
}

export function fmtMoney(v) {
  const n = Number(v) || 0;
  if (n === 0) return '$0.00';
  if (n < 0.01) return '$' + n.toFixed(4);
  return '$' + n.toFixed(2);
}

export function fmtInt(v) {
  return (Number(v) || 0).toLocaleString('en-US');
}

// fmtTokens writes every token count one way, in full with separators:
// "12k" beside "7,648" read as two units.
export function fmtTokens(v) {
  return fmtInt(Math.round(Number(v) || 0));
}

export function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return String(s);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function fmtDay(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return String(s);
  return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function fmtDuration(sec) {
  if (sec === undefined || sec === null || sec < 0) return '—';
  if (sec < 10 && sec > 0) return `${sec.toFixed(1)}s`;
  sec = Math.round(sec);
  if (sec < 60) return `${sec}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m ${sec % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || 'plain'}` }, text);
}

export function statusBadge(status) {
  const kinds = {
    queued: 'plain', running: 'info', pausing: 'warn', paused: 'warn',
    completed: 'ok', failed: 'bad', cancelled: 'muted',
    done: 'ok', partial: 'warn', skipped: 'muted', blocked: 'plain', ready: 'plain', enqueued: 'plain',
  };
  return badge(status || 'unknown', kinds[status] || 'plain');
}

export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  return h('div', { class: 'alert alert-error', role: 'alert' }, msg, err && err.code ? h('span', { class: 'code' }, ` (${err.code})`) : null);
}

export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// keepFocus redraws part of a page without losing the reader's place:
// when focus is inside container, draw() runs and focus goes back to the
// element that stands where it was (same id, data-key or link target).
export function keepFocus(container, draw) {
  const a = document.activeElement;
  if (!a || a === document.body || !container.contains(a)) {
    draw();
    return;
  }
  const sel = a.id ? `#${CSS.escape(a.id)}`
    : a.dataset && a.dataset.key ? `[data-key="${CSS.escape(a.dataset.key)}"]`
      : a.getAttribute('href') ? `${a.tagName.toLowerCase()}[href="${CSS.escape(a.getAttribute('href'))}"]` : '';
  draw();
  const again = sel ? container.querySelector(sel) : null;
  if (again) again.focus({ preventScroll: true });
}

// scrollable marks a block that may scroll sideways (SQL, diffs) as a
// labelled, focusable region, so a keyboard can reach and scroll it.
export function scrollable(el, label) {
  el.setAttribute('tabindex', '0');
  el.setAttribute('role', 'region');
  el.setAttribute('aria-label', label);
  return el;
}

export function tableWrap(table) {
  return h('div', { class: 'table-wrap' }, table);
}

// breakable lets long snake_case names wrap after an underscore or a dot
// (with <wbr>) instead of at any letter. The name stays text nodes.
export function breakable(name) {
  const out = [];
  for (const part of String(name).split(/(?<=[_.])/)) {
    if (out.length) out.push(document.createElement('wbr'));
    out.push(document.createTextNode(part));
  }
  return out;
}

// markdownTree builds the API's Markdown trees (description_doc,
// column_docs) from a fixed list of elements and text nodes: nothing is
// parsed as HTML, and a link keeps only a web, mail or relative address.
const MD_TAGS = new Set(['p', 'h4', 'ul', 'ol', 'li', 'blockquote', 'pre', 'table', 'tr', 'th', 'td', 'em', 'strong', 'del', 'code', 'a', 'br']);

function safeHref(href) {
  const s = String(href || '').replace(/[\u0000-\u0020\u007f]/g, '');
  if (!s) return '';
  if (/^(https?:|mailto:)/i.test(s)) return href;
  return /^[a-z][a-z0-9+.-]*:/i.test(s) ? '' : href;
}

function markdownNode(n) {
  if (!n || !n.t || !MD_TAGS.has(n.t)) return document.createTextNode((n && n.v) || '');
  const el = document.createElement(n.t);
  if (n.t === 'a') {
    const href = safeHref(n.href);
    if (href) {
      el.setAttribute('href', href);
      el.setAttribute('rel', 'noopener noreferrer');
    }
  }
  if (n.v) el.appendChild(document.createTextNode(n.v));
  for (const c of n.c || []) el.appendChild(markdownNode(c));
  return el;
}

export function markdownTree(nodes) {
  return (nodes || []).map(markdownNode);
}
