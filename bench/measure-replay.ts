import type { FoldInput } from '../machines/connection-fold.js';
import { fold } from '../machines/connection-fold.js';
import type { Engine, HistoryEntry } from '../src/index.js';
import { connectCommand } from './bench-engine.js';

/** Replay of one connection with a long history. */
export interface ReplayRun {
  records: number;
  /** `engine.replay(id)`: read the records from the database and fold them. */
  fromDatabaseRecordsPerSecond: number;
  /** `fold` over records already in memory (what replay costs once the rows are read). */
  inMemoryRecordsPerSecond: number;
}

/** A history entry as the fold takes it. */
export function toInput(entry: HistoryEntry): FoldInput {
  return { version: entry.version, at: entry.at, event: { type: entry.type, ...entry.data } as FoldInput['event'] };
}

/**
 * Builds one connection with at least `records` records (CONNECT, then app metadata updates,
 * each its own append) and returns its id.
 */
export async function buildLongHistory(engine: Engine, id: string, records: number): Promise<string> {
  let { version } = await engine.send(id, connectCommand(0));
  await engine.settled();
  version += 1; // SETUP_FINISHED
  for (let i = 0; version < records; i++) ({ version } = await engine.updateMetadata(id, { step: i }));
  return id;
}

/**
 * Items per second of `work` (which handles `items` per call), repeated for at least `minMs`: one
 * pass over a few thousand records takes a few milliseconds, which one garbage collection can
 * double. The first call is untimed (a running engine folds all the time: the figure is warm).
 */
export function repeatedRate(items: number, work: () => unknown, minMs = 250): number {
  work();
  let calls = 0;
  const t = performance.now();
  let elapsed = 0;
  do {
    work();
    calls++;
    elapsed = performance.now() - t;
  } while (elapsed < minMs);
  return ((calls * items) / elapsed) * 1000;
}

/** Times `engine.replay(id)`, and the in-memory fold of the same records (see {@link repeatedRate}). */
export async function measureReplay(engine: Engine, id: string): Promise<ReplayRun> {
  const t = performance.now();
  const replayed = await engine.replay(id);
  const fromDbMs = performance.now() - t;
  if (!replayed) throw new Error(`replay: ${id} has no records`);
  const inputs = (await engine.history(id)).map(toInput);
  const folded = fold(id, inputs);
  if (folded.version !== replayed.version) throw new Error('replay and fold disagree');
  return {
    records: inputs.length,
    fromDatabaseRecordsPerSecond: (inputs.length / fromDbMs) * 1000,
    inMemoryRecordsPerSecond: repeatedRate(inputs.length, () => fold(id, inputs)),
  };
}
