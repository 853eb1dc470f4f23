import type { RetryHeaderConfig } from '../providers/provider-schema.js';

/**
 * When proxy retries happen and how long they wait. Pure: the clock is an argument.
 *
 * @example
 * backoffDelay(2, { retryBaseMs: 200, retryMaxMs: 30_000 }); // 800
 * retryWaitMs({ attempt: 0, headers: { 'retry-after': '3' }, settings, now: Date.now() }); // 3000
 */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Exponential backoff for the retry after `attempt` (0-based): base · 2^attempt, capped. */
export function backoffDelay(attempt: number, settings: { retryBaseMs: number; retryMaxMs: number }): number {
  return Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, attempt));
}

/** Statuses worth retrying: 5xx, 429, and the call's `retryOn` codes. */
export function isRetryableStatus(status: number, retryOn: readonly number[] | undefined): boolean {
  return status >= 500 || status === 429 || (retryOn ?? []).includes(status);
}

function header(headers: ResponseHeaders, name: string): string | undefined {
  const raw = headers[name.toLowerCase()];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A delay in seconds (`Retry-After: 3`) or an HTTP date, as ms from `now`. */
export function parseAfter(value: string | undefined, now: number): number {
  if (value === undefined) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : 0;
}

/** A point in time: Unix seconds, Unix ms (13 digits and more) or an HTTP date, as ms from `now`. */
export function parseAt(value: string | undefined, now: number): number {
  if (value === undefined) return 0;
  const number = Number(value);
  if (Number.isFinite(number)) {
    const atMs = number >= 1e12 ? number : number * 1000;
    return Math.max(0, atMs - now);
  }
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : 0;
}

/**
 * How long to wait before the retry after `attempt`: the longest of the exponential backoff,
 * `Retry-After`, and the provider's `retryHeader.at` / `retryHeader.after` headers.
 */
export function retryWaitMs(input: {
  attempt: number;
  headers: ResponseHeaders | undefined;
  retryHeader?: RetryHeaderConfig | undefined;
  settings: { retryBaseMs: number; retryMaxMs: number };
  now: number;
}): number {
  const { attempt, headers, retryHeader, settings, now } = input;
  let wait = backoffDelay(attempt, settings);
  if (headers) {
    wait = Math.max(wait, parseAfter(header(headers, 'retry-after'), now));
    if (retryHeader?.after) wait = Math.max(wait, parseAfter(header(headers, retryHeader.after), now));
    if (retryHeader?.at) wait = Math.max(wait, parseAt(header(headers, retryHeader.at), now));
  }
  return Math.ceil(wait);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
