import { describe, expect, it } from 'vitest';
import { isLifelineError } from '../../src/errors.js';
import { buildUrl } from '../../src/http/provider-request.js';

describe('provider URLs', () => {
  it('joins the base URL path and the endpoint, with params (arrays repeated)', () => {
    const url = buildUrl('https://api.example.com/v2/', { endpoint: '/users', params: { q: 'a b', id: [1, 2] } });
    expect(url.toString()).toBe('https://api.example.com/v2/users?q=a+b&id=1&id=2');
    expect(buildUrl('https://api.example.com', { endpoint: 'me', params: 'x=1&y=2' }).toString()).toBe(
      'https://api.example.com/me?x=1&y=2',
    );
  });

  it('accepts an absolute endpoint on the same origin, and baseUrlOverride', () => {
    expect(buildUrl('https://api.example.com', { endpoint: 'https://api.example.com/a' }).pathname).toBe('/a');
    expect(
      buildUrl('https://api.example.com', { endpoint: '/b', baseUrlOverride: 'https://other.example.com' }).host,
    ).toBe('other.example.com');
  });

  it('refuses an absolute endpoint to another host, and non-http protocols', () => {
    for (const attempt of [
      () => buildUrl('https://api.example.com', { endpoint: 'https://evil.example.net/steal' }),
      () => buildUrl('https://api.example.com', { endpoint: '/x', baseUrlOverride: 'file:///etc/passwd' }),
    ]) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(isLifelineError(error, 'outbound_refused')).toBe(true);
    }
  });
});
