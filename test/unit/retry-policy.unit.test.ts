import { describe, expect, it } from 'vitest';
import {
  abortableSleep,
  backoffDelay,
  isRetryableStatus,
  parseAfter,
  parseAt,
  retryWaitMs,
} from '../../src/http/retry-policy.js';

const settings = { retryBaseMs: 100, retryMaxMs: 1000 };
const now = Date.parse('2026-01-01T00:00:00Z');

describe('retry policy', () => {
  it('backs off exponentially from the base, capped', () => {
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, settings))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('retries 5xx, 429 and retryOn codes only', () => {
    expect([500, 502, 503, 429].every((s) => isRetryableStatus(s, undefined))).toBe(true);
    expect(isRetryableStatus(404, undefined)).toBe(false);
    expect(isRetryableStatus(409, [409])).toBe(true);
  });

  it('reads Retry-After as seconds or an HTTP date, and `at` headers as Unix seconds, ms or a date', () => {
    expect(parseAfter('3', now)).toBe(3000);
    expect(parseAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseAfter('soon', now)).toBe(0);
    expect(parseAt(String(now / 1000 + 7), now)).toBe(7000);
    expect(parseAt(String(now + 1500), now)).toBe(1500);
    expect(parseAt(new Date(now - 1000).toISOString(), now)).toBe(0);
  });

  it('waits the longest of backoff, Retry-After and the retry headers', () => {
    const wait = (headers: Record<string, string>, retryHeader?: { at?: string; after?: string }) =>
      retryWaitMs({ attempt: 1, headers, retryHeader, settings, now });
    expect(wait({})).toBe(200);
    expect(wait({ 'retry-after': '2' })).toBe(2000);
    expect(wait({ 'retry-after': '0' })).toBe(200);
    expect(wait({ 'x-wait': '4' }, { after: 'x-wait' })).toBe(4000);
    expect(wait({ 'x-ratelimit-reset': String(now / 1000 + 9), 'retry-after': '2' }, { at: 'x-ratelimit-reset' })).toBe(
      9000,
    );
    // A Retry-After longer than the backoff cap still wins.
    expect(wait({ 'retry-after': '60' })).toBe(60_000);
  });

  it('a wait ends early with the abort reason', async () => {
    const controller = new AbortController();
    const sleeping = abortableSleep(60_000, controller.signal);
    controller.abort(new Error('run timed out'));
    await expect(sleeping).rejects.toThrow('run timed out');
  });
});
