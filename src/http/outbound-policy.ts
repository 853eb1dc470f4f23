import { LifelineError } from '../errors.js';

/**
 * Where provider calls may go. The proxy talks only to the integration's base URL origin (or an
 * explicit `baseUrlOverride`); credentials never cross to another origin, not even by redirect.
 * `uncontrolledFetch` (no credentials) may also reach allow-listed hosts.
 */
export interface UrlParts {
  endpoint: string;
  params?: string | Record<string, string | number | boolean | Array<string | number | boolean>> | URLSearchParams;
  baseUrlOverride?: string;
}

export function refuse(message: string): LifelineError {
  return new LifelineError('outbound_refused', message);
}

function checkProtocol(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw refuse(`only http and https are allowed, not ${url.protocol}`);
  }
}

function parseBase(raw: string): URL {
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw refuse('the base URL is not an absolute URL');
  }
  checkProtocol(base);
  return base;
}

/**
 * Builds a proxy call's URL: the base URL (or `baseUrlOverride`) joined with `endpoint`, with
 * `params` (a string, a record whose arrays repeat, or URLSearchParams) appended. An absolute
 * `endpoint` must share the base URL's origin; anything else is refused (`outbound_refused`).
 *
 * @example
 * buildUrl('https://api.example.com/v2', { endpoint: '/users', params: { id: [1, 2] } }).toString();
 * // 'https://api.example.com/v2/users?id=1&id=2'
 */
export function buildUrl(baseUrl: string, config: UrlParts): URL {
  const base = parseBase(config.baseUrlOverride ?? baseUrl);
  let url: URL;
  if (/^[a-z][a-z0-9+.-]*:/i.test(config.endpoint)) {
    url = new URL(config.endpoint);
    checkProtocol(url);
    if (url.origin !== base.origin) {
      throw refuse(
        `endpoint ${url.origin} is outside the integration's base URL ${base.origin}; use baseUrlOverride to target another host`,
      );
    }
  } else if (config.endpoint.startsWith('//')) {
    throw refuse('a protocol-relative endpoint (//host/…) is not allowed; use baseUrlOverride to target another host');
  } else {
    const path = base.pathname.replace(/\/$/, '') + (config.endpoint.startsWith('/') ? '' : '/') + config.endpoint;
    url = new URL(path + base.search, base.origin);
    // `..` segments cannot leave the origin (URL normalises them), so the origin check holds.
    if (url.origin !== base.origin) throw refuse(`endpoint ${config.endpoint} leaves the base URL's origin`);
  }
  appendParams(url, config.params);
  return url;
}

export function appendParams(url: URL, params: UrlParts['params']): void {
  if (params === undefined || params === null) return;
  if (typeof params === 'string' || params instanceof URLSearchParams) {
    for (const [k, v] of new URLSearchParams(params)) url.searchParams.append(k, v);
    return;
  }
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
  }
}

/** A redirect the proxy may follow: same origin only (credentials are attached). */
export function checkRedirect(from: URL, location: string, status: number, where: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw refuse(`${where} was redirected (${status}) to an invalid location`);
  }
  if (next.origin !== from.origin) {
    throw refuse(
      `${where} was redirected (${status}) to another host ${next.origin}: the request carries credentials, which are never forwarded across hosts, so the redirect was not followed`,
    );
  }
  return next;
}

/** True when `host` matches an allow-list entry (`api.example.com`, `*.example.com`, with or without `:port`). */
export function hostAllowed(url: URL, allowed: readonly string[]): boolean {
  const hostname = url.hostname.toLowerCase();
  const host = url.host.toLowerCase();
  return allowed.some((raw) => {
    const entry = raw
      .toLowerCase()
      .replace(/^https?:\/\//, '')
      .replace(/\/.*$/, '');
    const target = entry.includes(':') && !entry.startsWith('[') ? host : hostname;
    if (entry.startsWith('*.')) return target.endsWith(entry.slice(1)) && target.length > entry.length - 1;
    return target === entry;
  });
}

/**
 * The policy for `uncontrolledFetch`: http(s) only, to the integration's base URL origin or an
 * allow-listed host.
 */
export function checkUncontrolledUrl(
  raw: string | URL,
  baseOrigin: string | undefined,
  allowed: readonly string[],
): URL {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw refuse('uncontrolledFetch needs an absolute URL');
  }
  checkProtocol(url);
  if (url.origin === baseOrigin || hostAllowed(url, allowed)) return url;
  throw refuse(
    `uncontrolledFetch to ${url.origin} is not allowed: only the integration's base URL host${
      baseOrigin ? ` (${baseOrigin})` : ''
    } and the hosts in allowedHosts`,
  );
}
