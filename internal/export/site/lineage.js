// The lineage graph: an object's neighbourhood drawn as inline SVG, in
// layers by distance (upstream left, downstream right), each object a
// link to its page. One file serves the dashboard (imported as a module
// for its side effect) and the static site (a classic script, because
// browsers refuse modules over file://), so it is written to run as
// either and exposes itself as globalThis.ModeldocLineage. On the site it
// draws every element carrying data-lineage-graph by itself: the site
// has no inline script. The dashboard serves this file as js/lineage.js
// (internal/web).
(function () {
  'use strict';
  const SVGNS = 'http://www.w3.org/2000/svg';
  const NODE_W = 168;
  const NODE_H = 42;
  const COL_GAP = 48;
  const ROW_GAP = 12;
  const PAD = 8;
  const KINDS = ['source', 'seed', 'model', 'snapshot', 'exposure'];

  function el(tag, attrs, ...kids) {
    const e = tag === 'svg' || tag.startsWith('svg:') ? document.createElementNS(SVGNS, tag.replace('svg:', '')) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
    for (const k of kids.flat()) {
      if (k === null || k === undefined || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }
  const s = (tag, attrs, ...kids) => el('svg:' + tag, attrs, ...kids);

  function clip(text, n) {
    return text.length > n ? text.slice(0, n - 1) + '…' : text;
  }

  function where(depth) {
    if (depth === 0) return 'this object';
    const n = Math.abs(depth);
    return `${n} step${n === 1 ? '' : 's'} ${depth < 0 ? 'upstream' : 'downstream'}`;
  }

  function state(n) {
    if (n.kind === 'exposure') return n.exposure_type || '';
    if (n.deleted) return 'deleted';
    if (n.stale) return 'stale';
    return n.documented ? 'documented' : 'not documented';
  }

  // nodesOf turns a graph (the API's shape) cut to up/down hops into the
  // drawing's nodes: objects and exposures alike, keyed "o<id>" and
  // "x<unique id>".
  function nodesOf(graph, up, down) {
    const nodes = new Map();
    for (const n of graph.nodes || []) {
      if (n.depth < -up || n.depth > down) continue;
      const kind = KINDS.includes(n.type) ? n.type : 'model';
      nodes.set('o' + n.id, Object.assign({}, n, { key: 'o' + n.id, kind, label: n.name }));
    }
    const edges = [];
    for (const e of graph.edges || []) {
      const a = 'o' + e.upstream;
      const b = 'o' + e.downstream;
      if (nodes.has(a) && nodes.has(b)) edges.push([a, b]);
    }
    for (const x of graph.exposures || []) {
      const reads = (x.reads || []).filter((r) => nodes.has('o' + r) && nodes.get('o' + r).depth >= 0 && nodes.get('o' + r).depth < down);
      if (!reads.length) continue;
      const depth = Math.max(...reads.map((r) => nodes.get('o' + r).depth)) + 1;
      const key = 'x' + x.unique_id;
      nodes.set(key, { key, kind: 'exposure', label: x.label || x.name, name: x.name, depth, exposure_type: x.type, url: x.url });
      for (const r of reads) edges.push(['o' + r, key]);
    }
    return { nodes, edges };
  }

  // layout places each node in its depth's column and orders every
  // column by the mean row of its neighbours in the column nearer the
  // centre (two sweeps), which keeps most edges short and uncrossed.
  function layout(nodes, edges) {
    const cols = new Map();
    for (const n of nodes.values()) {
      if (!cols.has(n.depth)) cols.set(n.depth, []);
      cols.get(n.depth).push(n);
    }
    const depths = [...cols.keys()].sort((a, b) => a - b);
    for (const d of depths) cols.get(d).sort((a, b) => a.label.localeCompare(b.label));
    const nbrs = new Map([...nodes.keys()].map((k) => [k, []]));
    for (const [a, b] of edges) {
      nbrs.get(a).push(b);
      nbrs.get(b).push(a);
    }
    const order = () => depths.forEach((d) => cols.get(d).forEach((n, i) => { n.row = i; }));
    order();
    for (let sweep = 0; sweep < 2; sweep++) {
      // Outward from the centre on both sides.
      const outward = [...depths.filter((d) => d > 0), ...depths.filter((d) => d < 0).reverse()];
      for (const d of outward) {
        const inner = d > 0 ? d - 1 : d + 1;
        const mean = (n) => {
          const rows = nbrs.get(n.key).map((k) => nodes.get(k)).filter((m) => m.depth === inner).map((m) => m.row);
          return rows.length ? rows.reduce((x, y) => x + y, 0) / rows.length : n.row;
        };
        const list = cols.get(d);
        const keyed = list.map((n) => [mean(n), n]);
        keyed.sort((x, y) => x[0] - y[0] || x[1].label.localeCompare(y[1].label));
        cols.set(d, keyed.map((x) => x[1]));
        order();
      }
    }
    const tallest = Math.max(...depths.map((d) => cols.get(d).length));
    const height = PAD * 2 + tallest * (NODE_H + ROW_GAP) - ROW_GAP;
    depths.forEach((d, ci) => {
      const list = cols.get(d);
      // Each column centred vertically, so the centre object sits mid-graph.
      const top = PAD + ((tallest - list.length) * (NODE_H + ROW_GAP)) / 2;
      list.forEach((n, i) => {
        n.x = PAD + ci * (NODE_W + COL_GAP);
        n.y = top + i * (NODE_H + ROW_GAP);
      });
    });
    const width = PAD * 2 + depths.length * (NODE_W + COL_GAP) - COL_GAP;
    return { width, height };
  }

  function shape(n) {
    const w = NODE_W;
    const h = NODE_H;
    switch (n.kind) {
      case 'source': // a pill: data arriving from outside dbt
        return s('rect', { class: 'lg-shape', width: w, height: h, rx: h / 2, ry: h / 2 });
      case 'seed': // a document with a folded corner: a CSV file
        return s('path', { class: 'lg-shape', d: `M0 0H${w - 12}L${w} 12V${h}H0Z M${w - 12} 0V12H${w}` });
      case 'snapshot': // a double frame: a history kept over time
        return s('g', null, s('rect', { class: 'lg-shape', width: w, height: h, rx: 2 }),
          s('rect', { class: 'lg-shape lg-inner', x: 3, y: 3, width: w - 6, height: h - 6, rx: 1 }));
      case 'exposure': // an arrow: where the data ends up
        return s('path', { class: 'lg-shape', d: `M0 0H${w - 14}L${w} ${h / 2}L${w - 14} ${h}H0Z` });
      default:
        return s('rect', { class: 'lg-shape', width: w, height: h, rx: 6 });
    }
  }

  function drawNode(n, center, hrefOf) {
    const kindText = n.kind === 'exposure' && n.exposure_type ? `exposure · ${n.exposure_type}` : n.kind;
    const st = n.kind === 'exposure' ? '' : state(n);
    const kindLine = clip(st ? `${kindText} · ${st}` : kindText, 25);
    const nameLine = clip(n.label, 19);
    // The accessible name starts with the words on the node, as shown
    // (a name cut short included), then what the picture adds.
    const full = n.label !== n.name ? `${n.label}, ${n.name}` : n.label;
    const label = `${kindLine} ${nameLine}${nameLine !== full ? ` (${full})` : ''}, ${where(n.depth)}`;
    const inner = [
      shape(n),
      // The space keeps the two lines two words apart in the text a
      // screen reader or a check reads off the node.
      s('text', { class: 'lg-kind', x: 10, y: 15 }, kindLine + ' '),
      s('text', { class: 'lg-name', x: 10, y: 32 }, nameLine),
      s('title', null, label),
    ];
    const cls = `lg-node lg-${n.kind}${n.key === center ? ' lg-center' : ''}${n.documented === false && n.kind !== 'exposure' ? ' lg-undocumented' : ''}`;
    const href = n.key === center || n.kind === 'exposure' ? null : hrefOf(n);
    const attrs = { class: cls, transform: `translate(${n.x},${n.y})`, 'data-key': n.key, 'data-kind': n.kind, 'data-depth': n.depth };
    if (href) return s('a', Object.assign(attrs, { href, 'aria-label': label }), inner);
    return s('g', Object.assign(attrs, { role: 'img', 'aria-label': label, 'aria-current': n.key === center ? 'page' : null }), inner);
  }

  function drawEdge(a, b) {
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const dx = Math.max(30, Math.abs(x2 - x1) / 2);
    return s('path', { class: 'lg-edge', d: `M${x1} ${y1}C${x1 + dx} ${y1} ${x2 - dx} ${y2} ${x2} ${y2}`, 'marker-end': 'url(#lg-arrow)' });
  }

  function draw(graph, up, down, hrefOf, title) {
    const { nodes, edges } = nodesOf(graph, up, down);
    const center = 'o' + graph.center;
    const size = layout(nodes, edges);
    const svg = s('svg', {
      class: 'lg-svg', width: size.width, height: size.height, viewBox: `0 0 ${size.width} ${size.height}`,
      role: 'group', 'aria-label': `Lineage of ${title}: ${nodes.size} objects, ${up} step${up === 1 ? '' : 's'} upstream and ${down} downstream`,
      'data-nodes': nodes.size, 'data-edges': edges.length,
    });
    svg.append(s('defs', null, s('marker', { id: 'lg-arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' },
      s('path', { class: 'lg-arrowhead', d: 'M0 0L8 4L0 8Z' }))));
    const g = s('g', { class: 'lg-edges', 'aria-hidden': 'true' });
    for (const [a, b] of edges) g.append(drawEdge(nodes.get(a), nodes.get(b)));
    svg.append(g);
    // Upstream first in the tab order, then the centre, then downstream,
    // each column top to bottom: the order the eye reads it in.
    const ordered = [...nodes.values()].sort((a, b) => a.depth - b.depth || a.row - b.row);
    for (const n of ordered) svg.append(drawNode(n, center, hrefOf));
    const c = nodes.get(center);
    return { svg, count: nodes.size, cx: c ? c.x + NODE_W / 2 : 0, cy: c ? c.y + NODE_H / 2 : 0 };
  }

  function legend() {
    return el('ul', { class: 'lg-legend', 'aria-label': 'Kinds of objects' }, KINDS.map((k) => el('li', null,
      s('svg', { width: 26, height: 16, viewBox: '0 0 26 16', 'aria-hidden': 'true', class: `lg-node lg-${k}` },
        k === 'source' ? s('rect', { class: 'lg-shape', x: 1, y: 1, width: 24, height: 14, rx: 7 })
          : k === 'seed' ? s('path', { class: 'lg-shape', d: 'M1 1H19L25 7V15H1Z' })
            : k === 'exposure' ? s('path', { class: 'lg-shape', d: 'M1 1H19L25 8L19 15H1Z' })
              : s('rect', { class: 'lg-shape', x: 1, y: 1, width: 24, height: 14, rx: k === 'snapshot' ? 1 : 3 })),
      ' ', k)));
  }

  function depthSelect(id, text, value, maxDepth, onchange) {
    const sel = el('select', { id, class: 'lg-depth', onchange }, Array.from({ length: maxDepth + 1 }, (_, i) => el('option', { value: i }, String(i))));
    sel.value = String(value);
    return el('span', { class: 'lg-field' }, el('label', { for: id }, text), ' ', sel);
  }

  // mount draws a lineage graph into container and keeps its depth
  // controls. opts: title (the centre's name); up and down (the depths
  // to start with); either load(up, down) → Promise of a graph (the
  // dashboard asks the API at each change) or graph (the site's graph,
  // computed at export: the controls then go no deeper than it does);
  // href(node) → the object's page, or node.href when absent; maxDepth.
  function mount(container, opts) {
    const fixed = opts.graph || null;
    const maxUp = fixed ? fixed.up : opts.maxDepth || 10;
    const maxDown = fixed ? fixed.down : opts.maxDepth || 10;
    let up = Math.min(opts.up === undefined ? 2 : opts.up, maxUp);
    let down = Math.min(opts.down === undefined ? 2 : opts.down, maxDown);
    const hrefOf = opts.href || ((n) => n.href || null);
    const idp = opts.idPrefix || 'lg';
    const status = el('p', { class: 'lg-status', id: `${idp}-status`, role: 'status' });
    const area = el('div', { class: 'lg-area', id: `${idp}-area` });
    let seq = 0;
    const refresh = async () => {
      const mine = ++seq;
      status.textContent = 'Drawing the lineage…';
      let graph;
      try {
        graph = fixed || (await opts.load(up, down));
      } catch (err) {
        if (mine !== seq) return;
        area.replaceChildren();
        status.textContent = `The lineage could not be loaded: ${err && err.message ? err.message : err}`;
        return;
      }
      if (mine !== seq) return;
      const { svg, count, cx, cy } = draw(graph, up, down, hrefOf, opts.title || '');
      area.replaceChildren(svg);
      // A hub's columns are taller than the view: start with the centre
      // object in sight.
      area.scrollTop = Math.max(0, cy - area.clientHeight / 2);
      area.scrollLeft = Math.max(0, cx - area.clientWidth / 2);
      let text = `${count} object${count === 1 ? '' : 's'} within ${up} step${up === 1 ? '' : 's'} upstream and ${down} downstream.`;
      if (graph.truncated) text += ' Only the nearest are shown: there are more within these depths.';
      status.textContent = text;
      status.classList.toggle('lg-truncated', !!graph.truncated);
    };
    const controls = el('div', { class: 'lg-controls' },
      depthSelect(`${idp}-up`, 'Upstream depth', up, maxUp, (e) => { up = Number(e.target.value); refresh(); }),
      depthSelect(`${idp}-down`, 'Downstream depth', down, maxDown, (e) => { down = Number(e.target.value); refresh(); }),
      legend());
    container.replaceChildren(controls, status, area);
    container.classList.add('lg');
    refresh();
    return { refresh };
  }

  const api = { mount, draw };
  globalThis.ModeldocLineage = api;

  // The static site: every element with data-lineage-graph carries its
  // graph as JSON, each node with its page in href.
  function boot() {
    for (const node of document.querySelectorAll('[data-lineage-graph]')) {
      let graph;
      try {
        graph = JSON.parse(node.getAttribute('data-lineage-graph'));
      } catch (err) {
        node.textContent = 'The lineage graph could not be read.';
        continue;
      }
      mount(node, { graph, title: node.getAttribute('data-title') || '', up: graph.up, down: graph.down, idPrefix: node.id || 'lg' });
    }
  }
  if (typeof document !== 'undefined') {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
    else boot();
  }
}());
