import { describe, expect, it } from 'vitest';
import { AppendBatcher } from '../../src/store/append-batcher.js';

interface Item {
  connectionId: string;
}

/** A writer that records each batch and answers when told to. */
function gatedWriter(
  outcome: (items: Item[]) => Set<string> | Error = (items) => new Set(items.map((i) => i.connectionId)),
) {
  const batches: string[][] = [];
  const gates: Array<() => void> = [];
  const write = (items: Item[]) => {
    batches.push(items.map((i) => i.connectionId));
    return new Promise<Set<string>>((resolve, reject) => {
      gates.push(() => {
        const result = outcome(items);
        if (result instanceof Error) reject(result);
        else resolve(result);
      });
    });
  };
  const openAll = async () => {
    while (gates.length > 0) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { write, batches, openAll };
}

const item = (connectionId: string): Item => ({ connectionId });

describe('AppendBatcher', () => {
  it('given no batch in flight, when an append arrives, then it leaves at once, alone', async () => {
    const writer = gatedWriter();
    const batcher = new AppendBatcher(writer.write, 2);
    const written = batcher.submit(item('a'));
    expect(writer.batches).toEqual([['a']]);
    await writer.openAll();
    expect(await written).toBe(true);
  });

  it('given every slot busy, when appends queue, then they leave together when a slot frees', async () => {
    const writer = gatedWriter();
    const batcher = new AppendBatcher(writer.write, 1);
    const all = ['a', 'b', 'c', 'd'].map((id) => batcher.submit(item(id)));
    expect(writer.batches).toEqual([['a']]);
    await writer.openAll();
    expect(writer.batches).toEqual([['a'], ['b', 'c', 'd']]);
    expect(await Promise.all(all)).toEqual([true, true, true, true]);
  });

  it('given a batch, when one connection was changed by another writer, then only that one is not written', async () => {
    const writer = gatedWriter((items) => new Set(items.map((i) => i.connectionId).filter((id) => id !== 'c')));
    const batcher = new AppendBatcher(writer.write, 1);
    const all = ['a', 'b', 'c'].map((id) => batcher.submit(item(id)));
    await writer.openAll();
    expect(await Promise.all(all)).toEqual([true, true, false]);
  });

  it('given a batch that fails as a whole, when it fails, then each item is sent alone and gets its own outcome', async () => {
    const failure = new Error('idempotency key taken');
    const writer = gatedWriter((items) =>
      items.some((i) => i.connectionId === 'c') ? failure : new Set(items.map((i) => i.connectionId)),
    );
    const batcher = new AppendBatcher(writer.write, 1);
    const all = ['a', 'b', 'c', 'd'].map((id) => batcher.submit(item(id)).catch((error: unknown) => error));
    await writer.openAll();
    expect(writer.batches).toEqual([['a'], ['b', 'c', 'd'], ['b'], ['c'], ['d']]);
    expect(await Promise.all(all)).toEqual([true, true, failure, true]);
  });

  it('given more queued appends than a batch holds, then they leave in batches of at most maxBatch', async () => {
    const writer = gatedWriter();
    const batcher = new AppendBatcher(writer.write, 1, 2);
    const all = ['a', 'b', 'c', 'd', 'e'].map((id) => batcher.submit(item(id)));
    await writer.openAll();
    expect(writer.batches).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
    expect(await Promise.all(all)).toEqual([true, true, true, true, true]);
  });
});
