// The dashboard's shell: sign-in gate, navigation and hash routing. Each
// page is a module exporting render(root, route) that may return a
// cleanup function, called when the person navigates away (to close live
// streams and timers).
import { h, replace } from './dom.js';
import * as api from './api.js';
import * as signin from './pages/signin.js';
import * as models from './pages/models.js';
import * as jobsPage from './pages/jobs.js';
import * as jobPage from './pages/job.js';
import * as docPage from './pages/doc.js';
import * as keysPage from './pages/keys.js';
import * as projectsPage from './pages/projects.js';
import * as reviewPage from './pages/review.js';
import { session, loadMe, forget } from './session.js';

const app = document.getElementById('app');
const nav = document.getElementById('nav');
let cleanup = null;
let signinNotice = '';

export function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(qs || '') };
}

const routes = [
  { match: (p) => p[0] === 'models' && p.length === 1, page: models, nav: 'models', title: 'Models' },
  { match: (p) => p[0] === 'models' && p.length === 2, page: docPage, nav: 'models', title: 'Documentation' },
  { match: (p) => p[0] === 'jobs' && p.length === 1, page: jobsPage, nav: 'jobs', title: 'Jobs' },
  { match: (p) => p[0] === 'jobs' && p.length === 2, page: jobPage, nav: 'jobs', title: 'Job' },
  { match: (p) => p[0] === 'projects' && p.length === 1, page: projectsPage, nav: 'projects', title: 'Projects' },
  { match: (p) => p[0] === 'review' && p.length === 1, page: reviewPage, nav: 'review', title: 'Review' },
  { match: (p) => p[0] === 'keys', page: keysPage, nav: 'keys', title: 'Provider keys' },
];

function renderNav(active) {
  if (!api.getToken()) {
    replace(nav);
    nav.hidden = true;
    return;
  }
  nav.hidden = false;
  const item = (key, text) => h('li', null, h('a', { href: `#/${key}`, 'aria-current': active === key ? 'page' : null }, text));
  const me = session.me;
  replace(nav,
    h('ul', null, item('models', 'Models'), item('review', 'Review'), item('jobs', 'Jobs'), item('projects', 'Projects'), item('keys', 'Provider keys')),
    me ? h('span', { class: 'who muted small', id: 'who' }, `${me.organization} · ${me.role}`) : null,
    h('button', { type: 'button', class: 'btn btn-quiet', id: 'signout', onclick: () => signOut('') }, 'Sign out'));
}

export function signOut(notice) {
  api.setToken('');
  forget();
  signinNotice = notice;
  location.hash = '#/signin';
  route();
}

api.onUnauthorized(() => {
  if (api.getToken()) signOut('Your token was not accepted. Sign in again.');
});

export function route() {
  if (cleanup) {
    try {
      cleanup();
    } catch (e) {
      console.error(e);
    }
    cleanup = null;
  }
  const r = parseRoute();
  if (!api.getToken() || r.parts[0] === 'signin') {
    if (api.getToken() && r.parts[0] === 'signin') {
      location.hash = '#/models';
      return;
    }
    renderNav('');
    document.title = 'Sign in · modeldoc';
    replace(app);
    signin.render(app, r, signinNotice);
    signinNotice = '';
    return;
  }
  if (!session.me) {
    // Learn the role once per sign-in before drawing a page that depends
    // on it; a rejected token lands on the sign-in page via onUnauthorized.
    replace(app, h('p', { class: 'muted' }, 'Loading…'));
    loadMe().then(route, (err) => {
      if (err.status !== 401) {
        session.me = { role: 'admin', organization: '' };
        route();
      }
    });
    return;
  }
  const found = routes.find((x) => x.match(r.parts));
  if (!found) {
    location.replace('#/models');
    return;
  }
  renderNav(found.nav);
  document.title = `${found.title} · modeldoc`;
  replace(app);
  const result = found.page.render(app, r);
  if (typeof result === 'function') cleanup = result;
  // Move focus to the page heading so keyboard and screen-reader users
  // land on the new page rather than on the link they followed.
  const h1 = app.querySelector('h1');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

window.addEventListener('hashchange', route);
route();

// The skip link cannot use a #fragment (the hash is the router's), so it
// moves focus itself.
document.getElementById('skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  app.focus();
});
