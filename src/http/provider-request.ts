import { type Dispatcher, request } from 'undici';
import type { Credentials } from '../engine/command-schemas.js';
import { isLifelineError, LifelineError, ProviderHttpError } from '../errors.js';
import type { ProxyConfiguration, ProxyResponse } from '../functions/context-types.js';
import type { AuthInjection, RetryHeaderConfig } from '../providers/provider-schema.js';
import { authHeaders } from './auth-injection.js';
import { DEFAULT_HTTP_SETTINGS, type HttpSettings } from './http-settings.js';
import { toNetworkError } from './network-error.js';
import { buildUrl, checkRedirect } from './outbound-policy.js';
import { encodeBody } from './request-body.js';
import { decodeData, decodedStream, readBody } from './response-body.js';
import { abortableSleep, isRetryableStatus, type ResponseHeaders, retryWaitMs } from './retry-policy.js';

export type { AuthInjection };
export { buildUrl };

/** Where a connection's proxy calls go and what they carry. */
export interface ProviderTarget {
  /** The connection's base URL, or why it has none (thrown as `invalid_configuration` unless `baseUrlOverride` is given). */
  base: { baseUrl: string } | { problem: string };
  credentials: Credentials;
  auth?: AuthInjection | undefined;
  /** Default headers (a call's own headers win). */
  headers?: Record<string, string>;
  retryHeader?: RetryHeaderConfig | undefined;
  decompress?: boolean;
}

export type LogSink = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface RequestOptions {
  dispatcher: Dispatcher;
  /** Aborts the request (and any wait between retries): the run's timeout. */
  signal: AbortSignal;
  settings?: Partial<HttpSettings>;
  /** Where retries and oddities are reported (the run's log). */
  log?: LogSink;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const raw = headers[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

/** The URL a call goes to, with the connection's base URL (or the call's override). */
export function resolveUrl(target: ProviderTarget, config: ProxyConfiguration): URL {
  const base = 'baseUrl' in target.base ? target.base.baseUrl : undefined;
  if (!base && !config.baseUrlOverride) {
    throw new LifelineError('invalid_configuration', (target.base as { problem: string }).problem);
  }
  return buildUrl(base ?? '', config);
}

type Attempt = { response: ProxyResponse } | { retryAfterStatus: number; headers: ResponseHeaders; body: unknown };

/**
 * One provider call with the connection's credentials injected, as `nango.proxy` makes it.
 *
 * - With `retries` > 0, network errors, 5xx, 429 and `retryOn` statuses are retried up to that many
 *   times, waiting the longest of the exponential backoff, `Retry-After` and `retryHeader`.
 * - Same-origin redirects are followed; a redirect to another host is refused (`outbound_refused`).
 * - A non-2xx final answer throws {@link ProviderHttpError} (status, headers, body).
 * - Every request and wait stops when `signal` aborts.
 *
 * @example
 * const res = await providerRequest(target, { endpoint: '/me', retries: 3 }, { dispatcher, signal });
 * res.data; // parsed JSON
 */
export async function providerRequest(
  target: ProviderTarget,
  config: ProxyConfiguration,
  options: RequestOptions,
): Promise<ProxyResponse> {
  const settings: HttpSettings = { ...DEFAULT_HTTP_SETTINGS, ...options.settings };
  const method = String(config.method ?? 'GET').toUpperCase();
  if (!METHODS.has(method)) throw new LifelineError('invalid_argument', `unsupported HTTP method ${method}`);
  const url = resolveUrl(target, config);
  const decompress = config.decompress ?? target.decompress ?? true;
  const headers: Record<string, string> = {};
  Object.assign(headers, authHeaders(target.credentials, target.auth, url));
  for (const [k, v] of Object.entries(target.headers ?? {})) headers[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries(config.headers ?? {})) {
    if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
  }
  const { body, contentType } = encodeBody(config.data);
  if (contentType && !headers['content-type']) headers['content-type'] = contentType;
  if (decompress && !headers['accept-encoding']) headers['accept-encoding'] = 'gzip, deflate, br';
  if (!decompress && !headers['accept-encoding']) headers['accept-encoding'] = 'identity';
  const retries = Math.max(0, Math.floor(Number(config.retries ?? 0)) || 0);
  const where = `${method} ${url.host}${url.pathname}`;
  const log = options.log ?? (() => {});

  const once = async (): Promise<Attempt> => {
    let current = url;
    let currentMethod = method;
    let currentBody = body;
    const currentHeaders = { ...headers };
    for (let hop = 0; ; hop++) {
      const res = await request(current, {
        method: currentMethod as Dispatcher.HttpMethod,
        headers: currentHeaders,
        body: currentBody,
        dispatcher: options.dispatcher,
        signal: options.signal,
        headersTimeout: settings.headersTimeoutMs,
        bodyTimeout: settings.bodyTimeoutMs,
      });
      const resHeaders = res.headers as ResponseHeaders;
      const location = headerValue(resHeaders, 'location');
      if (REDIRECTS.has(res.statusCode) && location) {
        await res.body.dump().catch(() => {});
        const next = checkRedirect(current, location, res.statusCode, where);
        if (hop >= settings.maxRedirects) {
          throw new LifelineError('provider_network_error', `${where}: more than ${settings.maxRedirects} redirects`, {
            code: 'too_many_redirects',
          });
        }
        if (
          res.statusCode === 303 ||
          ((res.statusCode === 301 || res.statusCode === 302) && currentMethod === 'POST')
        ) {
          currentMethod = 'GET';
          currentBody = undefined;
          delete currentHeaders['content-type'];
        }
        current = next;
        continue;
      }
      const status = res.statusCode;
      const encoding = headerValue(resHeaders, 'content-encoding');
      const type = String(headerValue(resHeaders, 'content-type') ?? '');
      const declared = Number(headerValue(resHeaders, 'content-length'));
      if (status >= 200 && status < 300) {
        if (config.responseType === 'stream') {
          return { response: { status, headers: resHeaders, data: decodedStream(res.body, encoding, decompress) } };
        }
        const bytes = await readBody(res.body, {
          encoding,
          decompress,
          limit: settings.maxResponseBytes,
          where,
          ...(Number.isFinite(declared) ? { declaredLength: declared } : {}),
        });
        const data = decodeData(bytes, type, config.responseType, where, () =>
          log('warn', `${where}: the response says ${type} but is not valid JSON; data is the raw text`),
        );
        return { response: { status, headers: resHeaders, data } };
      }
      // An error answer: read (a bounded part of) its body for the error, never failing on it.
      let errorBody: unknown;
      try {
        const bytes = await readBody(res.body, { encoding, decompress, limit: 64 * 1024, where });
        errorBody = decodeData(bytes, type, config.responseType === 'json' ? undefined : config.responseType, where);
        if (Buffer.isBuffer(errorBody)) errorBody = errorBody.toString('utf8');
      } catch (error) {
        if (options.signal.aborted) throw error;
        errorBody = isLifelineError(error, 'response_too_large') ? '(body larger than 64 KiB)' : undefined;
      }
      if (!isRetryableStatus(status, config.retryOn ?? undefined)) {
        throw new ProviderHttpError(`${where} answered ${status}`, { status, headers: resHeaders, body: errorBody });
      }
      return { retryAfterStatus: status, headers: resHeaders, body: errorBody };
    }
  };

  for (let attempt = 0; ; attempt++) {
    let wait: number;
    let reason: string;
    try {
      const outcome = await once();
      if ('response' in outcome) return outcome.response;
      if (attempt >= retries) {
        const { retryAfterStatus: status, headers: resHeaders } = outcome;
        throw new ProviderHttpError(`${where} answered ${status}${retries > 0 ? ` after ${retries} retries` : ''}`, {
          status,
          headers: resHeaders,
          body: outcome.body,
        });
      }
      wait = retryWaitMs({
        attempt,
        headers: outcome.headers,
        retryHeader: config.retryHeader ?? target.retryHeader,
        settings,
        now: Date.now(),
      });
      reason = `answered ${outcome.retryAfterStatus}`;
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason ?? error;
      if (isLifelineError(error)) throw error;
      const network = toNetworkError(error, where, settings);
      if (!network) throw error;
      if (attempt >= retries) throw network;
      wait = retryWaitMs({ attempt, headers: undefined, settings, now: Date.now() });
      reason = network.message.slice(where.length + 2);
    }
    log('info', `${where} ${reason}; retry ${attempt + 1} of ${retries} in ${wait} ms`);
    await abortableSleep(wait, options.signal);
  }
}
