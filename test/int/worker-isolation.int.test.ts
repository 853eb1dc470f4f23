import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSalesforce, startFakeSalesforce } from '../../demo/fake-salesforce.js';
import { bundleOf } from '../../src/functions/load-functions.js';
import { type Engine, type HistoryEntry, type LoadedFunction, loadFunctions } from '../../src/index.js';
import { type FakeProvider, startFakeProvider } from '../support/fake-provider.js';
import { engineFactory, pgliteStore } from '../support/test-stores.js';

/**
 * Folder-loaded functions run in worker threads by default: a function that never yields, ignores
 * its abort signal or eats memory is stopped without freezing the engine, and everything else —
 * the context, the error shapes — behaves as it does inline.
 */
const validator = (body: string, extra = '') => `
import { createOnEvent } from 'nango';
import * as z from 'zod';
export default createOnEvent({
  event: 'validate-connection',
  ${extra}
  exec: async (nango) => {
${body}
  },
});
`;

const FILES: Record<string, string> = {
  'index.ts': ['ok', 'busy', 'deaf', 'bomb', 'crash', 'errors', 'surface']
    .map((i) => `import './${i}/on-events/validate-connection';`)
    .join('\n'),
  'ok/on-events/validate-connection.ts': validator(`    await nango.updateMetadata({ checked: true });`),
  'busy/on-events/validate-connection.ts': validator(
    `    await nango.updateMetadata({ looping: true });
    for (;;) {}`,
    'timeoutMs: 3000,',
  ),
  'deaf/on-events/validate-connection.ts': validator(
    `    // Ignores nango.abortSignal: keeps calling the provider until it is stopped.
    for (;;) {
      await nango.get({ endpoint: '/tick' }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }`,
    'timeoutMs: 600,',
  ),
  'bomb/on-events/validate-connection.ts': validator(`    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(100_000).fill(hoard.length));`),
  'crash/on-events/validate-connection.ts':
    validator(`    setTimeout(() => { throw new RangeError('thrown where nothing awaits'); }, 0);
    await new Promise((resolve) => setTimeout(resolve, 5_000));`),
  'errors/on-events/validate-connection.ts':
    validator(`    const { mode } = await nango.getMetadata<{ mode: string }>();
    if (mode === 'action') throw new nango.ActionError({ message: 'Not an admin', code: 42, nested: { ok: false } });
    if (mode === 'action-string') throw new nango.ActionError('just text');
    if (mode === 'http') await nango.get({ endpoint: '/missing' });
    if (mode === 'type') throw new TypeError('bad type');
    if (mode === 'string') throw 'a plain string';
    if (mode === 'object') throw { some: 'object' };
    if (mode === 'caught') {
      try {
        await nango.get({ endpoint: '/missing' });
      } catch (e: any) {
        const made = new nango.ActionError({ message: 'inner' });
        throw new nango.ActionError({
          message: 'caught',
          name: e.name,
          code: e.code,
          isError: e instanceof Error,
          status: e.status,
          responseStatus: e.response?.status,
          data: e.response?.data,
          body: e.body,
          madeIsActionError: made instanceof nango.ActionError && made instanceof Error,
        });
      }
    }
    if (mode === 'caught-action') {
      try {
        await nango.setMetadata('not an object' as any);
      } catch (e: any) {
        throw new nango.ActionError({ message: 'schema', code: e.code, name: e.name, isError: e instanceof Error });
      }
    }`),
  'surface/on-events/validate-connection.ts': validator(
    `    const report: Record<string, unknown> = {};
    const [env] = await nango.getEnvironmentVariables();
    const origin = env?.value as string;
    nango.log('hello', { n: 1 }, { level: 'warn' });
    nango.log('100%% sure');
    await nango.setMetadata({ a: 1 });
    await nango.updateMetadata({ b: 'two' });
    report.meta = await nango.getMetadata();
    const me = await nango.get({ endpoint: '/me', params: { x: '1' } });
    report.me = [me.status, me.data];
    const raw = await nango.post({ endpoint: '/echo', data: Buffer.from('raw-bytes') });
    report.raw = raw.data;
    const form = await nango.post({ endpoint: '/echo', data: new URLSearchParams({ q: 'a b' }) });
    report.form = form.data;
    const bin = await nango.get({ endpoint: '/me', responseType: 'arraybuffer' });
    report.bin = [Buffer.isBuffer(bin.data), bin.data.toString('utf8')];
    const pages: unknown[] = [];
    const states: unknown[] = [];
    const config = {
      endpoint: '/items',
      paginate: {
        type: 'offset' as const,
        offset_name_in_request: 'offset',
        limit_name_in_request: 'limit',
        limit: 2,
        response_path: 'items',
        on_page: ({ nextPageParam }: { nextPageParam?: unknown }) => { states.push(nextPageParam); },
      },
    };
    for await (const page of nango.paginate(config)) pages.push(page);
    report.pages = pages;
    report.states = states;
    for await (const page of nango.paginate(config)) {
      report.firstPage = page;
      break;
    }
    try {
      nango.paginate({ endpoint: '/items', connectionId: 'someone-else' });
    } catch (e: any) {
      report.paginateOther = e.code;
    }
    const stream = await nango.get({ endpoint: '/me', responseType: 'stream' });
    let text = '';
    for await (const chunk of stream.data) text += chunk.toString();
    report.streamed = JSON.parse(text);
    const fetched = await nango.uncontrolledFetch({ url: new URL('/me', origin) });
    report.fetched = [fetched.status, fetched.headers.get('content-type'), await fetched.json()];
    report.connection = (await nango.getConnection()).connection_id;
    report.token = await nango.getToken();
    report.webhook = await nango.getWebhookURL();
    report.integration = (await nango.getIntegration()).unique_key;
    report.who = [nango.connectionId, nango.providerConfigKey, nango.provider, nango.environmentName];
    try {
      (nango as any).batchSave([], 'Contact');
    } catch (e: any) {
      report.notAvailable = e.code;
    }
    try {
      await nango.setMetadata({ a: 'not a number' } as any);
    } catch (e: any) {
      report.schema = e.code;
    }
    report.lock = [await nango.tryAcquireLock({ key: 'k', ttlMs: 10_000 }), await nango.releaseLock({ key: 'k' })];
    report.aborted = nango.abortSignal.aborted;
    await nango.updateMetadata({ report });`,
    'metadata: z.object({ a: z.number().optional(), b: z.string().optional(), report: z.any().optional() }),',
  ),
};

const oauth = { type: 'OAUTH2' as const, access_token: 'tok-1' };
const ITEMS = ['i1', 'i2', 'i3', 'i4', 'i5'];

let folder: string;
let functions: LoadedFunction[];
let fake: FakeProvider;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'lifeline-worker-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), text);
  }
  functions = await loadFunctions(folder);
  fake = await startFakeProvider();
  fake.route('GET /me', () => ({ json: { id: 'me-1' } }));
  fake.route('POST /echo', (req) => ({ json: { body: req.body, type: req.headers['content-type'] ?? null } }));
  fake.route('GET /items', (req) => {
    const offset = Number(req.query.offset);
    return { json: { items: ITEMS.slice(offset, offset + Number(req.query.limit)) } };
  });
  fake.route('GET /missing', () => ({ status: 404, json: { error: 'gone', detail: 'no such thing' } }));
  fake.route('GET /tick', () => ({ json: { ok: true } }));
});
afterAll(async () => {
  await fake?.close();
  rmSync(folder, { recursive: true, force: true });
});

const newEngine = engineFactory(pgliteStore);

function integrations() {
  const config = { baseUrl: fake.baseUrl, webhookUrl: 'https://hooks.example.test/wh' };
  return Object.fromEntries(['ok', 'busy', 'deaf', 'bomb', 'crash', 'errors', 'surface'].map((i) => [i, config]));
}

function engineWith(options: { isolation?: 'worker' | 'inline'; heapMb?: number } = {}) {
  return newEngine({
    functions,
    integrations: integrations(),
    environmentVariables: { FAKE_ORIGIN: fake.origin },
    ...(options.isolation ? { isolation: options.isolation } : {}),
    ...(options.heapMb ? { workerLimits: { maxOldGenerationSizeMb: options.heapMb } } : {}),
  });
}

function runRecord(history: HistoryEntry[]): HistoryEntry {
  const record = history.find((h) => ['RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_TIMED_OUT'].includes(h.type));
  if (!record) throw new Error(`no run outcome in ${history.map((h) => h.type).join(', ')}`);
  return record;
}

describe('worker isolation', () => {
  it('folder-loaded functions can run in a worker; functions given in code, or re-wrapped, cannot', () => {
    const ok = functions.find((f) => f.integration === 'ok') as LoadedFunction;
    expect(bundleOf(ok)).toMatchObject({ file: expect.stringMatching(/\.mjs$/), index: 0 });
    expect(bundleOf({ ...ok })).toEqual(ok.bundle);
    const wrapped = { ...ok, definition: { ...ok.definition, exec: async () => undefined } };
    expect(bundleOf(wrapped)).toBeUndefined();
  });

  it('a busy loop times out (execution_timeout) while another connection connects on the same engine', async () => {
    const engine = await engineWith();
    const order: string[] = [];
    const busy = engine.send('busy-1', { type: 'CONNECT', integration: 'busy', credentials: oauth }).then((r) => {
      order.push('busy');
      return r;
    });
    // Let the busy function start looping (its worker is running `for (;;) {}`).
    for (let i = 0; i < 100 && !(await engine.getConnection('busy-1'))?.metadata.looping; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await engine.getConnection('busy-1'))?.metadata).toEqual({ looping: true });
    const ok = await engine.send('ok-1', { type: 'CONNECT', integration: 'ok', credentials: oauth });
    order.push('ok');
    expect(ok.state).toBe('active');
    expect((await engine.getConnection('ok-1'))?.metadata).toEqual({ checked: true });

    const timedOut = await busy;
    expect(order).toEqual(['ok', 'busy']);
    expect(timedOut.state).toBe('deleted');
    const run = runRecord(await engine.history('busy-1'));
    expect(run.type).toBe('RUN_TIMED_OUT');
    expect(run.data.error).toMatchObject({ type: 'execution_timeout', payload: { timeoutMs: 3000 } });
  });

  it('a function that ignores its abort signal is stopped: it makes no call after its timeout', async () => {
    const engine = await engineWith();
    const r = await engine.send('deaf-1', { type: 'CONNECT', integration: 'deaf', credentials: oauth });
    expect(r.state).toBe('deleted');
    expect(runRecord(await engine.history('deaf-1')).data.error).toMatchObject({ type: 'execution_timeout' });
    const ticks = () => fake.requests.filter((q) => q.path === '/tick').length;
    // A request the worker sent just before it was terminated may still land; let it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = ticks();
    expect(after).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ticks()).toBe(after);
  });

  it('a memory bomb fails as script_internal_error, and the engine goes on', async () => {
    const engine = await engineWith({ heapMb: 48 });
    const r = await engine.send('bomb-1', { type: 'CONNECT', integration: 'bomb', credentials: oauth });
    expect(r.state).toBe('deleted');
    const run = runRecord(await engine.history('bomb-1'));
    expect(run.type).toBe('RUN_FAILED');
    expect(run.data.error).toMatchObject({
      type: 'script_internal_error',
      payload: { name: 'WorkerOutOfMemoryError', message: expect.stringContaining('48 MB') },
    });
    const ok = await engine.send('ok-2', { type: 'CONNECT', integration: 'ok', credentials: oauth });
    expect(ok.state).toBe('active');
  });

  it('an error thrown where nothing awaits it fails the run, not the process', async () => {
    const engine = await engineWith();
    const r = await engine.send('crash-1', { type: 'CONNECT', integration: 'crash', credentials: oauth });
    expect(r.state).toBe('deleted');
    expect(runRecord(await engine.history('crash-1')).data.error).toMatchObject({
      type: 'script_internal_error',
      payload: { name: 'RangeError', message: 'thrown where nothing awaits' },
    });
  });

  it('error shapes are the same in a worker as inline', async () => {
    const worker = await engineWith();
    const inline = await engineWith({ isolation: 'inline' });
    const modes = ['action', 'action-string', 'http', 'type', 'string', 'object', 'caught', 'caught-action'];
    const outcomes = async (engine: Engine) => {
      const out: Record<string, unknown> = {};
      for (const mode of modes) {
        const id = `err-${mode}`;
        const r = await engine.send(id, {
          type: 'CONNECT',
          integration: 'errors',
          credentials: oauth,
          metadata: { mode },
        });
        out[mode] = { error: r.error, run: runRecord(await engine.history(id)).data.error };
      }
      return out;
    };
    const inWorker = await outcomes(worker);
    expect(inWorker).toEqual(await outcomes(inline));
    expect(inWorker).toMatchObject({
      action: {
        error: { type: 'connection_validation_failed', message: 'Not an admin' },
        run: { type: 'action_script_runtime_error', payload: { code: 42, nested: { ok: false } } },
      },
      'action-string': { run: { type: 'action_script_runtime_error', payload: { message: 'just text' } } },
      http: { run: { type: 'script_http_error', status: 404, body: { error: 'gone', detail: 'no such thing' } } },
      type: { run: { type: 'script_internal_error', payload: { name: 'TypeError', message: 'bad type' } } },
      string: { run: { type: 'script_internal_error', payload: { name: 'string', message: 'a plain string' } } },
      object: { run: { type: 'script_internal_error', payload: { name: 'object', message: '[object Object]' } } },
      caught: {
        run: {
          payload: {
            message: 'caught',
            name: 'ProviderHttpError',
            code: 'provider_http_error',
            isError: true,
            status: 404,
            responseStatus: 404,
            data: { error: 'gone', detail: 'no such thing' },
            body: { error: 'gone', detail: 'no such thing' },
            madeIsActionError: true,
          },
        },
      },
      'caught-action': { run: { payload: { code: 'invalid_metadata', name: 'LifelineError', isError: true } } },
    });
  });

  it('the whole context works across the boundary, as it does inline', async () => {
    const worker = await engineWith();
    const inline = await engineWith({ isolation: 'inline' });
    const run = async (engine: Engine) => {
      const r = await engine.send('surface-1', { type: 'CONNECT', integration: 'surface', credentials: oauth });
      expect(r).toMatchObject({ state: 'active' });
      const history = await engine.history('surface-1');
      const logs = (runRecord(history).data.logs as Array<{ level: string; message: string }>).map((l) => [
        l.level,
        l.message,
      ]);
      const writes = history.filter((h) => h.type.startsWith('METADATA')).map((h) => [h.type, h.data.metadata]);
      return { metadata: (await engine.getConnection('surface-1'))?.metadata, logs, writes };
    };
    const inWorker = await run(worker);
    expect(inWorker).toEqual(await run(inline));
    const report = inWorker.metadata?.report as Record<string, unknown>;
    expect(report).toEqual({
      meta: { a: 1, b: 'two' },
      me: [200, { id: 'me-1' }],
      raw: { body: 'raw-bytes', type: null },
      form: { body: 'q=a+b', type: 'application/x-www-form-urlencoded' },
      bin: [true, '{"id":"me-1"}'],
      pages: [['i1', 'i2'], ['i3', 'i4'], ['i5']],
      states: [2, 4, 5],
      firstPage: ['i1', 'i2'],
      paginateOther: 'not_available',
      streamed: { id: 'me-1' },
      fetched: [200, 'application/json', { id: 'me-1' }],
      connection: 'surface-1',
      token: '[REDACTED]', // what the function recorded is redacted, in a worker as inline
      webhook: 'https://hooks.example.test/wh',
      integration: 'surface',
      who: ['surface-1', 'surface', 'surface', 'dev'],
      notAvailable: 'not_available',
      schema: 'invalid_metadata',
      lock: [true, true],
      aborted: false,
    });
    expect(inWorker.logs).toEqual(
      expect.arrayContaining([
        ['warn', 'hello { n: 1 }'],
        ['info', '100%% sure'],
      ]),
    );
    expect(inWorker.writes.slice(0, 2)).toEqual([
      ['METADATA_SET', { a: 1 }],
      ['METADATA_UPDATED', { b: 'two' }],
    ]);
  });
});

describe('the seed functions in a worker', () => {
  let salesforce: FakeSalesforce;
  beforeAll(async () => {
    salesforce = await startFakeSalesforce({ 'a-1': 'org-A', b: 'org-B', none: null });
  });
  afterAll(() => salesforce.close());

  it('behave as inline: connect, the switched-org rule, and a rejected token', async () => {
    const fixtures = fileURLToPath(new URL('../fixtures/salesforce-seed/', import.meta.url));
    const seed = await loadFunctions(fixtures);
    expect(seed.every((f) => bundleOf(f))).toBe(true);
    const lifecycle = async (isolation: 'worker' | 'inline') => {
      const engine = await newEngine({
        functions: seed,
        integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
        isolation,
      });
      const a = await engine.send('sf', { type: 'CONNECT', integration: 'salesforce', credentials: oauthOf('a-1') });
      await engine.settled();
      const metadata = (await engine.getConnection('sf'))?.metadata;
      const bad = await engine.send('sf-bad', {
        type: 'CONNECT',
        integration: 'salesforce',
        credentials: oauthOf('none'),
      });
      const deleted = await engine.send('sf', { type: 'DELETE' });
      const types = (await engine.history('sf')).map((h) => h.type);
      return { a: a.state, metadataKeys: Object.keys(metadata ?? {}), bad: [bad.state, bad.error], deleted, types };
    };
    const inWorker = await lifecycle('worker');
    expect(inWorker).toEqual(await lifecycle('inline'));
    expect(inWorker.a).toBe('active');
    expect(inWorker.bad[0]).toBe('deleted');
  });
});

function oauthOf(access_token: string) {
  return { type: 'OAUTH2' as const, access_token };
}
