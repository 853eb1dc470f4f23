import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import type { Engine, OnEventContext } from '../../src/index.js';
import { fn } from '../support/functions.js';
import { engineFactory, testStores } from '../support/test-stores.js';

const RUNS = Number(process.env.LIFELINE_PROPERTY_RUNS ?? 10);

type Value = string | number | boolean | null | { x: number; tags: string[] };
type Op = { kind: 'set' | 'update'; metadata: Record<string, Value> };

const value: fc.Arbitrary<Value> = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 6 }),
  fc.integer({ min: -5, max: 5 }),
  fc.boolean(),
  fc.constant(null),
  fc.record({ x: fc.integer({ min: 0, max: 3 }), tags: fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 }) }),
);
// Few keys, so writes overlap, replace and merge over each other.
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('set' as const, 'update' as const),
  metadata: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), value, { maxKeys: 3 }),
});

/** The model: setMetadata replaces, updateMetadata merges top-level keys. */
function model(initial: Record<string, Value>, ops: Op[]): Record<string, Value> {
  let metadata = { ...initial };
  for (const o of ops) metadata = o.kind === 'set' ? { ...o.metadata } : Object.assign(metadata, o.metadata);
  return { ...metadata };
}

describe.each(testStores)('metadata written by functions on $name', (store) => {
  const newEngine = engineFactory(store);
  let engine: Engine;
  let script: (nango: OnEventContext) => Promise<void> = async () => {};
  let n = 0;
  beforeAll(async () => {
    engine = await newEngine({ functions: [fn('m', 'writer', 'validate-connection', (nango) => script(nango))] });
  });

  test.prop([fc.dictionary(fc.constantFrom('a', 'z'), value, { maxKeys: 2 }), fc.array(op, { maxLength: 8 })], {
    numRuns: RUNS,
  })('equal the model after every write, and replay reproduces them', async (initial, ops) => {
    const id = `p-${++n}`;
    const seen: unknown[] = [];
    const expected: unknown[] = [];
    script = async (nango) => {
      for (const [i, o] of ops.entries()) {
        if (o.kind === 'set') await nango.setMetadata(o.metadata);
        else await nango.updateMetadata(o.metadata);
        seen.push(await nango.getMetadata());
        expected.push(model(initial, ops.slice(0, i + 1)));
      }
    };
    const r = await engine.send(id, {
      type: 'CONNECT',
      integration: 'm',
      credentials: { type: 'OAUTH2', access_token: 'tok-prop-0000-secret' },
      metadata: initial,
    });
    expect(r.state).toBe('active');
    await engine.settled();
    expect(seen).toEqual(expected);
    const stored = await engine.getConnection(id);
    expect(stored?.metadata).toEqual(model(initial, ops));
    expect(await engine.replay(id)).toEqual(stored);
  });
});
