import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credentials, Engine, HistoryEntry, OnEventContext } from '../../src/index.js';
import { type FakeProvider, startFakeProvider } from '../support/fake-provider.js';
import { deferred, fn } from '../support/functions.js';
import { engineFactory, freshSchema, testStores } from '../support/test-stores.js';

type Exec = (nango: OnEventContext) => Promise<void>;
const oauth = (access_token: string): Credentials => ({ type: 'OAUTH2', access_token });

/** An engine whose integrations each run whatever `probe` currently is, on CONNECT. */
function prober(engine: Engine, slot: { probe: Exec }) {
  let n = 0;
  return async (
    integration: string,
    exec: Exec,
    extra: { credentials?: Credentials; connectionConfig?: Record<string, unknown>; id?: string } = {},
  ): Promise<{ id: string; outcome: HistoryEntry }> => {
    slot.probe = exec;
    const id = extra.id ?? `c-${integration}-${++n}`;
    await engine.send(id, {
      type: 'CONNECT',
      integration,
      credentials: extra.credentials ?? oauth('tok-surface-123'),
      ...(extra.connectionConfig ? { connectionConfig: extra.connectionConfig } : {}),
    });
    const outcome = (await engine.history(id)).find((h) => /^RUN_(SUCCEEDED|FAILED|TIMED_OUT)$/.test(h.type));
    if (!outcome) throw new Error('no outcome');
    if (outcome.type !== 'RUN_SUCCEEDED') {
      throw new Error(`run failed: ${JSON.stringify(outcome.data.error)}`);
    }
    return { id, outcome };
  };
}

const INTEGRATIONS = ['plain', 'crm', 'sf', 'cal', 'keyq', 'nopage'];

describe.each(testStores)('event function context on $name', (store) => {
  const newEngine = engineFactory(store);
  let fake: FakeProvider;
  let other: FakeProvider;
  const slot: { probe: Exec } = { probe: async () => {} };
  let run: ReturnType<typeof prober>;
  let engine: Engine;

  beforeAll(async () => {
    fake = await startFakeProvider();
    other = await startFakeProvider();
    engine = await newEngine({
      environment: 'staging',
      environmentVariables: { REGION: 'eu-west', STRIPE_SECRET_KEY: 'sk_live_abcdef' },
      functionLogLevel: 'debug',
      http: { retryBaseMs: 1, retryMaxMs: 5, allowedHosts: [`127.0.0.1:${new URL(other.baseUrl).port}`] },
      integrations: {
        plain: {
          provider: 'acme',
          baseUrl: fake.baseUrl,
          webhookUrl: 'https://hooks.myapp.test/lifeline/plain',
          webhookSecret: 'whsec_super_secret',
          clientId: 'client-1',
          clientSecret: 'client-secret-xyz',
          scopes: ['read', 'write'],
        },
        crm: { provider: 'hubspot', baseUrl: fake.baseUrl },
        sf: { provider: 'salesforce' },
        cal: { provider: 'cal-com', baseUrl: fake.baseUrl },
        keyq: { baseUrl: fake.baseUrl, auth: { query: 'api_key' } },
        nopage: { baseUrl: fake.baseUrl },
      },
      functions: INTEGRATIONS.map((i) => fn(i, 'probe', 'validate-connection', (nango) => slot.probe(nango))),
    });
    run = prober(engine, slot);
  });
  afterAll(async () => {
    await fake.close();
    await other.close();
  });

  it('knows who is running: ids, provider, environment; getConnection in Nango shape', async () => {
    const seen: Record<string, unknown> = {};
    await run(
      'plain',
      async (nango) => {
        Object.assign(seen, {
          connectionId: nango.connectionId,
          providerConfigKey: nango.providerConfigKey,
          provider: nango.provider,
          environmentName: nango.environmentName,
        });
        await nango.updateMetadata({ a: 1 });
        seen.connection = await nango.getConnection();
      },
      { id: 'who', connectionConfig: { subdomain: 'acme' } },
    );
    expect(seen).toMatchObject({
      connectionId: 'who',
      providerConfigKey: 'plain',
      provider: 'acme',
      environmentName: 'staging',
    });
    expect(seen.connection).toMatchObject({
      id: 'who',
      connection_id: 'who',
      provider_config_key: 'plain',
      provider: 'acme',
      credentials: { type: 'OAUTH2', access_token: 'tok-surface-123' },
      connection_config: { subdomain: 'acme' },
      metadata: { a: 1 },
      errors: [],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  it('getToken: the access token for OAuth2, the credentials for API keys and Basic', async () => {
    const tokens: unknown[] = [];
    await run('plain', async (nango) => {
      tokens.push(await nango.getToken());
    });
    await run(
      'plain',
      async (nango) => {
        tokens.push(await nango.getToken());
      },
      { credentials: { type: 'API_KEY', apiKey: 'key-abcdef' } },
    );
    await run(
      'plain',
      async (nango) => {
        tokens.push(await nango.getToken());
      },
      { credentials: { type: 'BASIC', username: 'u', password: 'pw-123456' } },
    );
    expect(tokens).toEqual([
      'tok-surface-123',
      { type: 'API_KEY', apiKey: 'key-abcdef' },
      { type: 'BASIC', username: 'u', password: 'pw-123456' },
    ]);
  });

  it('getIntegration (webhook and credentials on request), getWebhookURL; the secrets never reach the log', async () => {
    const got: Record<string, unknown> = {};
    const { outcome } = await run('plain', async (nango) => {
      got.bare = await nango.getIntegration();
      got.full = await nango.getIntegration({ include: ['webhook', 'credentials'] });
      got.url = await nango.getWebhookURL();
      const secret = (got.full as { credentials: { webhook_secret: string } }).credentials.webhook_secret;
      nango.log('registering with', secret, 'and client-secret-xyz');
    });
    expect(got.bare).toEqual({
      unique_key: 'plain',
      display_name: 'acme',
      provider: 'acme',
      logo: null,
      created_at: null,
      updated_at: null,
    });
    expect(got.full).toMatchObject({
      webhook_url: 'https://hooks.myapp.test/lifeline/plain',
      credentials: {
        type: 'OAUTH2',
        client_id: 'client-1',
        client_secret: 'client-secret-xyz',
        scopes: 'read,write',
        webhook_secret: 'whsec_super_secret',
      },
    });
    expect(got.url).toBe('https://hooks.myapp.test/lifeline/plain');
    expect(outcome.data.logs).toEqual([
      expect.objectContaining({ message: 'registering with [REDACTED] and [REDACTED]' }),
    ]);
  });

  it('getEnvironmentVariables as [{ name, value }]; secret-looking values are redacted from logs', async () => {
    let vars: unknown;
    const { outcome } = await run('plain', async (nango) => {
      vars = await nango.getEnvironmentVariables();
      nango.log('env', JSON.stringify(vars));
    });
    expect(vars).toEqual([
      { name: 'REGION', value: 'eu-west' },
      { name: 'STRIPE_SECRET_KEY', value: 'sk_live_abcdef' },
    ]);
    const line = (outcome.data.logs as Array<{ message: string }>)[0]?.message;
    expect(line).toContain('eu-west');
    expect(line).not.toContain('sk_live_abcdef');
  });

  it('log levels: a last { level } picks it and is dropped; lines at or above functionLogLevel are kept', async () => {
    const { outcome } = await run('plain', async (nango) => {
      nango.log('plain line');
      nango.log('details', { n: 1 }, { level: 'debug' });
      nango.log('careful', { level: 'warn' });
      nango.log('broken', { level: 'error' });
    });
    expect((outcome.data.logs as Array<{ level: string; message: string }>).map((l) => [l.level, l.message])).toEqual([
      ['info', 'plain line'],
      ['debug', 'details { n: 1 }'],
      ['warn', 'careful'],
      ['error', 'broken'],
    ]);
  });

  it('sync-only Nango methods throw not_available instead of undefined-is-not-a-function', async () => {
    const errors: Array<{ code: string; message: string }> = [];
    await run('plain', async (nango) => {
      for (const call of [
        () => nango.batchSave([], 'Contact'),
        () => nango.getCheckpoint(),
        () => nango.saveCheckpoint({}),
        () => nango.batchDelete([], 'Contact'),
        () => nango.triggerSync('x'),
      ]) {
        try {
          call();
        } catch (e) {
          errors.push(e as { code: string; message: string });
        }
      }
      await nango.get({ endpoint: '/x', connectionId: 'someone-else' }).catch((e) => errors.push(e));
    });
    expect(errors.map((e) => e.code)).toEqual(Array(6).fill('not_available'));
    expect(errors[0]?.message).toBe('nango.batchSave is not available in event functions (records belong to syncs)');
  });

  it('uncontrolledFetch: no credentials, the base host and allow-listed hosts only, redirects checked', async () => {
    fake.script('GET /public', { json: { public: true } });
    other.script('GET /allowed', { body: 'allowed' });
    other.script('GET /bounce', { redirect: 'http://localhost:9/nope' });
    other.script('GET /reset', { reset: true });
    const got: unknown[] = [];
    await run('plain', async (nango) => {
      const a = await nango.uncontrolledFetch({ url: new URL(`${fake.baseUrl}/public`) });
      got.push(a.status, await a.json());
      const b = await nango.uncontrolledFetch({ url: `${other.baseUrl}/allowed`, headers: { 'x-mine': '1' } });
      got.push(await b.text());
      for (const url of [
        'http://localhost:9/x',
        'ftp://127.0.0.1/x',
        `${other.baseUrl}/bounce`,
        `${other.baseUrl}/reset`,
      ]) {
        await nango.uncontrolledFetch({ url }).catch((e) => got.push(e.code));
      }
    });
    expect(got).toEqual([
      200,
      { public: true },
      'allowed',
      'outbound_refused',
      'outbound_refused',
      'outbound_refused',
      'provider_network_error',
    ]);
    expect(fake.requests.at(-1)?.headers.authorization).toBeUndefined();
    expect(other.requests.find((r) => r.path === '/allowed')?.headers).toMatchObject({ 'x-mine': '1' });
    expect(other.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('paginate: cursor, link header, link body and offset, from the call or the catalog', async () => {
    const pages = (n: number) => Array.from({ length: n }, (_, i) => i);
    fake.route('GET /cursor', (req) =>
      req.query.after === undefined
        ? { json: { results: [1, 2], paging: { next: { after: 'c2' } } } }
        : req.query.after === 'c2'
          ? { json: { results: [3], paging: {} } }
          : { status: 400 },
    );
    fake.route('GET /linked', (req) => {
      const page = Number(req.query.page ?? 1);
      const next = page < 3 ? `<${fake.baseUrl}/linked?page=${page + 1}>; rel="next"` : undefined;
      const headers: Record<string, string> = next ? { link: next } : {};
      return { json: [page], headers };
    });
    fake.route('GET /body-link', (req) =>
      req.query.p === '2' ? { json: { items: ['b'], next: null } } : { json: { items: ['a'], next: '/body-link?p=2' } },
    );
    fake.route('GET /offset', (req) => {
      const offset = Number(req.query.offset);
      return { json: { data: pages(10).slice(offset, offset + Number(req.query.limit)) } };
    });
    const got: Record<string, unknown[]> = { catalog: [], link: [], body: [], offset: [] };
    await run('crm', async (nango) => {
      // hubspot's catalog pagination (cursor: paging.next.after → after, results).
      for await (const page of nango.paginate({ endpoint: '/cursor', paginate: { limit: 2 } })) got.catalog?.push(page);
      for await (const page of nango.paginate({
        endpoint: '/linked',
        paginate: { type: 'link', link_rel_in_response_header: 'next' },
      }))
        got.link?.push(page);
      for await (const page of nango.paginate({
        endpoint: '/body-link',
        paginate: { type: 'link', link_path_in_response_body: 'next', response_path: 'items' },
      }))
        got.body?.push(page);
      for await (const page of nango.paginate({
        endpoint: '/offset',
        paginate: {
          type: 'offset',
          offset_name_in_request: 'offset',
          limit_name_in_request: 'limit',
          limit: 4,
          response_path: 'data',
        },
      }))
        got.offset?.push(page);
    });
    expect(got).toEqual({
      catalog: [[1, 2], [3]],
      link: [[1], [2], [3]],
      body: [['a'], ['b']],
      offset: [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ],
    });
    expect(fake.requests.find((r) => r.path === '/cursor')?.query).toEqual({ limit: '2' });
  });

  it('paginate: a clear error without pagination, and a next link to another host is refused', async () => {
    fake.route('GET /leaky', () => ({ json: [1], headers: { link: `<${other.baseUrl}/steal>; rel="next"` } }));
    const errors: Array<{ code: string; message: string }> = [];
    await run('nopage', async (nango) => {
      try {
        for await (const _ of nango.paginate({ endpoint: '/x' })) void _;
      } catch (e) {
        errors.push(e as { code: string; message: string });
      }
      try {
        for await (const _ of nango.paginate({
          endpoint: '/leaky',
          paginate: { type: 'link', link_rel_in_response_header: 'next' },
        }))
          void _;
      } catch (e) {
        errors.push(e as { code: string; message: string });
      }
    });
    expect(errors[0]?.code).toBe('invalid_argument');
    expect(errors[0]?.message).toContain('no pagination is configured for integration nopage');
    expect(errors[1]?.code).toBe('outbound_refused');
    expect(other.requests.some((r) => r.path === '/steal')).toBe(false);
  });

  it('catalog: Salesforce base URL from connectionConfig.instance_url; a missing one is a clear configuration error', async () => {
    fake.script('GET /services/oauth2/userinfo', { json: { organization_id: 'org-1' } });
    let org: unknown;
    await run(
      'sf',
      async (nango) => {
        org = (await nango.get({ endpoint: '/services/oauth2/userinfo' })).data.organization_id;
      },
      { connectionConfig: { instance_url: fake.baseUrl } },
    );
    expect(org).toBe('org-1');
    let error: { code?: string; message?: string } = {};
    await run('sf', async (nango) => {
      await nango.get({ endpoint: '/services/oauth2/userinfo' }).catch((e) => {
        error = e;
      });
    });
    expect(error.code).toBe('invalid_configuration');
    expect(error.message).toContain('needs connectionConfig.instance_url');
  });

  it('catalog: Cal.com sends its API key as a bearer with its version header; auth.query puts a key in the URL', async () => {
    fake.script('GET /v2/me', { json: { ok: true } });
    await run(
      'cal',
      async (nango) => {
        await nango.get({ endpoint: '/v2/me' });
      },
      { credentials: { type: 'API_KEY', apiKey: 'cal_live_123456' } },
    );
    expect(fake.requests.at(-1)?.headers).toMatchObject({
      authorization: 'Bearer cal_live_123456',
      'cal-api-version': '2024-08-13',
    });
    fake.script('GET /q', { json: { ok: true } });
    await run(
      'keyq',
      async (nango) => {
        await nango.get({ endpoint: '/q', params: { a: '1' } });
      },
      { credentials: { type: 'API_KEY', apiKey: 'qkey-123456' } },
    );
    expect(fake.requests.at(-1)?.query).toEqual({ a: '1', api_key: 'qkey-123456' });
    expect(fake.requests.at(-1)?.headers.authorization).toBeUndefined();
  });

  it('locks: shared across engines on one database, re-entrant for the holder, released when the run ends', async () => {
    const schema = freshSchema();
    const held = deferred();
    const release = deferred();
    const results: Record<string, unknown> = {};
    const engineA = await newEngine({
      schema,
      functions: [
        fn('a', 'hold', 'validate-connection', async (nango) => {
          results.first = await nango.tryAcquireLock({ key: 'webhook-setup', ttlMs: 60_000 });
          results.again = await nango.tryAcquireLock({ key: 'webhook-setup', ttlMs: 60_000 });
          results.other = await nango.tryAcquireLock({ key: 'kept-until-end', ttlMs: 60_000 });
          results.short = await nango.tryAcquireLock({ key: 'short-lived', ttlMs: 50 });
          held.resolve();
          await release.promise;
        }),
      ],
    });
    const tries: boolean[] = [];
    const engineB = await newEngine({
      schema,
      functions: [
        fn('b', 'try', 'validate-connection', async (nango) => {
          tries.push(await nango.tryAcquireLock({ key: 'webhook-setup', ttlMs: 60_000 }));
          tries.push(await nango.tryAcquireLock({ key: 'kept-until-end', ttlMs: 60_000 }));
          await new Promise((r) => setTimeout(r, 150)); // past the 50 ms TTL of 'short-lived'
          tries.push(await nango.tryAcquireLock({ key: 'short-lived', ttlMs: 60_000 }));
          tries.push(await nango.releaseLock({ key: 'never-held' }));
        }),
      ],
    });
    const connectA = engineA.send('la', { type: 'CONNECT', integration: 'a', credentials: oauth('tok-lock-a1') });
    await held.promise;
    await engineB.send('lb1', { type: 'CONNECT', integration: 'b', credentials: oauth('tok-lock-b1') });
    release.resolve();
    await connectA;
    await engineB.send('lb2', { type: 'CONNECT', integration: 'b', credentials: oauth('tok-lock-b2') });
    expect(results).toEqual({ first: true, again: true, other: true, short: true });
    // While A runs: A's locks are refused to B, except the one whose TTL passed. After A: all free.
    expect(tries).toEqual([false, false, true, false, true, true, true, false]);
  });

  it('locks: releaseLock and releaseAllLocks free them; bad keys and TTLs are refused', async () => {
    const got: unknown[] = [];
    await run('plain', async (nango) => {
      got.push(await nango.tryAcquireLock({ key: 'k1', ttlMs: 60_000 }));
      got.push(await nango.releaseLock({ key: 'k1' }));
      got.push(await nango.releaseLock({ key: 'k1' }));
      got.push(await nango.tryAcquireLock({ key: 'k2', ttlMs: 60_000 }));
      await nango.releaseAllLocks();
      got.push(await nango.releaseLock({ key: 'k2' }));
      for (const bad of [
        { key: '', ttlMs: 10 },
        { key: 'x'.repeat(256), ttlMs: 10 },
        { key: 'k', ttlMs: 0 },
      ]) {
        await nango.tryAcquireLock(bad).catch((e) => got.push(e.code));
      }
    });
    expect(got).toEqual([true, true, false, true, false, 'invalid_argument', 'invalid_argument', 'invalid_argument']);
  });
});
