import { fold } from '../machines/connection-fold.js';
import { resolveEncryptionKey } from '../src/crypto/encryption-key.js';
import type { Engine } from '../src/index.js';
import { EventStore, type LogRecord, type StoredProjection, toFoldInput } from '../src/store/event-store.js';
import { createRecordChain } from '../src/store/record-chain.js';
import { verifyConnection } from '../src/store/verify-connection.js';
import type { BenchDatabase } from './bench-database.js';
import { BENCH_KEY } from './bench-engine.js';
import { repeatedRate } from './measure-replay.js';

/** `verify` over every connection of a schema. */
export interface VerifyRun {
  connections: number;
  records: number;
  /** `engine.verify()`: page through the database, check chains, replay, compare. */
  fromDatabaseRecordsPerSecond: number;
  fromDatabaseConnectionsPerSecond: number;
  /** The same checks over records and projections already loaded. */
  inMemoryRecordsPerSecond: number;
  /** `fold` alone over the same loaded records (replay without the hash chain and comparison). */
  foldOnlyRecordsPerSecond: number;
}

/** Every connection's records and projection, loaded once for the in-memory figures. */
export interface LoadedLog {
  connections: Array<{ id: string; records: LogRecord[]; stored: StoredProjection | null }>;
  records: number;
}

export async function loadLog(bench: BenchDatabase, schema: string): Promise<LoadedLog> {
  const chain = createRecordChain(resolveEncryptionKey(BENCH_KEY, bench.database));
  const store = new EventStore(bench.database.db, schema, chain);
  const connections: LoadedLog['connections'] = [];
  let records = 0;
  for await (const page of store.pages(500)) {
    for (const { projection, records: history } of page) {
      connections.push({ id: projection.connectionId, records: history, stored: projection });
      records += history.length;
    }
  }
  return { connections, records };
}

/** Times `engine.verify()` against the database, then the same checks and the fold over `log`. */
export async function measureVerify(bench: BenchDatabase, engine: Engine, log: LoadedLog): Promise<VerifyRun> {
  const t = performance.now();
  const report = await engine.verify();
  const fromDbMs = performance.now() - t;
  if (report.mismatches.length > 0) throw new Error(`verify found ${report.mismatches.length} mismatches`);
  const chain = createRecordChain(resolveEncryptionKey(BENCH_KEY, bench.database));
  let found = 0;
  for (const c of log.connections) found += verifyConnection(c.id, c.records, c.stored, chain).length;
  if (found > 0) throw new Error(`in-memory verify found ${found} mismatches`);
  const inputs = log.connections.map((c) => ({ id: c.id, inputs: c.records.map(toFoldInput) }));
  const perSecond = (n: number, ms: number) => (n / ms) * 1000;
  return {
    connections: report.connections,
    records: report.records,
    fromDatabaseRecordsPerSecond: perSecond(report.records, fromDbMs),
    fromDatabaseConnectionsPerSecond: perSecond(report.connections, fromDbMs),
    inMemoryRecordsPerSecond: repeatedRate(log.records, () => {
      for (const c of log.connections) verifyConnection(c.id, c.records, c.stored, chain);
    }),
    foldOnlyRecordsPerSecond: repeatedRate(log.records, () => {
      for (const c of inputs) fold(c.id, c.inputs);
    }),
  };
}
