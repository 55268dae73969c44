// The new-job panel: options, a live estimate from POST /jobs/estimate
// whenever the selection or an option changes, and a start button that
// says what it will spend.
import { h, replace, fmtMoney, fmtTokens, fmtInt, errorBox } from '../dom.js';
import * as api from '../api.js';
import { LAYERS } from '../layers.js';
import { isAdmin } from '../session.js';

const OPTS_KEY = 'modeldoc.jobOptions';
const DEFAULT_MODELS = { openai: 'gpt-5-mini', anthropic: 'claude-haiku-4-5', offline: 'offline-v1' };

function savedOptions() {
  try {
    return JSON.parse(sessionStorage.getItem(OPTS_KEY) || '{}');
  } catch {
    return {};
  }
}

export function jobPanel({ selection }) {
  const s = savedOptions();
  let alive = true;
  let ctrl = null;
  let estimate = null;
  let estErr = null;
  let seq = 0;
  let starting = false;

  const layerBoxes = LAYERS.map(([name, title]) => {
    const id = `layer-${name}`;
    const box = h('input', { type: 'checkbox', id, value: name, checked: !s.layers || s.layers.includes(name) });
    return { box, el: h('div', { class: 'check' }, box, h('label', { for: id }, title)) };
  });
  const skip = h('input', { type: 'checkbox', id: 'opt-skip', checked: s.skip_existing ?? false });
  const stale = h('input', { type: 'checkbox', id: 'opt-stale', checked: s.only_stale ?? false });
  const retries = h('input', { type: 'number', id: 'opt-retries', min: 0, max: 10, step: 1, value: String(s.max_retries ?? 3) });
  const conc = h('input', { type: 'number', id: 'opt-concurrency', min: 1, max: 64, step: 1, value: String(s.concurrency ?? 4) });
  const provider = h('select', { id: 'opt-provider' }, Object.keys(DEFAULT_MODELS).map((p) => h('option', { value: p }, p)));
  provider.value = s.provider || 'openai';
  const model = h('input', { type: 'text', id: 'opt-model', value: s.model || '', placeholder: DEFAULT_MODELS[provider.value], autocomplete: 'off', spellcheck: 'false' });
  const baseURL = h('input', { type: 'url', id: 'opt-base-url', value: s.base_url || '', placeholder: 'https://api.openai.com/v1', autocomplete: 'off', spellcheck: 'false' });
  const budget = h('input', { type: 'number', id: 'opt-budget', min: 0, step: '0.01', value: s.budget ? String(s.budget) : '', placeholder: 'no limit' });
  const priceIn = h('input', { type: 'number', id: 'opt-price-in', min: 0, step: 'any', value: s.price_in != null ? String(s.price_in) : '', placeholder: 'from the price table' });
  const priceOut = h('input', { type: 'number', id: 'opt-price-out', min: 0, step: 'any', value: s.price_out != null ? String(s.price_out) : '', placeholder: 'from the price table' });
  const baseField = h('div', { class: 'field' }, h('label', { for: 'opt-base-url' }, 'Base URL (OpenAI-compatible servers)'), baseURL);

  const estBox = h('div', { class: 'estimate', id: 'estimate', 'aria-live': 'polite' });
  const costLine = h('div', { class: 'est-cost', id: 'est-cost-line', hidden: true });
  const startBtn = h('button', { type: 'submit', class: 'btn btn-primary btn-block', id: 'start-job', disabled: true }, 'Select models to document');
  const startErr = h('div');

  const field = (label, el, hint) => h('div', { class: 'field' }, h('label', { for: el.id }, label), el, hint ? h('small', { class: 'muted' }, hint) : null);
  const check = (el, label) => h('div', { class: 'check' }, el, h('label', { for: el.id }, label));

  const heading = h('h2', { id: 'new-job-title', tabindex: '-1' }, 'New job');
  const form = h('form', { class: 'job-form', id: 'job-form', 'aria-labelledby': 'new-job-title' },
    heading,
    // Who writes and what it may spend come first: they decide the cost,
    // and stay in view above the sticky footer on a laptop screen.
    h('div', { class: 'row2' }, field('Provider', provider), field('Model', model)),
    baseField,
    field('Budget (USD)', budget, 'The job pauses when it would spend more.'),
    h('fieldset', null, h('legend', null, 'Layers to write'), h('div', { class: 'checks' }, layerBoxes.map((l) => l.el))),
    h('fieldset', null, h('legend', null, 'Which models'),
      check(skip, 'Skip models that are already documented'),
      check(stale, 'Only models whose documentation is stale')),
    h('div', { class: 'row2' }, field('Max retries', retries), field('Concurrency', conc)),
    h('div', { class: 'row2' }, field('Price in (USD / 1M prompt tokens)', priceIn), field('Price out (USD / 1M completion tokens)', priceOut)),
    h('small', { class: 'muted' }, 'For a model without a known price (self-hosted, new): give both, or a budget is refused.'),
    estBox,
    h('div', { class: 'job-footer' }, costLine, startErr, startBtn));

  function body() {
    const layers = layerBoxes.filter((l) => l.box.checked).map((l) => l.box.value);
    const b = {
      selection: { object_ids: [...selection.keys()] },
      layers,
      skip_existing: skip.checked,
      only_stale: stale.checked,
      max_retries: Math.max(0, parseInt(retries.value, 10) || 0),
      concurrency: Math.max(1, parseInt(conc.value, 10) || 1),
      provider: provider.value,
      model: model.value.trim() || DEFAULT_MODELS[provider.value],
    };
    if (provider.value === 'openai' && baseURL.value.trim()) b.base_url = baseURL.value.trim();
    const bud = parseFloat(budget.value);
    if (bud > 0) b.budget = bud;
    const pin = parseFloat(priceIn.value);
    const pout = parseFloat(priceOut.value);
    if (pin >= 0 && pout >= 0) {
      b.price_in = pin;
      b.price_out = pout;
    }
    return b;
  }

  function save() {
    const b = body();
    delete b.selection;
    b.model = model.value.trim();
    b.base_url = baseURL.value.trim();
    sessionStorage.setItem(OPTS_KEY, JSON.stringify(b));
  }

  // key names the options an estimate was made for: an input and the
  // change that follows it on blur carry the same options, and must not
  // start a second estimate (which used to disable the button just as
  // the click that caused the blur landed on it).
  const key = () => JSON.stringify(body());
  let estKey = '';
  let pending = null; // the promise of the estimate being made, if any

  // blocked says why the job cannot start with the estimate in hand, or
  // '' when it can. While a new estimate is on its way the old one's
  // reasons do not count: a click waits for the new one and checks again.
  function blocked(loading) {
    if (!selection.size) return 'Select models to document';
    if (!layerBoxes.some((l) => l.box.checked)) return 'Choose a layer';
    if (estErr) return 'Cannot estimate';
    if (!isAdmin()) return 'Starting a job needs an admin token';
    if (!estimate || loading) return '';
    const todo = Number(estimate.to_document ?? estimate.total ?? selection.size);
    if (todo === 0) return 'Nothing to document';
    if (estimate.price_known === false && parseFloat(budget.value) > 0) return 'Give a price or remove the budget';
    return '';
  }

  function renderEstimate() {
    draw();
    if (starting) {
      startBtn.disabled = true;
      startBtn.textContent = 'Starting…';
    }
  }

  function draw() {
    const n = selection.size;
    baseField.hidden = provider.value !== 'openai';
    model.placeholder = DEFAULT_MODELS[provider.value];
    const loading = estKey !== key() || pending !== null;
    const why = blocked(loading);
    costLine.hidden = true;
    // While a new estimate is on its way the button stays usable: a
    // click waits for it and starts only if the fresh estimate allows.
    startBtn.disabled = why !== '' || (!estimate && !loading);
    startBtn.setAttribute('aria-busy', loading ? 'true' : 'false');
    if (!n) {
      replace(estBox, h('p', { class: 'muted' }, 'Select models on the left to see what documenting them costs.'));
      startBtn.textContent = why;
      return;
    }
    if (!layerBoxes.some((l) => l.box.checked)) {
      replace(estBox, h('p', { class: 'alert alert-warn' }, 'Choose at least one layer.'));
      startBtn.textContent = why;
      return;
    }
    if (estErr) {
      replace(estBox, errorBox(estErr));
      startBtn.textContent = why;
      return;
    }
    estBox.classList.toggle('loading', loading);
    if (!estimate) {
      replace(estBox, h('p', { class: 'muted' }, 'Estimating…'));
      startBtn.textContent = why || `Document ${n === 1 ? '1 model' : `${fmtInt(n)} models`}`;
      return;
    }
    const e = estimate;
    const todo = Number(e.to_document ?? e.total ?? n);
    const models = (k) => (k === 1 ? '1 model' : `${fmtInt(k)} models`);
    // price_known false: the 0 is unknown, not free.
    const unknown = e.price_known === false;
    const cost = unknown ? 'price unknown' : fmtMoney(e.estimated_cost);
    costLine.hidden = false;
    costLine.classList.toggle('loading', loading);
    replace(costLine, h('span', { class: 'muted' }, loading ? 'Estimated cost (updating)' : 'Estimated cost'), h('strong', { id: 'est-cost' }, cost));
    replace(estBox,
      h('h3', { class: 'small-title' }, 'Estimate'),
      h('dl', { class: 'est-grid' },
        h('dt', null, 'To document'), h('dd', { id: 'est-todo' }, models(todo)),
        h('dt', null, 'Skipped'), h('dd', { id: 'est-skipped' }, fmtInt(e.skipped)),
        h('dt', null, 'Calls'), h('dd', null, fmtInt(e.calls)),
        h('dt', null, 'Prompt tokens'), h('dd', { id: 'est-prompt' }, fmtTokens(e.estimated_prompt_tokens)),
        h('dt', null, 'Completion tokens'), h('dd', { id: 'est-completion' }, fmtTokens(e.estimated_completion_tokens)),
        h('dt', null, 'Model'), h('dd', null, `${e.provider || provider.value} · ${e.model || body().model}`)));
    const bud = parseFloat(budget.value);
    if (unknown) {
      estBox.append(h('p', { class: 'alert alert-warn', id: 'est-price-unknown' }, bud > 0
        ? `No price is known for ${e.provider || provider.value} model ${e.model || body().model}: a budget cannot hold. Give its price in and out, or remove the budget.`
        : `No price is known for ${e.provider || provider.value} model ${e.model || body().model}: the cost cannot be estimated or counted. Give its price in and out to know it.`));
    } else if (bud > 0 && Number(e.estimated_cost) > bud) {
      estBox.append(h('p', { class: 'alert alert-warn' }, `The estimate is above the budget of ${fmtMoney(bud)}: the job will pause when it reaches it.`));
    }
    startBtn.textContent = why || `Document ${models(todo)} · ${unknown ? 'price unknown' : `est. ${fmtMoney(e.estimated_cost)}`}`;
  }

  // runEstimate estimates the options as they are now, unless the last
  // estimate (made or on its way) was for the same options.
  function runEstimate() {
    if (!alive) return Promise.resolve();
    save();
    const k = key();
    if (k === estKey && (estimate || estErr || pending)) return pending || Promise.resolve();
    estKey = k;
    if (!selection.size || !layerBoxes.some((l) => l.box.checked)) {
      estimate = null;
      estErr = null;
      pending = null;
      renderEstimate();
      return Promise.resolve();
    }
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    const mine = ++seq;
    const p = (async () => {
      try {
        const e = await api.post('/jobs/estimate', body(), { signal: ctrl.signal });
        if (mine !== seq || !alive) return;
        estimate = e && e.estimate ? e.estimate : e;
        estErr = null;
      } catch (err) {
        if (err.name === 'AbortError' || mine !== seq) return;
        estimate = null;
        estErr = err;
      }
      pending = null;
      renderEstimate();
    })();
    pending = p;
    renderEstimate();
    return p;
  }
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; runEstimate(); }, 250);
  };
  const changed = () => {
    if (key() === estKey && (estimate || estErr || pending)) return;
    // The figures of other options would mislead: they stay on screen,
    // dimmed, only until the new ones arrive.
    estErr = null;
    renderEstimate();
    schedule();
  };

  // settle makes the estimate of the current options, now, and waits
  // until it is in (a click may come before the debounce fires).
  async function settle() {
    clearTimeout(timer);
    timer = null;
    for (;;) {
      const k = key();
      await runEstimate();
      if (!alive || (k === key() && !pending)) return;
    }
  }

  form.addEventListener('input', changed);
  form.addEventListener('change', changed);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (startBtn.disabled || starting) return;
    starting = true;
    replace(startErr);
    renderEstimate();
    let err = null;
    let started = false;
    try {
      await settle();
      if (alive && !blocked() && estimate) {
        const job = await api.post('/jobs', body());
        const j = job && job.job ? job.job : job;
        started = true;
        selection.clear();
        location.hash = `#/jobs/${encodeURIComponent(j.id)}`;
      }
    } catch (x) {
      err = x;
    }
    starting = false;
    if (!alive || started) return;
    renderEstimate();
    if (err) replace(startErr, errorBox(err));
  });

  renderEstimate();
  return {
    el: h('aside', { class: 'side-col card' }, form),
    update: changed,
    focus() {
      heading.scrollIntoView({ behavior: 'smooth', block: 'start' });
      heading.focus({ preventScroll: true });
    },
    destroy() {
      alive = false;
      clearTimeout(timer);
      if (ctrl) ctrl.abort();
    },
  };
}
