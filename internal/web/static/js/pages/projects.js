// Projects: the organization's imported dbt projects with their model
// count, coverage and last import, and for admins the form that uploads one
// (the project folder as a .zip or .tar.gz, as the CLI reads it, or its
// manifest.json with an optional catalog.json) and a delete per project.
// Uploading a project that already exists updates it in place, so the page
// says which of the two happened.
import { h, replace, fmtDate, fmtInt, errorBox, tableWrap, breakable, keepFocus } from '../dom.js';
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

  const listTitle = h('h2', { id: 'projects-title', tabindex: '-1' }, 'Imported projects');

  // coverage is the share of the project's models with documentation.
  function coverage(p) {
    const n = Number(p.models) || 0;
    if (!n) return h('span', { class: 'muted' }, '—');
    const pct = Math.round((100 * (Number(p.documented_models) || 0)) / n);
    return h('span', { class: 'coverage', title: `${fmtInt(p.documented_models)} of ${fmtInt(n)} models documented` }, `${pct}%`,
      h('span', { class: 'muted small' }, ` (${fmtInt(p.documented_models)} of ${fmtInt(n)})`));
  }

  async function remove(p, btn) {
    const n = Number(p.models) || 0;
    if (!window.confirm(`Delete project ${p.name}? Its ${plural(n, 'model', 'models')} and their documentation and review history are removed for good; its jobs stay in the history.`)) return;
    btn.disabled = true;
    replace(result, h('p', { class: 'muted', role: 'status' }, `Deleting ${p.name}…`));
    try {
      await api.del(`/projects/${encodeURIComponent(p.id)}`);
      if (!alive) return;
      replace(result, h('div', { class: 'alert alert-ok', id: 'delete-done', role: 'status' }, `Deleted ${p.name} and its ${plural(n, 'model', 'models')}.`));
      await load();
      // The row and its button are gone: focus goes to the list's heading.
      listTitle.focus();
    } catch (err) {
      if (!alive) return;
      btn.disabled = false;
      const box = errorBox(err);
      box.id = 'delete-error';
      replace(result, box);
      btn.focus();
    }
  }

  async function load() {
    try {
      const data = await api.get('/projects' + api.query({ limit: 500 }));
      if (!alive) return;
      const projects = api.listOf(data, 'projects');
      keepFocus(list, () => replace(list, projects.length ? tableWrap(h('table', { id: 'projects-table' },
        h('thead', null, h('tr', null,
          h('th', null, 'Project'),
          h('th', null, 'Models'),
          h('th', null, 'Coverage'),
          h('th', { class: 'hide-sm' }, 'From'),
          h('th', { class: 'hide-sm' }, 'dbt · adapter'),
          h('th', null, 'Last import'),
          admin ? h('th', null, h('span', { class: 'sr-only' }, 'Actions')) : null)),
        h('tbody', null, projects.map((p) => h('tr', { dataset: { id: p.id } },
          h('td', { class: 'name' },
            // The models page filters by project through its query string,
            // which link() would encode as part of the path.
            h('a', { href: `#/models${api.query({ project_id: p.id })}`, class: 'project-link' }, breakable(p.name)),
            h('div', { class: 'muted small show-sm' }, [p.dbt_version && `dbt ${p.dbt_version}`, p.adapter_type].filter(Boolean).join(' · '))),
          h('td', { class: 'models-count' }, fmtInt(p.models)),
          h('td', { class: 'coverage-cell' }, coverage(p)),
          h('td', { class: 'hide-sm small path' }, p.path || p.source || ''),
          h('td', { class: 'hide-sm small' }, [p.dbt_version && `dbt ${p.dbt_version}`, p.adapter_type].filter(Boolean).join(' · ') || '—'),
          h('td', { class: 'small' }, fmtDate(p.imported_at)),
          admin ? h('td', null, (() => {
            const btn = h('button', { type: 'button', class: 'btn btn-small btn-danger project-delete', dataset: { key: `delete-${p.id}` }, 'aria-label': `Delete project ${p.name}` }, 'Delete');
            btn.addEventListener('click', () => remove(p, btn));
            return btn;
          })()) : null)))))
        : h('p', { class: 'muted', id: 'projects-empty' }, admin ?
          'No projects yet. Upload the project folder or its manifest.json above to import one.' :
          'No projects yet. Ask an admin of your organization to upload one.')));
    } catch (err) {
      if (alive) replace(list, errorBox(err));
    }
  }

  const archive = h('input', { id: 'up-project', name: 'project', type: 'file', accept: '.zip,.tar.gz,.tgz,application/zip,application/gzip', 'aria-describedby': 'up-project-hint' });
  const manifest = h('input', { id: 'up-manifest', name: 'manifest', type: 'file', accept: '.json,application/json', 'aria-describedby': 'up-manifest-hint' });
  const catalog = h('input', { id: 'up-catalog', name: 'catalog', type: 'file', accept: '.json,application/json', 'aria-describedby': 'up-catalog-hint' });
  const name = h('input', { id: 'up-name', name: 'name', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'from the manifest', 'aria-describedby': 'up-name-hint' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'up-submit' }, 'Upload project');

  const form = h('form', { class: 'card upload-form', id: 'upload-form', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Upload a project'),
    h('p', { class: 'muted small' }, 'Send the dbt project folder as it is (what modeldoc import reads), or the manifest.json dbt writes for it.'),
    h('div', { class: 'upload-grid' },
      h('div', { class: 'field' },
        h('label', { for: 'up-project' }, 'Project folder (.zip or .tar.gz)'),
        archive,
        h('p', { class: 'muted small', id: 'up-project-hint' }, 'The folder with dbt_project.yml, zipped or tarred: zip -r shop.zip shop.')),
      h('div', { class: 'field' },
        h('label', { for: 'up-manifest' }, 'or manifest.json'),
        manifest,
        h('p', { class: 'muted small', id: 'up-manifest-hint' }, 'From target/ after dbt compile or dbt docs generate.')),
      h('div', { class: 'field' },
        h('label', { for: 'up-catalog' }, 'catalog.json ', h('span', { class: 'muted' }, '(optional, with the manifest)')),
        catalog,
        h('p', { class: 'muted small', id: 'up-catalog-hint' }, 'Adds column types from the warehouse; written by dbt docs generate.')),
      h('div', { class: 'field' },
        h('label', { for: 'up-name' }, 'Project name ', h('span', { class: 'muted' }, '(optional)')),
        name,
        h('p', { class: 'muted small', id: 'up-name-hint' }, 'Defaults to the manifest\u2019s project name. Uploading a name that exists updates that project in place.'))),
    submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const af = archive.files && archive.files[0];
    const mf = manifest.files && manifest.files[0];
    const cf = catalog.files && catalog.files[0];
    const refuse = (msg, el) => {
      const box = errorBox(new Error(msg));
      box.id = 'upload-error';
      replace(result, box);
      el.focus();
    };
    if (!af && !mf) {
      refuse('Choose the project folder as a .zip or .tar.gz, or its manifest.json (dbt writes it into target/).', archive);
      return;
    }
    if (af && mf) {
      refuse('Choose one: the project folder’s archive or its manifest.json, not both.', manifest);
      return;
    }
    if (af && cf) {
      refuse('A catalog.json goes with a manifest.json: put both in the archive’s target/ folder, or upload them without the archive.', catalog);
      return;
    }
    const file = af || mf;
    const fd = new FormData();
    if (af) fd.append('project', af, af.name);
    else fd.append('manifest', mf, mf.name);
    if (cf) fd.append('catalog', cf, cf.name);
    const n = name.value.trim();
    if (n) fd.append('name', n);
    submit.disabled = true;
    replace(submit, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Uploading…');
    replace(result, h('p', { class: 'muted', role: 'status' }, `Uploading ${file.name}…`));
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
        h('p', { class: 'small muted' }, `${file.name} was not imported:`), box));
    } finally {
      submit.disabled = false;
      replace(submit, 'Upload project');
    }
  });

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Projects'), h('p', { class: 'muted' }, 'The dbt projects whose models this organization documents.')),
    admin ? form : h('div', { class: 'alert alert-info', id: 'upload-admins-only' }, 'Only admins can upload or delete projects. Ask an admin of your organization to upload a new one.'),
    result,
    h('section', { class: 'card', 'aria-labelledby': 'projects-title' }, listTitle, list));
  load();
  return () => { alive = false; };
}
