import { describe, expect, it } from 'vitest';
import { createRedactor, secretsOf } from '../../src/crypto/secret-redactor.js';

describe('secret redactor', () => {
  const redact = createRedactor(secretsOf({ type: 'OAUTH2', access_token: 'tok-123456', refresh_token: 'ref-987654' }));

  it('replaces secrets anywhere in nested values', () => {
    expect(redact({ a: 'Bearer tok-123456', b: ['x', { c: 'ref-987654 and tok-123456' }], n: 3, z: null })).toEqual({
      a: 'Bearer [REDACTED]',
      b: ['x', { c: '[REDACTED] and [REDACTED]' }],
      n: 3,
      z: null,
    });
  });

  it('turns errors into redacted text and survives cycles', () => {
    const cyclic: Record<string, unknown> = { e: new Error('bad tok-123456') };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ e: 'Error: bad [REDACTED]', self: '[Circular]' });
  });

  it('covers the Basic header form of username and password', () => {
    const basic = createRedactor(secretsOf({ type: 'BASIC', username: 'user', password: 'pass-word' }));
    const header = Buffer.from('user:pass-word').toString('base64');
    expect(basic(`Authorization: Basic ${header}`)).toBe('Authorization: Basic [REDACTED]');
  });

  it('ignores the type field and very short values that would redact ordinary words', () => {
    expect(secretsOf({ type: 'API_KEY', apiKey: 'abc' })).toEqual([]);
    expect(secretsOf({ type: 'API_KEY', apiKey: 'abcd-key' })).toEqual(['abcd-key']);
  });
});

describe('secret redactor: other shapes', () => {
  const redact = createRedactor(['AbC+dEf/GhI=jKl']);

  it('redacts object keys, not only values', () => {
    expect(redact({ 'AbC+dEf/GhI=jKl': 'seen' })).toEqual({ '[REDACTED]': 'seen' });
  });

  it('redacts the percent-encoded and form-encoded forms of a secret (as echoed in URLs)', () => {
    expect(redact('GET /me?api_key=AbC%2BdEf%2FGhI%3DjKl failed')).toBe('GET /me?api_key=[REDACTED] failed');
    const form = new URLSearchParams({ k: 'AbC+dEf/GhI=jKl' }).toString();
    expect(redact(form)).toBe('k=[REDACTED]');
  });
});
