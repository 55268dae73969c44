// Who the token belongs to (GET /me), so pages can offer only what the
// role allows. The server checks roles on every call regardless.
import * as api from './api.js';

export const session = { me: null };

export async function loadMe() {
  session.me = await api.get('/me');
  return session.me;
}

export function isAdmin() {
  return !session.me || session.me.role === 'admin';
}

export function forget() {
  session.me = null;
}
