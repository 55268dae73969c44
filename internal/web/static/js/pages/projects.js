// Projects: the organization's imported dbt projects, and for admins the
// form that uploads one (manifest.json, optional catalog.json). Uploading a
// project that already exists updates it in place, so the page says which
// of the two happened.
import { h, replace, fmtDate, fmtInt, errorBox, tableWrap, breakable } from '../dom.js';
import * as api from '../api.js';
import { isAdmin } from '../session.js';

// Enough warnings to see what kind of trouble a manifest has without
// burying the counts under hundreds of lines.
const MAX_WARNINGS = 10;

const plural = (n, one, many) => `${fmtInt(n)} ${n === 1 ? one : many}`;

function stat(id, label, value, note) {
  return h('div', { class: 'stat', id },
    h('dt', null, label),
    h('dd', null, fmtInt(value), note ? h('span', { class: 'stat-note' }, note) : null));
}

// summaryCard shows what an upload wrote. updated is true when the API
// answered 200 (the project existed), false for 201.
export function summaryCard(answer, updated) {
  const s = (answer && answer.summary) || {};
  const project = (answer && answer.project) || {};
  const name = s.project_name || project.name || 'the project';
  const id = s.project_id || project.id;
  const warnings = Array.isArray(s.warnings) ? s.warnings : [];
  const shown = warnings.slice(0, MAX_WARNINGS);
  const models = Number(s.models) || 0;
  return h('section', { class: 'card upload-result', id: 'upload-result', 'aria-labelledby': 'upload-result-title', tabindex: '-1' },
    h('h2', { id: 'upload-result-title' },
      h('span', { class: `badge badge-${updated ? 'info' : 'ok'}`, id: 'upload-verb' }, updated ? 'updated' : 'imported'), ' ',
      updated ? `Updated ${name} in place` : `Imported ${name}`),
    h('p', { class: 'muted small' }, updated ?
      'The project already existed: its objects kept their ids and documentation; changed ones are marked stale.' :
      'A new project. Its models are ready to document.'),
    h('dl', { class: 'stats', id: 'upload-counts' },
      stat('sum-models', 'Models', models, `${fmtInt(s.models_with_description)} described`),
      stat('sum-sources', 'Sources', s.sources),
      stat('sum-seeds', 'Seeds', s.seeds),
      stat('sum-snapshots', 'Snapshots', s.snapshots),
      stat('sum-edges', 'Lineage edges', s.edges),
      stat('sum-columns', 'Columns', s.columns, `${fmtInt(s.columns_with_description)} described`)),
    h('h3', null, 'Changes'),
    h('dl', { class: 'stats', id: 'upload-changes' },
      stat('sum-created', 'Created', s.created),
      stat('sum-updated', 'Updated', s.updated),
      stat('sum-unchanged', 'Unchanged', s.unchanged),
      stat('sum-deleted', 'Deleted', s.deleted)),
    warnings.length ? h('div', { class: 'alert alert-warn', id: 'upload-warnings' },
      h('strong', null, plural(warnings.length, 'warning', 'warnings')),
      h('ul', { class: 'warnings' }, shown.map((w) => h('li', null, w))),
      warnings.length > shown.length ? h('p', { id: 'upload-warnings-more' }, `and ${fmtInt(warnings.length - shown.length)} more`) : null) : null,
    id ? h('p', null, h('a', { href: `#/models${api.query({ project_id: id })}`, id: 'upload-browse' }, `Browse the ${plural(models, 'model', 'models')} of ${name}`)) : null);
}

export function render(root) {
  let alive = true;
  const admin = isAdmin();
  const list = h('div', { id: 'projects-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const result = h('div', { id: 'upload-message', 'aria-live': 'polite' });

  async function load() {
    try {
      const data = await api.get('/projects' + api.query({ limit: 500 }));
      if (!alive) return;
      const projects = api.listOf(data, 'projects');
      replace(list, projects.length ? tableWrap(h('table', { id: 'projects-table' },
        h('thead', null, h('tr', null,
          h('th', null, 'Project'),
          h('th', { class: 'hide-sm' }, 'From'),
          h('th', { class: 'hide-sm' }, 'dbt · adapter'),
          h('th', null, 'Imported'))),
        h('tbody', null, projects.map((p) => h('tr', { dataset: { id: p.id } },
          h('td', { class: 'name' },
            // The models page filters by project through its query string,
            // which link() would encode as part of the path.
            h('a', { href: `#/models${api.query({ project_id: p.id })}`, class: 'project-link' }, breakable(p.name)),
            h('div', { class: 'muted small show-sm' }, [p.dbt_version && `dbt ${p.dbt_version}`, p.adapter_type].filter(Boolean).join(' · '))),
          h('td', { class: 'hide-sm small path' }, p.path || p.source || ''),
          h('td', { class: 'hide-sm small' }, [p.dbt_version && `dbt ${p.dbt_version}`, p.adapter_type].filter(Boolean).join(' · ') || '—'),
          h('td', { class: 'small nowrap' }, fmtDate(p.imported_at)))))))
        : h('p', { class: 'muted', id: 'projects-empty' }, admin ?
          'No projects yet. Upload a manifest.json below to import one.' :
          'No projects yet. Ask an admin of your organization to upload one.'));
    } catch (err) {
      if (alive) replace(list, errorBox(err));
    }
  }

  const manifest = h('input', { id: 'up-manifest', name: 'manifest', type: 'file', accept: '.json,application/json', required: true, 'aria-describedby': 'up-manifest-hint' });
  const catalog = h('input', { id: 'up-catalog', name: 'catalog', type: 'file', accept: '.json,application/json', 'aria-describedby': 'up-catalog-hint' });
  const name = h('input', { id: 'up-name', name: 'name', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'from the manifest', 'aria-describedby': 'up-name-hint' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'up-submit' }, 'Upload project');

  const form = h('form', { class: 'card upload-form', id: 'upload-form', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Upload a project'),
    h('div', { class: 'upload-grid' },
      h('div', { class: 'field' },
        h('label', { for: 'up-manifest' }, 'manifest.json ', h('span', { class: 'req' }, '(required)')),
        manifest,
        h('p', { class: 'muted small', id: 'up-manifest-hint' }, 'From target/ after dbt compile or dbt docs generate.')),
      h('div', { class: 'field' },
        h('label', { for: 'up-catalog' }, 'catalog.json ', h('span', { class: 'muted' }, '(optional)')),
        catalog,
        h('p', { class: 'muted small', id: 'up-catalog-hint' }, 'Adds column types from the warehouse; written by dbt docs generate.')),
      h('div', { class: 'field' },
        h('label', { for: 'up-name' }, 'Project name ', h('span', { class: 'muted' }, '(optional)')),
        name,
        h('p', { class: 'muted small', id: 'up-name-hint' }, 'Defaults to the manifest\u2019s project name. Uploading a name that exists updates that project in place.'))),
    submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const mf = manifest.files && manifest.files[0];
    if (!mf) {
      replace(result, errorBox(new Error('Choose the manifest.json to upload: dbt writes it into target/.')));
      manifest.focus();
      return;
    }
    const fd = new FormData();
    fd.append('manifest', mf, mf.name);
    const cf = catalog.files && catalog.files[0];
    if (cf) fd.append('catalog', cf, cf.name);
    const n = name.value.trim();
    if (n) fd.append('name', n);
    submit.disabled = true;
    replace(submit, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Uploading…');
    replace(result, h('p', { class: 'muted', role: 'status' }, `Uploading ${mf.name}…`));
    try {
      const { status, data } = await api.upload('/projects', fd);
      if (!alive) return;
      const card = summaryCard(data, status === 200);
      replace(result, card);
      card.focus({ preventScroll: false });
      load();
    } catch (err) {
      if (!alive) return;
      const box = errorBox(err);
      box.id = 'upload-error';
      replace(result, h('div', { class: 'upload-error' },
        h('p', { class: 'small muted' }, `${mf.name} was not imported:`), box));
    } finally {
      submit.disabled = false;
      replace(submit, 'Upload project');
    }
  });

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Projects'), h('p', { class: 'muted' }, 'The dbt projects whose models this organization documents.')),
    admin ? form : h('div', { class: 'alert alert-info', id: 'upload-admins-only' }, 'Only admins can upload projects. Ask an admin of your organization to upload a new manifest.json.'),
    result,
    h('section', { class: 'card', 'aria-labelledby': 'projects-title' }, h('h2', { id: 'projects-title' }, 'Imported projects'), list));
  load();
  return () => { alive = false; };
}
