import { gzipSync } from 'node:zlib';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLifelineError, type ProviderHttpError } from '../../src/errors.js';
import { providerRequest } from '../../src/http/provider-request.js';

const ORIGIN = 'https://api.example.com';
const target = {
  base: { baseUrl: `${ORIGIN}/v1` },
  credentials: { type: 'OAUTH2' as const, access_token: 'tok-unit' },
};

describe('providerRequest (mocked transport)', () => {
  let agent: MockAgent;
  let signal: AbortSignal;
  const settings = { retryBaseMs: 1, retryMaxMs: 5 };
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    signal = new AbortController().signal;
  });
  afterEach(() => agent.close());

  it('honours retryHeader.at (a ms timestamp here) over the tiny backoff', async () => {
    const pool = agent.get(ORIGIN);
    pool
      .intercept({ path: '/v1/limited', method: 'GET' })
      .reply(429, '', { headers: { 'x-reset': String(Date.now() + 200) } });
    pool
      .intercept({ path: '/v1/limited', method: 'GET' })
      .reply(200, { ok: true }, { headers: { 'content-type': 'application/json' } });
    const started = Date.now();
    const res = await providerRequest(
      target,
      { endpoint: '/limited', retries: 1, retryHeader: { at: 'x-reset' } },
      { dispatcher: agent, signal, settings },
    );
    expect(res.data).toEqual({ ok: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('gives up after `retries` and throws the last answer with status, headers and body', async () => {
    const pool = agent.get(ORIGIN);
    pool.intercept({ path: '/v1/down', method: 'GET' }).reply(502, { error: 'bad gateway' }).times(3);
    const log: string[] = [];
    const error = (await providerRequest(
      target,
      { endpoint: '/down', retries: 2 },
      { dispatcher: agent, signal, settings, log: (_l, m) => log.push(m) },
    ).catch((e) => e)) as ProviderHttpError;
    expect(isLifelineError(error, 'provider_http_error')).toBe(true);
    expect(error.status).toBe(502);
    expect(error.response.data).toEqual({ error: 'bad gateway' });
    expect(error.message).toBe('GET api.example.com/v1/down answered 502 after 2 retries');
    expect(log).toHaveLength(2);
  });

  it('injects credentials and default headers; a call header wins over a default, gzip is decoded', async () => {
    const pool = agent.get(ORIGIN);
    let seen: Record<string, string> = {};
    pool.intercept({ path: '/v1/me', method: 'GET' }).reply(
      200,
      (opts) => {
        seen = opts.headers as Record<string, string>;
        return gzipSync(JSON.stringify({ me: 1 }));
      },
      { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
    );
    const res = await providerRequest(
      { ...target, headers: { 'x-version': '1', 'x-other': 'd' } },
      { endpoint: '/me', headers: { 'X-Version': '2' } },
      { dispatcher: agent, signal, settings },
    );
    expect(res.data).toEqual({ me: 1 });
    expect(seen).toMatchObject({ authorization: 'Bearer tok-unit', 'x-version': '2', 'x-other': 'd' });
  });

  it('an already aborted run sends nothing and rethrows the reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('timed out'));
    await expect(
      providerRequest(target, { endpoint: '/never' }, { dispatcher: agent, signal: controller.signal, settings }),
    ).rejects.toThrow('timed out');
  });

  it('needs a base URL or baseUrlOverride, and says why', async () => {
    const error = await providerRequest(
      { ...target, base: { problem: 'integration x has no base URL' } },
      { endpoint: '/a' },
      { dispatcher: agent, signal, settings },
    ).catch((e) => e);
    expect(isLifelineError(error, 'invalid_configuration')).toBe(true);
    expect(error.message).toBe('integration x has no base URL');
  });
});
