import { type Dispatcher, fetch, type Response } from 'undici';
import { LifelineError } from '../errors.js';
import { DEFAULT_HTTP_SETTINGS, type HttpSettings } from './http-settings.js';
import { toNetworkError } from './network-error.js';
import { checkUncontrolledUrl } from './outbound-policy.js';

/** What `nango.uncontrolledFetch` takes (Nango's shape). */
export interface UncontrolledFetchOptions {
  url: URL | string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | null;
}

export interface UncontrolledPolicy {
  dispatcher: Dispatcher;
  signal: AbortSignal;
  settings: Partial<HttpSettings>;
  /** The integration's base URL origin, if it has one. */
  baseOrigin: string | undefined;
  /** `http.allowedHosts` and `integrations.<id>.allowedHosts`. */
  allowedHosts: readonly string[];
}

/**
 * A plain `fetch` without the connection's credentials, for URLs the proxy cannot express.
 * It obeys the outbound policy: http(s) only, the integration's base URL host or an allow-listed
 * host, and redirects only to such hosts (followed by hand, so each hop is checked).
 *
 * @example
 * const res = await nango.uncontrolledFetch({ url: new URL('https://www.googleapis.com/discovery/v1/apis') });
 * const body = await res.json();
 */
export async function uncontrolledFetch(
  options: UncontrolledFetchOptions,
  policy: UncontrolledPolicy,
): Promise<Response> {
  const settings: HttpSettings = { ...DEFAULT_HTTP_SETTINGS, ...policy.settings };
  let url = checkUncontrolledUrl(options.url, policy.baseOrigin, policy.allowedHosts);
  let method = (options.method ?? 'GET').toUpperCase();
  let body = options.body ?? undefined;
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: options.headers ?? {},
        ...(body !== undefined ? { body } : {}),
        redirect: 'manual',
        dispatcher: policy.dispatcher,
        signal: policy.signal,
      });
    } catch (error) {
      if (policy.signal.aborted) throw policy.signal.reason ?? error;
      throw toNetworkError(error, `uncontrolledFetch ${method} ${url.host}${url.pathname}`, settings) ?? error;
    }
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || !location) return response;
    await response.body?.cancel().catch(() => {});
    if (hop >= settings.maxRedirects) {
      throw new LifelineError(
        'provider_network_error',
        `uncontrolledFetch: more than ${settings.maxRedirects} redirects`,
      );
    }
    url = checkUncontrolledUrl(new URL(location, url), policy.baseOrigin, policy.allowedHosts);
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
    }
  }
}
