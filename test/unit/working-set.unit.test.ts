import { describe, expect, it } from 'vitest';
import { emptyProjection } from '../../machines/connection-fold.js';
import { WorkingSet } from '../../src/engine/working-set.js';
import { GENESIS } from '../../src/store/record-chain.js';

const stored = (id: string, version: number) => ({ ...emptyProjection(id), version, lastHash: GENESIS });

describe('WorkingSet', () => {
  it('given a connection being worked on, when its projection is written, then it is remembered', () => {
    const working = new WorkingSet();
    working.enter('c1');
    working.remember(stored('c1', 3));
    expect(working.get('c1')?.version).toBe(3);
  });

  it('given no work on a connection, when its projection is written, then nothing is kept', () => {
    const working = new WorkingSet();
    working.remember(stored('c1', 3));
    expect(working.get('c1')).toBeUndefined();
    expect(working.size).toBe(0);
  });

  it('given two pieces of work, when one ends, then the projection stays until the last ends', () => {
    const working = new WorkingSet();
    working.enter('c1');
    working.enter('c1');
    working.remember(stored('c1', 1));
    working.leave('c1');
    expect(working.get('c1')?.version).toBe(1);
    working.leave('c1');
    expect(working.get('c1')).toBeUndefined();
    expect(working.size).toBe(0);
    // A connection that left the set is not remembered again until work on it starts again.
    working.remember(stored('c1', 2));
    expect(working.get('c1')).toBeUndefined();
  });

  it('given a remembered projection, when it is forgotten (a write failed), then the next commit reads', () => {
    const working = new WorkingSet();
    working.enter('c1');
    working.remember(stored('c1', 1));
    working.forget('c1');
    expect(working.get('c1')).toBeUndefined();
  });
});
