import { type Dispatcher, request } from 'undici';
import type { Credentials } from '../engine/command-schemas.js';
import { LifelineError, ProviderHttpError } from '../errors.js';
import type { ProxyConfiguration, ProxyResponse } from '../functions/context-types.js';

/** How credentials are injected into provider requests (`integrations.<id>.auth`). */
export interface AuthInjection {
  /** Header for API keys (default `Authorization`). */
  header?: string;
  /** Prefix before the API key in that header (default `Bearer ` for `Authorization`, else none). */
  prefix?: string;
  /** Send the API key as this query parameter instead of a header. */
  query?: string;
}

export interface ProviderTarget {
  baseUrl: string;
  credentials: Credentials;
  auth?: AuthInjection;
}

export interface RequestOptions {
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** Backoff base and cap for `retries` (ms). */
  backoff?: { baseMs: number; capMs: number };
}

function refuse(message: string): LifelineError {
  return new LifelineError('outbound_refused', message);
}

/** Builds the request URL; refuses any URL outside the integration's base URL origin. */
export function buildUrl(baseUrl: string, config: ProxyConfiguration): URL {
  const base = new URL(config.baseUrlOverride ?? baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw refuse(`only http and https are allowed, not ${base.protocol}`);
  }
  let url: URL;
  if (/^[a-z][a-z0-9+.-]*:/i.test(config.endpoint)) {
    url = new URL(config.endpoint);
    if (url.origin !== base.origin) {
      throw refuse(
        `endpoint ${url.origin} is outside the integration's base URL ${base.origin}; use baseUrlOverride to target another host`,
      );
    }
  } else {
    const path = base.pathname.replace(/\/$/, '') + (config.endpoint.startsWith('/') ? '' : '/') + config.endpoint;
    url = new URL(path + base.search, base.origin);
  }
  if (typeof config.params === 'string') {
    for (const [k, v] of new URLSearchParams(config.params)) url.searchParams.append(k, v);
  } else if (config.params) {
    for (const [k, v] of Object.entries(config.params)) {
      for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
    }
  }
  return url;
}

function authHeaders(target: ProviderTarget, url: URL): Record<string, string> {
  const c = target.credentials;
  switch (c.type) {
    case 'OAUTH2':
      return { authorization: `Bearer ${c.access_token}` };
    case 'BASIC':
      return { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` };
    case 'API_KEY': {
      if (target.auth?.query) {
        url.searchParams.set(target.auth.query, c.apiKey);
        return {};
      }
      const header = (target.auth?.header ?? 'Authorization').toLowerCase();
      const prefix = target.auth?.prefix ?? (header === 'authorization' ? 'Bearer ' : '');
      return { [header]: `${prefix}${c.apiKey}` };
    }
  }
}

function encodeBody(data: unknown): { body?: string | Buffer; contentType?: string } {
  if (data === undefined || data === null) return {};
  if (typeof data === 'string') return { body: data };
  if (Buffer.isBuffer(data)) return { body: data };
  if (data instanceof URLSearchParams)
    return { body: data.toString(), contentType: 'application/x-www-form-urlencoded' };
  return { body: JSON.stringify(data), contentType: 'application/json' };
}

function parseBody(text: string, contentType: string, responseType: ProxyConfiguration['responseType']): unknown {
  if (responseType === 'text') return text;
  if (text.length === 0) return contentType.includes('json') ? null : '';
  if (contentType.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET']);

function retryAfterMs(headers: Record<string, string | string[] | undefined>): number {
  const raw = headers['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : 0;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One provider call with credentials injected, as `nango.proxy` makes it. With `retries` > 0 it
 * retries network errors, 5xx, 429 and `retryOn` statuses with exponential backoff, waiting at
 * least what `Retry-After` asks. Redirects are not followed, so credentials never leave the host.
 */
export async function providerRequest(
  target: ProviderTarget,
  config: ProxyConfiguration,
  options: RequestOptions,
): Promise<ProxyResponse> {
  const method = config.method ?? 'GET';
  const url = buildUrl(target.baseUrl, config);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.headers ?? {})) headers[k.toLowerCase()] = v;
  Object.assign(headers, authHeaders(target, url));
  const { body, contentType } = encodeBody(config.data);
  if (contentType && !headers['content-type']) headers['content-type'] = contentType;
  const retries = Math.max(0, config.retries ?? 0);
  const backoff = options.backoff ?? { baseMs: 200, capMs: 30_000 };
  const where = `${method} ${url.pathname}`;

  for (let attempt = 0; ; attempt++) {
    let wait = Math.min(backoff.capMs, backoff.baseMs * 2 ** attempt);
    try {
      const response = await request(url, {
        method,
        headers,
        body,
        dispatcher: options.dispatcher,
        signal: options.signal,
      });
      const text = await response.body.text();
      const resHeaders = response.headers as Record<string, string | string[] | undefined>;
      const data = parseBody(text, String(resHeaders['content-type'] ?? ''), config.responseType);
      if (response.statusCode >= 200 && response.statusCode < 300) {
        return { status: response.statusCode, headers: resHeaders, data };
      }
      const retryable =
        response.statusCode >= 500 ||
        response.statusCode === 429 ||
        (config.retryOn ?? []).includes(response.statusCode);
      if (!retryable || attempt >= retries) {
        throw new ProviderHttpError(`${where} answered ${response.statusCode}`, {
          status: response.statusCode,
          headers: resHeaders,
          body: data,
        });
      }
      wait = Math.max(wait, retryAfterMs(resHeaders));
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason ?? error;
      const code = (error as { code?: string }).code;
      const network = code !== undefined && RETRYABLE_NETWORK.has(code);
      if (!network || attempt >= retries) throw error;
    }
    await sleep(wait, options.signal);
  }
}
