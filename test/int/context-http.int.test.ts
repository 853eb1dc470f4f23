import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry, OnEventContext } from '../../src/index.js';
import { type FakeProvider, startFakeProvider } from '../support/fake-provider.js';
import { fn } from '../support/functions.js';
import { engineFactory, testStores } from '../support/test-stores.js';

const TOKEN = 'tok-very-secret-4242';
type Exec = (nango: OnEventContext) => Promise<void>;

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(testStores)('provider HTTP under failure on $name', (store) => {
  const newEngine = engineFactory(store);
  let fake: FakeProvider;
  let elsewhere: FakeProvider;
  let probe: Exec = async () => {};
  let run: (exec: Exec) => Promise<{ state: string; outcome: HistoryEntry }>;

  beforeAll(async () => {
    fake = await startFakeProvider();
    elsewhere = await startFakeProvider();
    const engine = await newEngine({
      integrations: { fake: { baseUrl: `${fake.baseUrl}/api` } },
      functions: [fn('fake', 'probe', 'validate-connection', (nango) => probe(nango), { timeoutMs: 1500 })],
      http: { retryBaseMs: 5, retryMaxMs: 40, headersTimeoutMs: 500, bodyTimeoutMs: 500, maxResponseBytes: 256 * 1024 },
    });
    let n = 0;
    run = async (exec) => {
      probe = exec;
      const id = `c-${++n}`;
      const r = await engine.send(id, {
        type: 'CONNECT',
        integration: 'fake',
        credentials: { type: 'OAUTH2', access_token: TOKEN },
      });
      const outcome = (await engine.history(id)).find((h) => /^RUN_(SUCCEEDED|FAILED|TIMED_OUT)$/.test(h.type));
      if (!outcome) throw new Error('no run outcome recorded');
      return { state: r.state, outcome };
    };
  });
  afterAll(async () => {
    await fake.close();
    await elsewhere.close();
  });

  it('429 with Retry-After: waits at least what it asks, then succeeds; the retry is in the run log', async () => {
    fake.script('GET /api/limited', { status: 429, headers: { 'retry-after': '1' } }, { json: { ok: 1 } });
    let data: unknown;
    let waited = 0;
    const { outcome } = await run(async (nango) => {
      const started = Date.now();
      data = (await nango.get({ endpoint: '/limited', retries: 2 })).data;
      waited = Date.now() - started;
    });
    expect(outcome.type).toBe('RUN_SUCCEEDED');
    expect(data).toEqual({ ok: 1 });
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(outcome.data.logs).toEqual([
      expect.objectContaining({
        level: 'info',
        message: expect.stringMatching(/answered 429; retry 1 of 2 in 1000 ms/),
      }),
    ]);
  });

  it('503 then 200 succeeds with retries; without retries the 503 fails the run as script_http_error', async () => {
    fake.script('GET /api/flaky', { status: 503, json: { error: 'busy' } }, { status: 503 }, { json: { ok: 2 } });
    let data: unknown;
    const before = fake.requests.length;
    const ok = await run(async (nango) => {
      data = (await nango.get({ endpoint: '/flaky', retries: 3 })).data;
    });
    expect(ok.outcome.type).toBe('RUN_SUCCEEDED');
    expect(data).toEqual({ ok: 2 });
    expect(fake.requests.length - before).toBe(3);

    fake.script('GET /api/down', { status: 503, json: { error: 'busy' } });
    const failed = await run(async (nango) => {
      await nango.get({ endpoint: '/down' });
    });
    expect(failed.state).toBe('deleted');
    expect(failed.outcome.data.error).toEqual({
      type: 'script_http_error',
      message: 'Connection failed validation',
      status: 503,
      body: { error: 'busy' },
    });
  });

  it('retries retryOn statuses, but never a 4xx that is not listed', async () => {
    fake.script('POST /api/conflict', { status: 409 }, { status: 201, json: { id: 'x' } });
    let status = 0;
    await run(async (nango) => {
      status = (await nango.post({ endpoint: '/conflict', data: {}, retries: 1, retryOn: [409] })).status;
    });
    expect(status).toBe(201);
    fake.script('GET /api/missing', { status: 404, json: { error: 'nope' } }, { json: { ok: true } });
    const before = fake.requests.length;
    const { outcome } = await run(async (nango) => {
      await nango.get({ endpoint: '/missing', retries: 3 });
    });
    expect(outcome.data.error).toMatchObject({ type: 'script_http_error', status: 404 });
    expect(fake.requests.length - before).toBe(1);
  });

  it('a connection reset is retried; unretried it fails with a readable network error', async () => {
    fake.script('GET /api/reset', { reset: true }, { json: { ok: 3 } });
    let data: unknown;
    expect(
      (
        await run(async (nango) => {
          data = (await nango.get({ endpoint: '/reset', retries: 1 })).data;
        })
      ).outcome.type,
    ).toBe('RUN_SUCCEEDED');
    expect(data).toEqual({ ok: 3 });

    fake.script('GET /api/always-reset', { reset: true });
    const { outcome } = await run(async (nango) => {
      await nango.get({ endpoint: '/always-reset' });
    });
    expect(outcome.data.error).toMatchObject({
      type: 'script_internal_error',
      payload: { name: 'LifelineError', message: expect.stringMatching(/closed the connection|reset the connection/) },
    });
  });

  it('slow headers and a stalled body hit their timeouts (retried when asked)', async () => {
    fake.script('GET /api/slow-headers', { delayMs: 2000 }, { json: { ok: 4 } });
    let data: unknown;
    await run(async (nango) => {
      data = (await nango.get({ endpoint: '/slow-headers', retries: 2 })).data;
    });
    expect(data).toEqual({ ok: 4 });

    fake.script('GET /api/always-slow', { delayMs: 2000 });
    const headers = await run(async (nango) => {
      await nango.get({ endpoint: '/always-slow' });
    });
    expect(headers.outcome.data.error).toMatchObject({
      payload: { message: expect.stringContaining('no response headers within 500 ms (headersTimeoutMs)') },
    });

    fake.script('GET /api/slow-body', { stallBodyMs: 2000 });
    const body = await run(async (nango) => {
      await nango.get({ endpoint: '/slow-body' });
    });
    expect(body.outcome.data.error).toMatchObject({
      payload: { message: expect.stringContaining('stalled for more than 500 ms (bodyTimeoutMs)') },
    });
  });

  it('follows a same-host redirect with credentials, refuses one to another host and sends it nothing', async () => {
    fake.script('GET /api/moved', { redirect: '/api/here', status: 301 });
    fake.script('GET /api/here', { json: { here: true } });
    let data: unknown;
    await run(async (nango) => {
      data = (await nango.get({ endpoint: '/moved' })).data;
    });
    expect(data).toEqual({ here: true });
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`);

    fake.script('GET /api/away', { redirect: `${elsewhere.baseUrl}/steal` });
    const { outcome } = await run(async (nango) => {
      await nango.get({ endpoint: '/away' });
    });
    expect(outcome.data.error).toMatchObject({
      payload: { message: expect.stringContaining(`redirected (302) to another host ${elsewhere.origin}`) },
    });
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('refuses an absolute endpoint to another host and a non-http protocol before sending anything', async () => {
    const codes: string[] = [];
    await run(async (nango) => {
      for (const endpoint of [`${elsewhere.baseUrl}/x`, 'file:///etc/passwd', '//evil.example/x']) {
        await nango.get({ endpoint }).catch((e) => codes.push(e.code));
      }
    });
    expect(codes).toEqual(['outbound_refused', 'outbound_refused', 'outbound_refused']);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('a huge body is refused past maxResponseBytes, yet streams whole with responseType stream', async () => {
    fake.script('GET /api/huge', { hugeBytes: 2 * 1024 * 1024 });
    const { outcome } = await run(async (nango) => {
      await nango.get({ endpoint: '/huge' });
    });
    expect(outcome.data.error).toMatchObject({
      payload: { message: expect.stringContaining('larger than maxResponseBytes (262144 bytes)') },
    });
    let streamed = 0;
    await run(async (nango) => {
      const res = await nango.get({ endpoint: '/huge', responseType: 'stream' });
      for await (const chunk of res.data) streamed += (chunk as Buffer).length;
    });
    expect(streamed).toBe(2 * 1024 * 1024);
  });

  it('invalid JSON: the raw text by default (with a warning in the run log), an error when json is asked', async () => {
    fake.script('GET /api/broken', { invalidJson: true });
    let data: unknown;
    const lenient = await run(async (nango) => {
      data = (await nango.get({ endpoint: '/broken' })).data;
    });
    expect(data).toBe('{"id": 1, oops');
    expect(lenient.outcome.data.logs).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('is not valid JSON') }),
    ]);
    const strict = await run(async (nango) => {
      await nango.get({ endpoint: '/broken', responseType: 'json' });
    });
    expect(strict.outcome.data.error).toMatchObject({
      payload: { message: expect.stringContaining("responseType 'json' was asked but the body is not valid JSON") },
    });
  });

  it('the run timeout aborts the request in flight', async () => {
    fake.script('GET /api/forever', { delayMs: 5000 });
    const { outcome } = await run(async (nango) => {
      await nango.get({ endpoint: '/forever', retries: 5 });
    });
    expect(outcome.type).toBe('RUN_TIMED_OUT');
    expect(outcome.data.error).toMatchObject({ type: 'execution_timeout' });
    const request = fake.requests.filter((r) => r.path === '/api/forever').at(-1);
    await until(() => request?.closedEarly === true);
  });

  it('pools keep-alive connections: sequential calls reuse sockets instead of opening one each', async () => {
    fake.script('GET /api/ping', { json: { pong: true } });
    const opened = fake.connections();
    await run(async (nango) => {
      for (let i = 0; i < 8; i++) await nango.get({ endpoint: '/ping' });
    });
    const ports = fake.requests.filter((r) => r.path === '/api/ping').map((r) => r.clientPort);
    expect(ports).toHaveLength(8);
    expect(new Set(ports).size).toBeLessThanOrEqual(2);
    expect(fake.connections() - opened).toBeLessThanOrEqual(2);
  });

  it('sends params, headers and every kind of data as given', async () => {
    fake.route('/api/echo', (req) => ({ json: { ok: true, seen: req.body.length } }));
    await run(async (nango) => {
      await nango.get({ endpoint: '/echo', params: { q: 'a b', id: [1, 2] }, headers: { 'X-Trace': 't1' } });
      await nango.post({ endpoint: 'echo', data: { hello: 'world' } });
      await nango.put({ endpoint: '/echo', data: 'plain text', headers: { 'content-type': 'text/plain' } });
      await nango.patch({ endpoint: '/echo', data: Buffer.from([1, 2, 3]) });
      await nango.proxy({ method: 'POST', endpoint: '/echo', data: new URLSearchParams({ a: '1', b: '2' }) });
      await nango.delete({ endpoint: '/echo', params: 'x=1&y=2' });
    });
    const seen = fake.requests.filter((r) => r.path === '/api/echo').slice(-6);
    expect(seen.map((r) => r.method)).toEqual(['GET', 'POST', 'PUT', 'PATCH', 'POST', 'DELETE']);
    expect(seen[0]?.query).toEqual({ q: 'a b', id: ['1', '2'] });
    expect(seen[0]?.headers['x-trace']).toBe('t1');
    expect(seen[1]?.json).toEqual({ hello: 'world' });
    expect(seen[1]?.headers['content-type']).toBe('application/json');
    expect(seen[2]?.body).toBe('plain text');
    expect(seen[2]?.headers['content-type']).toBe('text/plain');
    expect(Buffer.from(seen[3]?.body ?? '')).toEqual(Buffer.from([1, 2, 3]));
    expect(seen[4]?.body).toBe('a=1&b=2');
    expect(seen[4]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(seen[5]?.query).toEqual({ x: '1', y: '2' });
    for (const r of seen) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('responseType text, arraybuffer and stream; gzip decoded unless decompress is false', async () => {
    fake.script('GET /api/zipped', { json: { zipped: true }, gzip: true });
    const got: Record<string, unknown> = {};
    await run(async (nango) => {
      got.json = (await nango.get({ endpoint: '/zipped' })).data;
      got.text = (await nango.get({ endpoint: '/zipped', responseType: 'text' })).data;
      const raw = (await nango.get({ endpoint: '/zipped', responseType: 'arraybuffer', decompress: false })).data;
      got.rawIsGzip = Buffer.isBuffer(raw) && raw[0] === 0x1f && raw[1] === 0x8b;
      const stream = (await nango.get({ endpoint: '/zipped', responseType: 'stream' })).data;
      let text = '';
      for await (const chunk of stream) text += chunk.toString();
      got.stream = text;
    });
    expect(got).toEqual({
      json: { zipped: true },
      text: '{"zipped":true}',
      rawIsGzip: true,
      stream: '{"zipped":true}',
    });
    expect(fake.requests.at(-1)?.headers['accept-encoding']).toBe('gzip, deflate, br');
  });

  it('never lets the token reach the log: error messages, HTTP bodies and log lines are redacted', async () => {
    fake.route('/api/echo-auth', (req) => ({ status: 400, json: { error: `bad ${req.headers.authorization}` } }));
    const { outcome } = await run(async (nango) => {
      nango.log('below the default functionLogLevel', { level: 'debug' });
      nango.log('token is', TOKEN);
      await nango.get({ endpoint: '/echo-auth' });
    });
    const recorded = JSON.stringify(outcome.data);
    expect(recorded).not.toContain(TOKEN);
    expect(outcome.data.error).toMatchObject({ status: 400, body: { error: 'bad Bearer [REDACTED]' } });
    expect(outcome.data.logs).toEqual([expect.objectContaining({ message: 'token is [REDACTED]' })]);
  });
});
