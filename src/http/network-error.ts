import { LifelineError } from '../errors.js';
import type { HttpSettings } from './http-settings.js';

/** Transport failures worth a retry: the request may not have reached the provider, or its answer was cut. */
const MESSAGES: Record<string, (s: HttpSettings) => string> = {
  UND_ERR_CONNECT_TIMEOUT: (s) => `could not connect within ${s.connectTimeoutMs} ms (connectTimeoutMs)`,
  UND_ERR_HEADERS_TIMEOUT: (s) => `no response headers within ${s.headersTimeoutMs} ms (headersTimeoutMs)`,
  UND_ERR_BODY_TIMEOUT: (s) => `the response body stalled for more than ${s.bodyTimeoutMs} ms (bodyTimeoutMs)`,
  UND_ERR_SOCKET: () => 'the provider closed the connection',
  UND_ERR_CLOSED: () => 'the connection was closed',
  ECONNRESET: () => 'the provider reset the connection',
  ECONNREFUSED: () => 'connection refused',
  EPIPE: () => 'the connection broke while sending',
  ETIMEDOUT: () => 'the connection timed out',
  EHOSTUNREACH: () => 'host unreachable',
  ENETUNREACH: () => 'network unreachable',
  EAI_AGAIN: () => 'DNS lookup failed (temporary)',
  ENOTFOUND: () => 'DNS lookup failed: no such host',
};

function codeOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return undefined;
}

/**
 * Turns a transport error into a readable, retryable `provider_network_error` (details: `code`),
 * or returns null when `error` is not a transport failure.
 *
 * @example
 * toNetworkError({ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'GET api.example.com/me', settings)?.message;
 * // 'GET api.example.com/me: no response headers within 60000 ms (headersTimeoutMs)'
 */
export function toNetworkError(error: unknown, where: string, settings: HttpSettings): LifelineError | null {
  const code = codeOf(error);
  if (code === undefined) return null;
  const describe = MESSAGES[code];
  if (!describe) return null;
  return new LifelineError('provider_network_error', `${where}: ${describe(settings)}`, { code });
}
