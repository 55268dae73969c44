// A model's documentation laid out for reading: every layer, complexity,
// lineage (clickable), the SQL, and the version history with a line diff.
import { h, replace, link, fmtMoney, fmtDate, badge, errorBox, tableWrap, markdownTree, scrollable } from '../dom.js';
import * as api from '../api.js';
import { LAYERS, renderLayer, versionText, layerTitle, md } from '../layers.js';
import { diffLines } from '../diff.js';
import { selection } from './models.js';
// For its side effect: it defines globalThis.ModeldocLineage (one file
// with the static site, which loads it as a classic script).
import '../lineage.js';

const str = (v) => (v === undefined || v === null ? '' : String(v));

export function render(root, route) {
  const id = route.parts[1];
  const wantVersion = route.params.get('version') || '';
  let alive = true;
  const base = `/objects/${encodeURIComponent(id)}`;
  const body = h('div', { class: 'doc' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(body);

  (async () => {
    let detail;
    try {
      detail = await api.get(base);
    } catch (err) {
      replace(body, h('h1', null, 'Documentation'), errorBox(err));
      return;
    }
    const obj = detail && detail.object ? detail.object : detail;
    const upstream = api.listOf(detail.upstream || obj.upstream || []);
    const downstream = api.listOf(detail.downstream || obj.downstream || []);
    const [docRes, versRes] = await Promise.allSettled([
      api.get(`${base}/documentation${api.query({ version: wantVersion })}`),
      api.get(`${base}/documentation/versions`),
    ]);
    if (!alive) return;
    const doc = docRes.status === 'fulfilled' ? (docRes.value && docRes.value.documentation ? docRes.value.documentation : docRes.value) : null;
    const docErr = docRes.status === 'rejected' && docRes.reason.status !== 404 ? docRes.reason : null;
    const versions = versRes.status === 'fulfilled' ? api.listOf(versRes.value, 'versions') : [];
    replace(body, page(obj, doc, docErr, versions, upstream, downstream, wantVersion));
    // Each model's tab says which model it is (a list of tabs, history and
    // bookmarks all read "Documentation" before).
    document.title = `${obj.name}${obj.project ? ` (${obj.project})` : ''} · modeldoc`;
    const h1 = body.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: true });
    }
  })();

  function page(obj, doc, docErr, versions, upstream, downstream, wantVersion) {
    const sections = [];
    const toc = h('ul', { class: 'toc' });
    const section = (key, title, ...content) => {
      const sec = h('section', { class: 'doc-section card', id: `sec-${key}`, 'aria-labelledby': `h-${key}` }, h('h2', { id: `h-${key}` }, title), content);
      // Buttons, not #anchors: the hash is the router's.
      toc.append(h('li', null, h('button', { type: 'button', class: 'linklike', onclick: () => { sec.scrollIntoView({ behavior: 'smooth' }); sec.querySelector('h2').focus(); } }, title)));
      sec.querySelector('h2').setAttribute('tabindex', '-1');
      sections.push(sec);
      return sec;
    };

    const select = h('button', { type: 'button', class: 'btn', id: 'doc-select', onclick: () => {
      selection.set(obj.id, obj.name);
      location.hash = '#/models';
    } }, doc ? 'Regenerate…' : 'Document this model…');

    const head = h('div', { class: 'page-head' },
      h('div', null,
        h('p', { class: 'crumbs' }, link('Models', ['models']), ' / ', h('span', null, obj.name)),
        h('h1', { id: 'doc-title' }, obj.name),
        h('p', { class: 'muted' }, [obj.project, obj.database, obj.schema, obj.type, obj.materialization].filter(Boolean).join(' · ')),
        obj.unique_id ? h('p', { class: 'muted small' }, h('code', null, obj.unique_id)) : null),
      h('div', { class: 'actions' }, select));

    const metaBits = [];
    if (doc) {
      metaBits.push(
        badge(doc.current ? `current · v${doc.version}` : `v${doc.version} (not current)`, doc.current ? 'ok' : 'warn'),
        h('span', null, `${doc.provider} · ${doc.model}`),
        h('span', null, fmtDate(doc.created_at)),
        h('span', { id: 'doc-complexity', class: 'complexity', title: 'Complexity score (from the SQL), 1 to 5' },
          'Complexity ', h('strong', null, `${doc.complexity_score || '?'}/5`), ' ', '●'.repeat(doc.complexity_score || 0) + '○'.repeat(Math.max(0, 5 - (doc.complexity_score || 0)))),
        h('span', null, `cost ${fmtMoney(doc.cost)}`),
        doc.job_id ? link(`job #${doc.job_id}`, ['jobs', doc.job_id]) : null);
    }

    const content = [];
    const colLineage = columnLineage(obj.column_lineage || []);
    if (obj.description) {
      // A dbt description is Markdown (doc blocks with tables, lists,
      // links): the API sends it as a tree, built here without parsing HTML.
      content.push(section('description', 'Description from the project', obj.description_doc
        ? h('div', { id: 'obj-description', class: 'md' }, markdownTree(obj.description_doc))
        : h('p', { id: 'obj-description', class: 'prewrap' }, obj.description)));
    }
    if (docErr) content.push(errorBox(docErr));
    if (!doc && !docErr) {
      content.push(h('div', { class: 'card empty-doc', id: 'no-doc' },
        h('h2', null, 'Not documented yet'),
        h('p', null, 'No documentation has been written for this model. Select it and start a job to write it.')));
    }
    if (doc) {
      const layers = doc.layers || {};
      const status = doc.layer_status || {};
      for (const [name, title] of LAYERS) {
        if (name in layers) {
          const node = name === 'column_descriptions' ? columnsLayer(layers[name], obj.columns || [], colLineage, doc.text_docs) : renderLayer(name, layers[name], doc.text_docs);
          content.push(section(name, title, node));
        } else if (status[name] && status[name].status === 'failed') {
          content.push(section(name, title, h('div', { class: 'alert alert-error' }, `This layer failed to write${status[name].error_class ? ` (${status[name].error_class})` : ''}: `, str(status[name].error))));
        }
      }
    }
    if (!doc && (obj.columns || []).length) content.push(section('columns', 'Columns', catalogColumns(obj.columns, obj.column_docs, colLineage)));

    // The graph asks for its neighbourhood level by level (the API caps
    // it), so a hub of a 3,000-model project draws what is near.
    const graph = h('div', { id: 'lineage-graph' });
    globalThis.ModeldocLineage.mount(graph, {
      title: obj.name, up: 2, down: 2, idPrefix: 'lg',
      load: (up, down) => api.get(`${base}/lineage${api.query({ up, down })}`),
      href: (n) => `#/models/${encodeURIComponent(n.id)}`,
    });
    content.push(section('lineage', 'Lineage', graph,
      obj.column_readers_truncated ? h('p', { class: 'muted small', id: 'col-readers-note' }, 'The columns list what reads them (→) from the first 50 downstream objects only.') : null,
      h('div', { class: 'lineage' },
        h('div', null, h('h3', null, `Upstream (${upstream.length})`), lineList(upstream, 'lineage-up')),
        h('div', { class: 'lineage-self', 'aria-hidden': 'true' }, '→ ', h('strong', null, obj.name), ' →'),
        h('div', null, h('h3', null, `Downstream (${downstream.length})`), lineList(downstream, 'lineage-down')))));

    // Leading and trailing blank lines only: indentation is the SQL's own.
    const trimLines = (s) => s.replace(/^\s*\n/, '').replace(/\n\s*$/, '');
    const compiled = trimLines(str(obj.compiled_sql));
    const raw = trimLines(str(obj.raw_sql));
    if (compiled || raw) {
      content.push(section('sql', 'SQL',
        compiled ? h('details', { open: true }, h('summary', null, 'Compiled SQL'), scrollable(h('pre', { class: 'code sql', id: 'sql-compiled' }, h('code', null, compiled)), 'Compiled SQL')) : null,
        raw ? h('details', { open: !compiled }, h('summary', null, 'Source (Jinja)'), scrollable(h('pre', { class: 'code sql', id: 'sql-raw' }, h('code', null, raw)), 'Source SQL (Jinja)')) : null));
    }
    if (versions.length) content.push(section('versions', 'Version history', history(versions, doc)));

    return [head,
      metaBits.length ? h('div', { class: 'doc-meta', id: 'doc-meta' }, metaBits) : null,
      h('div', { class: 'doc-layout' },
        h('nav', { class: 'doc-toc', 'aria-label': 'On this page' }, h('h2', { class: 'small-title' }, 'On this page'), toc),
        h('div', { class: 'doc-main' }, content))];
  }

  function lineList(list, id) {
    if (!list.length) return h('p', { class: 'muted', id }, 'None.');
    return h('ul', { class: 'lineage-list', id }, list.map((o) => h('li', null,
      link(o.name, ['models', o.id]), h('span', { class: 'muted small' }, ` ${[o.type, o.schema].filter(Boolean).join(' · ')}`))));
  }

  function catalogColumns(cols, docs, lineageOf) {
    return tableWrap(h('table', { class: 'columns' },
      h('thead', null, h('tr', null, h('th', null, 'Column'), h('th', null, 'Type'), h('th', null, 'Description'), h('th', null, 'Lineage'))),
      h('tbody', null, cols.map((c) => h('tr', null, h('td', null, h('code', null, c.name)), h('td', null, str(c.data_type)), h('td', null, docs && docs[c.name] ? markdownTree(docs[c.name]) : str(c.description)),
        h('td', null, lineageOf(c.name)))))));
  }

  // columnLineage answers, for a column name, where the SQL says it
  // comes from (← an upstream column, linked, or = its expression) and
  // which downstream columns pass it on (→), from the API's
  // column_lineage.
  function columnLineage(list) {
    const byName = new Map(list.map((c) => [String(c.column).toLowerCase(), c]));
    const end = (e) => h('span', null, link(e.name, ['models', e.id]), h('code', null, `.${e.column}`));
    return (name) => {
      const c = byName.get(String(name).toLowerCase());
      if (!c) return null;
      const bits = [];
      if (c.from) bits.push(h('div', { class: 'small col-from' }, h('span', { 'aria-hidden': 'true' }, '← '), h('span', { class: 'sr-only' }, 'from '), end(c.from)));
      else if (c.expr) bits.push(h('div', { class: 'small col-expr' }, h('span', { 'aria-hidden': 'true' }, '= '), h('span', { class: 'sr-only' }, 'computed as '), h('code', { title: c.expr }, c.expr.length > 80 ? c.expr.slice(0, 79) + '…' : c.expr)));
      if ((c.read_by || []).length) {
        bits.push(h('div', { class: 'small col-readers' }, h('span', { 'aria-hidden': 'true' }, '→ '), h('span', { class: 'sr-only' }, 'read by '),
          c.read_by.map((r, i) => [i ? ', ' : '', end(r)])));
      }
      return bits.length ? h('div', { class: 'col-lineage' }, bits) : null;
    };
  }

  // The column layer joined with the catalog's columns, for the data type
  // and to flag descriptions a person wrote (kept over generated ones).
  function columnsLayer(raw, catalogCols, lineageOf, textDocs) {
    const list = Array.isArray(raw) ? raw : (raw && raw.columns) || [];
    const byName = new Map(catalogCols.map((c) => [String(c.name).toLowerCase(), c]));
    return tableWrap(h('table', { class: 'columns', id: 'doc-columns' },
      h('thead', null, h('tr', null, h('th', null, 'Column'), h('th', { class: 'hide-sm' }, 'Type'), h('th', null, 'Description'), h('th', null, 'Lineage'))),
      h('tbody', null, list.map((c) => {
        const cat = byName.get(String(c.name).toLowerCase());
        // A person's description from the project is shown beside the
        // generated one when they differ, so neither hides the other.
        const human = cat && cat.human_description && cat.description && cat.description !== c.description ? cat.description : '';
        const kind = str(c.lineage) || 'unknown';
        const from = c.upstreamModel ? `${c.upstreamModel}${c.upstreamColumn ? '.' + c.upstreamColumn : ''}` : '';
        return h('tr', null,
          h('td', null, h('code', null, str(c.name))),
          h('td', { class: 'hide-sm' }, str(cat && cat.data_type)),
          h('td', null, md(c.description, textDocs), human ? h('div', { class: 'muted small' }, 'In the project: ', human) : null),
          h('td', null, h('span', { class: `badge badge-${kind === 'passthrough' ? 'info' : kind === 'derived' ? 'plain' : 'muted'}` }, kind),
            from ? h('div', { class: 'muted small' }, 'from ', h('code', null, from)) : null, lineageOf(c.name)));
      }))));
  }

  function history(versions, doc) {
    const sorted = [...versions].sort((a, b) => b.version - a.version);
    const list = h('ol', { class: 'versions', id: 'versions' }, sorted.map((v) => h('li', null,
      h('a', { href: `#/models/${encodeURIComponent(id)}?version=${encodeURIComponent(v.version)}`, 'aria-current': doc && doc.version === v.version ? 'true' : null }, `v${v.version}`),
      v.current ? h('span', null, ' ', badge('current', 'ok')) : null,
      h('span', { class: 'muted small' }, ` ${fmtDate(v.created_at)} · ${str(v.provider)} · ${str(v.model)} · ${fmtMoney(v.cost)}`),
      Object.values(v.layer_status || {}).some((s) => s.status === 'failed') ? h('span', null, ' ', badge('partial', 'warn')) : null)));
    if (sorted.length < 2) return [list, h('p', { class: 'muted' }, 'A diff appears here once there are two versions.')];
    const opt = (v) => h('option', { value: String(v.version) }, `v${v.version}${v.current ? ' (current)' : ''}`);
    const from = h('select', { id: 'diff-from' }, sorted.map(opt));
    const to = h('select', { id: 'diff-to' }, sorted.map(opt));
    from.value = String(sorted[1].version);
    to.value = String(sorted[0].version);
    const out = h('div', { id: 'diff-out', 'aria-live': 'polite' });
    const cache = new Map();
    const fetchV = (n) => {
      if (!cache.has(n)) cache.set(n, api.get(`/objects/${encodeURIComponent(id)}/documentation${api.query({ version: n })}`).then((d) => (d && d.documentation ? d.documentation : d)));
      return cache.get(n);
    };
    async function run(e) {
      if (e) e.preventDefault();
      replace(out, h('p', { class: 'muted' }, 'Comparing…'));
      try {
        const [a, b] = await Promise.all([fetchV(from.value), fetchV(to.value)]);
        const d = diffLines(versionText(a), versionText(b));
        const added = d.filter((x) => x.op === '+').length;
        const removed = d.filter((x) => x.op === '-').length;
        replace(out,
          h('p', { class: 'small' }, h('span', { class: 'add' }, `+${added}`), ' ', h('span', { class: 'del' }, `−${removed}`), ` lines from v${from.value} to v${to.value}`),
          scrollable(h('pre', { class: 'diff', id: 'diff' }, d.map((x) => h('span', { class: x.op === '+' ? 'd-add' : x.op === '-' ? 'd-del' : 'd-same' }, `${x.op} ${x.text}\n`))), `Changes from v${from.value} to v${to.value}`));
      } catch (err) {
        replace(out, errorBox(err));
      }
    }
    const form = h('form', { class: 'diff-form', onsubmit: run },
      h('div', { class: 'field inline' }, h('label', { for: 'diff-from' }, 'Compare'), from),
      h('div', { class: 'field inline' }, h('label', { for: 'diff-to' }, 'with'), to),
      h('button', { type: 'submit', class: 'btn', id: 'diff-run' }, 'Show changes'));
    return [list, form, out];
  }

  return () => {
    alive = false;
  };
}

export { layerTitle };
