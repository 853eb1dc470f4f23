import { ConfigurationError } from '../errors.js';

/**
 * Engine option `http`: how provider calls behave. Every field is optional.
 *
 * @example
 * createEngine({ http: { retryBaseMs: 10, retryMaxMs: 100, headersTimeoutMs: 5_000 } });
 */
export interface HttpOptions {
  /** First backoff wait of proxy retries, doubled on each retry (default 200 ms). */
  retryBaseMs?: number;
  /** Longest backoff wait (default 30000 ms). A longer `Retry-After` still wins. */
  retryMaxMs?: number;
  /** Time to open a connection (default 10000 ms). */
  connectTimeoutMs?: number;
  /** Time from sending a request to the response headers (default 60000 ms). */
  headersTimeoutMs?: number;
  /** Longest pause between two chunks of a response body (default 60000 ms). */
  bodyTimeoutMs?: number;
  /** Largest response body read into memory, after decompression (default 50 MiB). `stream` is not limited. */
  maxResponseBytes?: number;
  /** Same-host redirects followed (default 5). Redirects to another host are refused. */
  maxRedirects?: number;
  /** Hosts every integration's `uncontrolledFetch` may reach (`api.example.com`, `*.example.com`). */
  allowedHosts?: string[];
}

export type HttpSettings = Required<HttpOptions>;

export const DEFAULT_HTTP_SETTINGS: Readonly<HttpSettings> = Object.freeze({
  retryBaseMs: 200,
  retryMaxMs: 30_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  maxResponseBytes: 50 * 1024 * 1024,
  maxRedirects: 5,
  allowedHosts: [],
});

/** Applies defaults and checks the values; throws `invalid_configuration` naming the bad field. */
export function resolveHttpSettings(options: HttpOptions = {}): HttpSettings {
  const settings: HttpSettings = { ...DEFAULT_HTTP_SETTINGS, ...stripUndefined(options) };
  for (const key of Object.keys(settings) as Array<keyof HttpSettings>) {
    if (key === 'allowedHosts') continue;
    const value = settings[key];
    const min = key === 'maxRedirects' || key === 'retryBaseMs' ? 0 : 1;
    if (!Number.isInteger(value) || value < min) {
      throw new ConfigurationError(`http.${key} must be an integer >= ${min}`);
    }
  }
  if (!Array.isArray(settings.allowedHosts) || settings.allowedHosts.some((h) => typeof h !== 'string' || !h)) {
    throw new ConfigurationError('http.allowedHosts must be an array of host names');
  }
  return settings;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
