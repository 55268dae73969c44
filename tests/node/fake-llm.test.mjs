// Conformance of `modeldoc fake-llm` with the official OpenAI Node client:
// if the real client parses its answers and classifies its errors as it
// does against api.openai.com, the fake speaks the real protocol.
//
// Run: MODELDOC_BIN=/path/to/modeldoc node --test tests/node/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import OpenAI from 'openai';

const bin = process.env.MODELDOC_BIN;
const apiKey = 'sk-test-0123456789abcdef';
let child;
let baseURL; // http://127.0.0.1:PORT/v1
let root; // http://127.0.0.1:PORT

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['summary', 'cards'],
  properties: {
    summary: { type: 'string' },
    cards: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['stepNumber', 'title'],
        properties: { stepNumber: { type: 'integer' }, title: { type: 'string' } },
      },
    },
  },
};

const messages = [
  { role: 'system', content: 'You document dbt models for business readers.' },
  { role: 'user', content: '# Model: fct_orders\n\n## Columns (2)\n- order_id (integer)\n- amount_usd (numeric)\n' },
];

function client(key = apiKey) {
  return new OpenAI({ apiKey: key, baseURL, maxRetries: 0, timeout: 10_000 });
}

async function control(body) {
  const res = await fetch(`${root}/control`, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('the request should have failed');
}

before(async () => {
  assert.ok(bin, 'set MODELDOC_BIN to the modeldoc binary');
  child = spawn(bin, ['fake-llm', '--addr', '127.0.0.1:0', '--api-key', apiKey, '--seed', '42'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  baseURL = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fake-llm printed no base URL in 20s: ${out}`)), 20_000);
    child.on('exit', (code) => reject(new Error(`fake-llm exited with ${code}: ${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/base URL: (http:\/\/\S+\/v1)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  root = baseURL.replace(/\/v1$/, '');
});

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

test('json_schema completion parses and reports usage', async () => {
  const completion = await client().chat.completions.create({
    model: 'gpt-4o-mini',
    messages,
    response_format: { type: 'json_schema', json_schema: { name: 'cards', strict: true, schema } },
    max_completion_tokens: 2000,
  });
  assert.match(completion.id, /^chatcmpl-/);
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.equal(completion.choices[0].message.role, 'assistant');
  const answer = JSON.parse(completion.choices[0].message.content);
  assert.equal(typeof answer.summary, 'string');
  assert.ok(answer.summary.includes('fct_orders'), answer.summary);
  assert.ok(Array.isArray(answer.cards) && answer.cards.length > 0);
  const u = completion.usage;
  assert.ok(u.prompt_tokens > 20, JSON.stringify(u));
  assert.ok(u.completion_tokens > 0);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.equal(typeof u.prompt_tokens_details.cached_tokens, 'number');
  assert.equal(typeof u.completion_tokens_details.reasoning_tokens, 'number');
});

test('structured output through chat.completions.parse', async () => {
  const completion = await client().chat.completions.parse({
    model: 'gpt-4o-mini',
    messages,
    response_format: { type: 'json_schema', json_schema: { name: 'cards', strict: true, schema } },
  });
  const parsed = completion.choices[0].message.parsed;
  assert.ok(parsed && typeof parsed.summary === 'string', JSON.stringify(completion.choices[0].message));
  assert.equal(parsed.cards[0].stepNumber, 1);
});

test('withResponse exposes the x-ratelimit headers of a success', async () => {
  await control({ rpm: 6000, tpm: 1_000_000 });
  try {
    const { response } = await client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages })
      .withResponse();
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '6000');
    assert.equal(response.headers.get('x-ratelimit-limit-tokens'), '1000000');
    assert.ok(response.headers.get('x-ratelimit-remaining-tokens'));
    assert.match(response.headers.get('x-ratelimit-reset-requests'), /^\d+(\.\d+)?(ms|s)$/);
  } finally {
    await control({ rpm: 0, tpm: 0 });
  }
});

test('429 rate limit raises RateLimitError with retry-after and x-ratelimit headers', async () => {
  await control({ rpm: 60 }); // one request a second
  try {
    const c = client();
    const first = await rejection(
      Promise.all([
        c.chat.completions.create({ model: 'gpt-4o-mini', messages }),
        c.chat.completions.create({ model: 'gpt-4o-mini', messages }),
        c.chat.completions.create({ model: 'gpt-4o-mini', messages }),
      ]),
    );
    assert.ok(first instanceof OpenAI.RateLimitError, `${first}`);
    assert.equal(first.status, 429);
    assert.equal(first.code, 'rate_limit_exceeded');
    assert.equal(first.type, 'requests');
    assert.match(first.message, /Rate limit reached for gpt-4o-mini .* on requests per min \(RPM\): Limit 60/);
    assert.ok(Number(first.headers.get('retry-after')) >= 1);
    assert.ok(Number(first.headers.get('retry-after-ms')) > 0);
    assert.equal(first.headers.get('x-ratelimit-limit-requests'), '60');
    assert.ok(first.headers.get('x-ratelimit-remaining-requests') !== null);
    assert.match(first.headers.get('x-ratelimit-reset-requests'), /^\d+(\.\d+)?(ms|s)$/);
  } finally {
    await control({ rpm: 0 });
  }
});

test('insufficient_quota raises with code insufficient_quota', async () => {
  await control({ quota: true });
  try {
    const err = await rejection(client().chat.completions.create({ model: 'gpt-4o-mini', messages }));
    assert.ok(err instanceof OpenAI.RateLimitError, `${err}`);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'insufficient_quota');
    assert.equal(err.type, 'insufficient_quota');
    assert.match(err.message, /You exceeded your current quota/);
  } finally {
    await control({ quota: false });
  }
});

test('a wrong key raises AuthenticationError', async () => {
  const err = await rejection(client('sk-wrong-key-000000').chat.completions.create({ model: 'gpt-4o-mini', messages }));
  assert.ok(err instanceof OpenAI.AuthenticationError, `${err}`);
  assert.equal(err.status, 401);
  assert.equal(err.code, 'invalid_api_key');
});

test('auth_fail raises AuthenticationError even with the right key', async () => {
  await control({ auth_fail: true });
  try {
    const err = await rejection(client().chat.completions.create({ model: 'gpt-4o-mini', messages }));
    assert.ok(err instanceof OpenAI.AuthenticationError, `${err}`);
    assert.equal(err.code, 'invalid_api_key');
  } finally {
    await control({ auth_fail: false });
  }
});

test('fail_rate 1 raises InternalServerError', async () => {
  await control({ fail_rate: 1 });
  try {
    const err = await rejection(client().chat.completions.create({ model: 'gpt-4o-mini', messages }));
    assert.ok(err instanceof OpenAI.InternalServerError, `${err}`);
    assert.equal(err.status, 500);
    assert.equal(err.type, 'server_error');
  } finally {
    await control({ fail_rate: 0 });
  }
});

test('a hanging request ends with the client timeout', async () => {
  await control({ timeout_rate: 1 });
  try {
    const c = new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout: 300 });
    const err = await rejection(c.chat.completions.create({ model: 'gpt-4o-mini', messages }));
    assert.ok(err instanceof OpenAI.APIConnectionTimeoutError, `${err}`);
  } finally {
    await control({ timeout_rate: 0 });
  }
});

test('truncated output has finish_reason length', async () => {
  await control({ truncate_rate: 1 });
  try {
    const completion = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'cards', strict: true, schema } },
    });
    assert.equal(completion.choices[0].finish_reason, 'length');
    assert.throws(() => JSON.parse(completion.choices[0].message.content));
  } finally {
    await control({ truncate_rate: 0 });
  }
});

test('a reasoning model refuses max_tokens and temperature as OpenAI does', async () => {
  let err = await rejection(client().chat.completions.create({ model: 'gpt-5-mini', messages, max_tokens: 830 }));
  assert.ok(err instanceof OpenAI.BadRequestError, `${err}`);
  assert.equal(err.status, 400);
  assert.equal(err.code, 'unsupported_parameter');
  assert.equal(err.param, 'max_tokens');
  assert.match(err.message, /'max_tokens' is not supported with this model\. Use 'max_completion_tokens' instead\./);
  err = await rejection(client().chat.completions.create({ model: 'gpt-5-mini', messages, temperature: 0.2 }));
  assert.ok(err instanceof OpenAI.BadRequestError, `${err}`);
  assert.equal(err.code, 'unsupported_value');
  assert.equal(err.param, 'temperature');
});

test('a reasoning model reports reasoning tokens and comes back empty when they use the cap', async () => {
  await control({ reasoning_tokens: { low: 500 } });
  const ask = (cap) => client().chat.completions.create({
    model: 'gpt-5-mini',
    messages,
    reasoning_effort: 'low',
    max_completion_tokens: cap,
    response_format: { type: 'json_schema', json_schema: { name: 'cards', strict: true, schema } },
  });
  let completion = await ask(4000);
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.equal(completion.usage.completion_tokens_details.reasoning_tokens, 500);
  assert.ok(completion.usage.completion_tokens > 500);
  JSON.parse(completion.choices[0].message.content);
  completion = await ask(300);
  assert.equal(completion.choices[0].finish_reason, 'length');
  assert.equal(completion.choices[0].message.content, '');
  assert.equal(completion.usage.completion_tokens, 300);
  assert.equal(completion.usage.completion_tokens_details.reasoning_tokens, 300);
});

test('/stats counts what was served', async () => {
  const stats = await (await fetch(`${root}/stats`)).json();
  for (const key of ['requests', 'rate_limited', 'faults', 'prompt_tokens', 'completion_tokens']) {
    assert.equal(typeof stats[key], 'number', key);
  }
  assert.ok(stats.rate_limited >= 1, JSON.stringify(stats));
  assert.ok(stats.faults >= 4, JSON.stringify(stats));
  assert.ok(stats.prompt_tokens > 0 && stats.completion_tokens > 0);
});
