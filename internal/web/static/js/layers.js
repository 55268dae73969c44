// Reading a documentation version: each layer laid out as HTML for the
// documentation page, and as plain text lines for the version diff.
import { h, tableWrap, markdownTree, scrollable } from './dom.js';

export { tableWrap };

export const LAYERS = [
  ['executive_summary', 'Summary'],
  ['business_narrative', 'Narrative'],
  ['transformation_cards', 'Transformation steps'],
  ['code_explanations', 'Code explanations'],
  ['business_rules', 'Business rules'],
  ['impact_analysis', 'Impact'],
  ['column_descriptions', 'Columns'],
];

export const layerTitle = (name) => (LAYERS.find(([k]) => k === name) || [name, name])[1];

const str = (v) => (v === undefined || v === null ? '' : String(v));
const arr = (v) => (Array.isArray(v) ? v : []);

// unwrap takes a layer's JSON with or without its wire wrapper
// ({cards: [...]}, {rules: [...]}, ...).
function unwrap(name, v) {
  if (v === undefined || v === null) return v;
  const keys = {
    executive_summary: 'summary', transformation_cards: 'cards', code_explanations: 'explanations',
    business_rules: 'rules', column_descriptions: 'columns',
  };
  const k = keys[name];
  if (k && typeof v === 'object' && !Array.isArray(v) && k in v) return v[k];
  return v;
}

// The Markdown trees of the version's generated prose (the API's
// text_docs, keyed by the exact text), for the layer being drawn.
let docs = {};

// md is a generated text as the reader should see it: its Markdown built
// from the API's tree when it has any (inline when it is one paragraph),
// else the text itself.
export function md(text, textDocs) {
  const s = str(text);
  const tree = (textDocs || docs || {})[s];
  if (!tree || !tree.length) return s;
  if (tree.length === 1 && tree[0].t === 'p') return markdownTree(tree[0].c);
  return h('div', { class: 'md' }, markdownTree(tree));
}

function para(text) {
  const t = str(text).trim();
  if (!t) return null;
  const m = md(text);
  return typeof m === 'string' || Array.isArray(m) ? h('p', null, typeof m === 'string' ? t : m) : m;
}

function dl(pairs) {
  const items = pairs.filter(([, v]) => str(v).trim() !== '');
  if (!items.length) return null;
  return h('dl', { class: 'kv' }, items.map(([k, v]) => [h('dt', null, k), h('dd', null, md(v))]));
}

export function renderLayer(name, raw, textDocs) {
  docs = textDocs || {};
  const v = unwrap(name, raw);
  switch (name) {
    case 'executive_summary':
      return h('div', { class: 'layer-body summary' }, para(v));
    case 'business_narrative': {
      const n = v || {};
      const journey = arr(n.dataJourney);
      return h('div', { class: 'layer-body' },
        para(n.whatItDoes),
        journey.length ? [h('h4', null, 'Data journey'), h('ol', { class: 'journey' }, journey.map((s) => h('li', null, md(s))))] : null,
        n.businessImpact ? [h('h4', null, 'Business impact'), para(n.businessImpact)] : null);
    }
    case 'transformation_cards':
      return h('ol', { class: 'cards' }, arr(v).map((c, i) => h('li', { class: 'card' },
        h('h4', null, h('span', { class: 'step' }, `Step ${c.stepNumber || i + 1}`), ' ', md(c.title)),
        dl([['Input', c.input], ['Logic', c.logic], ['Output', c.output], ['Why it matters', c.whyItMatters]]))));
    case 'code_explanations':
      return h('div', { class: 'layer-body' }, arr(v).map((c) => h('div', { class: 'explain' },
        scrollable(h('pre', { class: 'code' }, h('code', null, str(c.codeBlock))), 'SQL explained'),
        para(c.plainEnglish),
        c.businessContext ? h('div', { class: 'muted' }, h('strong', null, 'Business context: '), md(c.businessContext)) : null)));
    case 'business_rules':
      return h('ul', { class: 'rules' }, arr(v).map((r) => h('li', null,
        h('div', { class: 'rule' }, md(r.rule)),
        r.codeReference ? scrollable(h('pre', { class: 'code small' }, h('code', null, str(r.codeReference))), 'SQL of the rule') : null,
        r.impact ? h('div', { class: 'muted' }, 'Impact: ', md(r.impact)) : null)));
    case 'impact_analysis': {
      const ia = v || {};
      const used = arr(ia.usedBy);
      const qs = arr(ia.questionsAnswered);
      return h('div', { class: 'layer-body' },
        used.length ? [h('h4', null, 'Used by'), tableWrap(h('table', null,
          h('thead', null, h('tr', null, h('th', null, 'Team'), h('th', null, 'Frequency'), h('th', null, 'Purpose'))),
          h('tbody', null, used.map((u) => h('tr', null, h('td', null, md(u.team)), h('td', null, str(u.frequency)), h('td', null, md(u.purpose)))))))] : null,
        qs.length ? [h('h4', null, 'Questions it answers'), h('ul', null, qs.map((q) => h('li', null, md(q))))] : null,
        ia.downstreamImpact ? [h('h4', null, 'If it breaks'), para(ia.downstreamImpact)] : null);
    }
    case 'column_descriptions':
      return columnsTable(arr(v));
    default:
      return h('pre', { class: 'code' }, h('code', null, JSON.stringify(v, null, 2)));
  }
}

function columnsTable(cols, objectColumns) {
  return tableWrap(h('table', { class: 'columns' },
    h('thead', null, h('tr', null, h('th', null, 'Column'), h('th', null, 'Description'), h('th', null, 'Lineage'))),
    h('tbody', null, cols.map((c) => h('tr', null,
      h('td', null, h('code', null, str(c.name))),
      h('td', null, md(c.description)),
      h('td', null, lineageCell(c)))))));
}

function lineageCell(c) {
  const kind = str(c.lineage) || 'unknown';
  const from = c.upstreamModel ? `${c.upstreamModel}${c.upstreamColumn ? '.' + c.upstreamColumn : ''}` : '';
  return [h('span', { class: `badge badge-${kind === 'passthrough' ? 'info' : kind === 'derived' ? 'plain' : 'muted'}` }, kind), from ? h('div', { class: 'muted small' }, 'from ', h('code', null, from)) : null];
}

// versionText flattens a version into lines for the diff; one fact per
// line so that a changed sentence shows as one changed line.
export function versionText(v) {
  const out = [];
  const layers = (v && v.layers) || {};
  const push = (s) => str(s).split('\n').forEach((l) => out.push(l));
  for (const [name, title] of LAYERS) {
    if (!(name in layers)) continue;
    out.push(`## ${title}`);
    const x = unwrap(name, layers[name]);
    switch (name) {
      case 'executive_summary': push(x); break;
      case 'business_narrative':
        push((x || {}).whatItDoes);
        arr((x || {}).dataJourney).forEach((s, i) => push(`${i + 1}. ${s}`));
        push((x || {}).businessImpact);
        break;
      case 'transformation_cards':
        arr(x).forEach((c, i) => {
          push(`Step ${c.stepNumber || i + 1}: ${str(c.title)}`);
          push(`  Input: ${str(c.input)}`); push(`  Logic: ${str(c.logic)}`);
          push(`  Output: ${str(c.output)}`); push(`  Why it matters: ${str(c.whyItMatters)}`);
        });
        break;
      case 'code_explanations':
        arr(x).forEach((c) => { push(str(c.codeBlock)); push(`  → ${str(c.plainEnglish)}`); if (c.businessContext) push(`  Context: ${c.businessContext}`); });
        break;
      case 'business_rules':
        arr(x).forEach((r) => { push(`- ${str(r.rule)}`); if (r.impact) push(`  Impact: ${r.impact}`); });
        break;
      case 'impact_analysis':
        arr((x || {}).usedBy).forEach((u) => push(`Used by ${str(u.team)} (${str(u.frequency)}): ${str(u.purpose)}`));
        arr((x || {}).questionsAnswered).forEach((q) => push(`? ${q}`));
        push((x || {}).downstreamImpact);
        break;
      case 'column_descriptions':
        arr(x).forEach((c) => push(`${str(c.name)} [${str(c.lineage)}${c.upstreamModel ? ' from ' + c.upstreamModel + '.' + str(c.upstreamColumn) : ''}]: ${str(c.description)}`));
        break;
      default: push(JSON.stringify(x, null, 2));
    }
    out.push('');
  }
  return out.join('\n');
}
