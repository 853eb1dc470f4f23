import { describe, expect, it } from 'vitest';
import { isLifelineError } from '../../src/errors.js';
import { linkFromHeader } from '../../src/http/link-header.js';
import { getPath } from '../../src/http/object-path.js';
import { checkRedirect, checkUncontrolledUrl, hostAllowed } from '../../src/http/outbound-policy.js';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isLifelineError(e) ? e.code : 'other';
  }
  return undefined;
}

describe('outbound policy', () => {
  it('follows redirects on the same origin only', () => {
    const from = new URL('https://api.example.com/a');
    expect(checkRedirect(from, '/b?x=1', 302, 'GET').toString()).toBe('https://api.example.com/b?x=1');
    expect(code(() => checkRedirect(from, 'https://evil.example.net/', 302, 'GET'))).toBe('outbound_refused');
    expect(code(() => checkRedirect(from, 'http://api.example.com/b', 301, 'GET'))).toBe('outbound_refused');
  });

  it('matches allow-listed hosts, with wildcards and ports', () => {
    const allowed = ['files.example.com', '*.cdn.example.org', '127.0.0.1:8080'];
    expect(hostAllowed(new URL('https://files.example.com/x'), allowed)).toBe(true);
    expect(hostAllowed(new URL('https://a.cdn.example.org/x'), allowed)).toBe(true);
    expect(hostAllowed(new URL('https://cdn.example.org/x'), allowed)).toBe(false);
    expect(hostAllowed(new URL('https://evilfiles.example.com/x'), allowed)).toBe(false);
    expect(hostAllowed(new URL('http://127.0.0.1:8080/x'), allowed)).toBe(true);
    expect(hostAllowed(new URL('http://127.0.0.1:8081/x'), allowed)).toBe(false);
  });

  it('uncontrolledFetch reaches the base origin and allowed hosts, nothing else, http(s) only', () => {
    expect(checkUncontrolledUrl('https://api.example.com/x', 'https://api.example.com', []).host).toBe(
      'api.example.com',
    );
    expect(code(() => checkUncontrolledUrl('https://other.example.com/x', 'https://api.example.com', []))).toBe(
      'outbound_refused',
    );
    expect(code(() => checkUncontrolledUrl('file:///etc/passwd', undefined, ['*']))).toBe('outbound_refused');
    expect(code(() => checkUncontrolledUrl('not a url', undefined, []))).toBe('outbound_refused');
  });
});

describe('pagination helpers', () => {
  it('reads dot paths, array indexes and keys that hold dots', () => {
    expect(getPath({ a: { b: [{ c: 1 }] } }, 'a.b[0].c')).toBe(1);
    expect(getPath({ '@odata.nextLink': 'u' }, '@odata.nextLink')).toBe('u');
    expect(getPath({ a: 1 }, 'a.b.c')).toBeUndefined();
    expect(getPath(null, 'a')).toBeUndefined();
  });

  it('finds a relation in a Link header', () => {
    const header = '<https://api.github.com/r?page=2>; rel="next", <https://api.github.com/r?page=9>; rel="last"';
    expect(linkFromHeader(header, 'next')).toBe('https://api.github.com/r?page=2');
    expect(linkFromHeader(header, 'last')).toBe('https://api.github.com/r?page=9');
    expect(linkFromHeader(header, 'prev')).toBeUndefined();
    expect(linkFromHeader(undefined, 'next')).toBeUndefined();
  });
});
