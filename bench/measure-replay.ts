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
 * Times `engine.replay(id)`, and the in-memory fold of the same records after one untimed fold
 * (a running engine folds all the time: the figure is the warm one).
 */
export async function measureReplay(engine: Engine, id: string): Promise<ReplayRun> {
  let t = performance.now();
  const replayed = await engine.replay(id);
  const fromDbMs = performance.now() - t;
  if (!replayed) throw new Error(`replay: ${id} has no records`);
  const inputs = (await engine.history(id)).map(toInput);
  fold(id, inputs);
  t = performance.now();
  const folded = fold(id, inputs);
  const inMemoryMs = performance.now() - t;
  if (folded.version !== replayed.version) throw new Error('replay and fold disagree');
  return {
    records: inputs.length,
    fromDatabaseRecordsPerSecond: (inputs.length / fromDbMs) * 1000,
    inMemoryRecordsPerSecond: (inputs.length / inMemoryMs) * 1000,
  };
}
