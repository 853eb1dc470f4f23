import { describe, expect, it } from 'vitest';
import { jsonProblem, toJsonSafe } from '../../src/engine/json-safe.js';

describe('toJsonSafe', () => {
  it('turns anything into JSON that jsonb accepts, without throwing', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(
      toJsonSafe({
        big: 10n,
        nul: 'a\u0000b',
        inf: Number.POSITIVE_INFINITY,
        u: undefined,
        f: () => 1,
        e: new TypeError('x'),
        d: new Date(0),
        cyclic,
        list: [undefined, 1],
      }),
    ).toEqual({
      big: '10',
      nul: 'a\uFFFDb',
      inf: 'Infinity',
      e: 'TypeError: x',
      d: '1970-01-01T00:00:00.000Z',
      cyclic: { a: 1, self: '[Circular]' },
      list: [null, 1],
    });
  });

  it('keeps a value that appears twice without being circular', () => {
    const shared = { x: 1 };
    expect(toJsonSafe({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });
});

describe('jsonProblem', () => {
  it('accepts plain JSON, with undefined keys (they are not stored)', () => {
    expect(jsonProblem({ a: [1, 'x', null, { b: true }], c: undefined })).toBeNull();
  });

  it('names what cannot be stored and where', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.me = cyclic;
    expect(jsonProblem({ a: { b: 1n } })).toBe('a.b is a BigInt; store it as a string');
    expect(jsonProblem({ s: 'x\u0000' })).toBe('s contains a NUL character');
    expect(jsonProblem({ n: Number.NaN })).toBe('n is NaN, which JSON cannot hold');
    expect(jsonProblem({ d: new Date() })).toBe('d is a Date, not plain JSON');
    expect(jsonProblem(cyclic)).toBe('me refers back to itself');
  });
});
