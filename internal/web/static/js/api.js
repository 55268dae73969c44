// API client: every call carries the session's bearer token; failures
// become ApiError with the problem+json fields the server sends.

const TOKEN_KEY = 'modeldoc.token';
const BASE = '/api/v1';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem || {};
    super(p.detail || p.title || p.message || `Request failed with status ${status}`);
    this.status = status;
    this.code = p.code || '';
    this.problem = p;
  }
}

// Listeners told when the server rejects the token, so the app can send the
// person back to the sign-in page from wherever they are.
const unauthorized = new Set();
export function onUnauthorized(fn) {
  unauthorized.add(fn);
}

function headers(extra) {
  const h = { Accept: 'application/json', ...extra };
  const t = getToken();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

async function problemOf(res) {
  const text = await res.text().catch(() => '');
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.trim().slice(0, 300) || res.statusText };
  }
}

export async function request(method, path, body, opts = {}) {
  const init = { method, headers: headers(), signal: opts.signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { detail: 'The server cannot be reached. Check that modeldoc serve is running.' });
  }
  if (!res.ok) {
    const p = await problemOf(res);
    if (res.status === 401 && !opts.noRedirect) unauthorized.forEach((fn) => fn(p));
    throw new ApiError(res.status, p);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// upload POSTs a multipart form. The browser writes the Content-Type with
// the boundary itself, so none is set here. It answers the HTTP status with
// the body because the status carries meaning (201 imported, 200 updated).
export async function upload(path, form, opts = {}) {
  let res;
  try {
    res = await fetch(BASE + path, { method: 'POST', headers: headers(), body: form, signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { detail: 'The server cannot be reached. Check that modeldoc serve is running.' });
  }
  if (!res.ok) {
    const p = await problemOf(res);
    if (res.status === 401) unauthorized.forEach((fn) => fn(p));
    throw new ApiError(res.status, p);
  }
  const text = await res.text();
  return { status: res.status, data: text ? JSON.parse(text) : null };
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body === undefined ? {} : body, opts);
export const put = (path, body, opts) => request('PUT', path, body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// listOf takes a list answer in whichever envelope the server uses
// ({objects: [...]}, {items: [...]}, a bare array) and returns the array.
export function listOf(data, ...keys) {
  if (Array.isArray(data)) return data;
  if (!data) return [];
  for (const k of [...keys, 'items', 'data', 'results']) {
    if (Array.isArray(data[k])) return data[k];
  }
  return [];
}

// parseSSE feeds text chunks and calls onEvent({event, data, id}) for each
// complete event, following the WHATWG rules that matter here: lines end in
// \n, \r\n or \r; "data" lines join with \n; comments start with ":"; an
// event is dispatched on a blank line.
export function sseParser(onEvent) {
  let buf = '';
  let ev = { event: '', data: [], id: '' };
  function line(l) {
    if (l === '') {
      if (ev.data.length) onEvent({ event: ev.event || 'message', data: ev.data.join('\n'), id: ev.id });
      ev = { event: '', data: [], id: ev.id };
      return;
    }
    if (l[0] === ':') return;
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'event') ev.event = value;
    else if (field === 'data') ev.data.push(value);
    else if (field === 'id') ev.id = value;
  }
  return function feed(chunk) {
    buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buf);
      if (!m) break;
      // A lone \r at the very end may be the first half of \r\n.
      if (m[0] === '\r' && m.index === buf.length - 1) break;
      line(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
  };
}

// stream reads a Server-Sent Events endpoint with fetch, because
// EventSource cannot send an Authorization header. It resolves when the
// server ends the stream and rejects on an HTTP or network error.
export async function stream(path, onEvent, signal) {
  const res = await fetch(BASE + path, { headers: headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store' });
  if (!res.ok) {
    const p = await problemOf(res);
    if (res.status === 401) unauthorized.forEach((fn) => fn(p));
    throw new ApiError(res.status, p);
  }
  const feed = sseParser(onEvent);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    feed(value);
  }
  feed('\n\n');
}
