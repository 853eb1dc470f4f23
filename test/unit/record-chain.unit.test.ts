import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ChainedContent, canonicalJson, createRecordChain, GENESIS } from '../../src/store/record-chain.js';

/** `canonicalJson` as first written: the reference any faster version must match on every value. */
function originalCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : originalCanonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${originalCanonicalJson(v)}`).join(',')}}`;
}

/**
 * The hash chain's output is part of every stored log: a change to `canonicalJson` or to what is
 * hashed would make existing logs fail `verify`. These values were computed with the original
 * implementation; any rewrite must reproduce them byte for byte.
 */
const key = Buffer.alloc(32, 7);

const record: ChainedContent = {
  connectionId: 'conn-1',
  version: 7,
  type: 'METADATA_SET',
  data: {
    metadata: {
      zeta: [1, -0, 2.5, 1e21, null, undefined, 'x"y\n\u00e9\ud83d\ude00'],
      Alpha: true,
      alpha: { b: {}, a: [] },
      ü: 0,
      skipped: undefined,
      '10': 'ten',
      '9': 'nine',
    },
    writer: 'app',
    dropped: ['k'],
  },
  from: 'active',
  to: 'active',
  at: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)),
  machineVersion: 'connection@1',
};

describe('canonicalJson', () => {
  it('Given nested data with unsorted keys, undefined values and unusual numbers and strings, When serialised, Then the text is the pinned one', () => {
    expect(canonicalJson(record.data)).toBe(
      '{"dropped":["k"],"metadata":{"10":"ten","9":"nine","Alpha":true,"alpha":{"a":[],"b":{}},"zeta":[1,0,2.5,1e+21,null,null,"x\\"y\\né😀"],"ü":0},"writer":"app"}',
    );
  });

  it('Given any value (sparse arrays, boxed values, dates, maps, null prototypes…), When serialised, Then the text is what the original implementation gave', () => {
    const anything = fc.anything({
      withSparseArray: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withTypedArray: true,
      withObjectString: true,
    });
    fc.assert(
      fc.property(anything, (value) => {
        expect(canonicalJson(value)).toBe(originalCanonicalJson(value));
      }),
      { numRuns: 2000 },
    );
    // A hole is left empty, as `Array.prototype.map` then `join` did.
    const sparse = [1, 2];
    sparse.length = 3;
    sparse[2] = 3;
    delete sparse[1];
    expect(canonicalJson(sparse)).toBe('[1,,3]');
  });

  it('Given scalars, When serialised, Then they read as JSON does', () => {
    expect([null, undefined, true, 3, 'a', [], {}].map(canonicalJson)).toEqual([
      'null',
      'null',
      'true',
      '3',
      '"a"',
      '[]',
      '{}',
    ]);
  });
});

describe('record chain', () => {
  const chain = createRecordChain(key);

  it('Given a fixed key and record, When hashed after the genesis, Then the hash is the pinned one', () => {
    expect(chain.hash(GENESIS, record)).toBe('m51R45guP23iRlF142fSsj4h2S7hEUaV4YtqKYugkrg');
  });

  it('Given a fixed key and a first record with empty data, When hashed after a previous hash, Then the hash is the pinned one', () => {
    expect(chain.hash('prev-hash', { ...record, from: null, data: {} })).toBe(
      'H6xkehG-alR8ZN9DoHRMroNk-H8Mz2ywLky3EIctSQo',
    );
  });

  it('Given another key, When the same record is hashed, Then the hash differs', () => {
    expect(createRecordChain(Buffer.alloc(32, 8)).hash(GENESIS, record)).not.toBe(chain.hash(GENESIS, record));
  });
});
