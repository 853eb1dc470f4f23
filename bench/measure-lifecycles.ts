import { sql } from 'kysely';
import type { Engine } from '../src/index.js';
import type { BenchDatabase } from './bench-database.js';
import { connectCommand } from './bench-engine.js';
import { diffCounts } from './counting-pool.js';
import { inFlight, percentile } from './stats.js';

/** One run of full lifecycles at one concurrency. */
export interface LifecycleRun {
  lifecycles: number;
  concurrency: number;
  elapsedMs: number;
  lifecyclesPerSecond: number;
  /** Log records appended per lifecycle (each one a durable state change). */
  recordsPerLifecycle: number;
  recordsPerSecond: number;
  /** Commits that wrote (appends: transactions or single statements), per lifecycle, counted at the client. */
  writeCommitsPerLifecycle: number;
  writeCommitsPerSecond: number;
  /** Of those, single statements outside a transaction, per lifecycle. */
  autocommitWritesPerLifecycle: number;
  /** Statements outside a transaction that only read (projection loads), per lifecycle. */
  readsPerLifecycle: number;
  /** Every statement sent (round trips), per lifecycle. */
  statementsPerLifecycle: number;
  /** Transaction ids the server assigned per lifecycle (a cross-check of the write commits). */
  xidsPerLifecycle: number;
  connectMs: { p50: number; p99: number };
  deleteMs: { p50: number; p99: number };
}

async function countRecords(bench: BenchDatabase, schema: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.id(schema, 'lifeline_events')}`.execute(
    bench.database.db,
  );
  return Number(rows[0]?.n);
}

/**
 * Drives `lifecycles` connections through CONNECT → active (validate, setup) → DELETE (cleanup) →
 * deleted with `concurrency` in flight, and counts what reached the database.
 */
export async function measureLifecycles(
  bench: BenchDatabase,
  engine: Engine & { schema: string },
  lifecycles: number,
  concurrency: number,
  idPrefix: string,
): Promise<LifecycleRun> {
  const connectMs: number[] = [];
  const deleteMs: number[] = [];
  const recordsBefore = await countRecords(bench, engine.schema);
  const countsBefore = { ...bench.counts };
  const xidBefore = await bench.xid();
  const started = performance.now();
  await inFlight(lifecycles, concurrency, async (i) => {
    const id = `${idPrefix}-${i}`;
    const t0 = performance.now();
    const connected = await engine.send(id, connectCommand(i));
    const t1 = performance.now();
    if (connected.state !== 'active') throw new Error(`${id}: CONNECT ended ${connected.state}`);
    const deleted = await engine.send(id, { type: 'DELETE' });
    const t2 = performance.now();
    if (deleted.state !== 'deleted') throw new Error(`${id}: DELETE ended ${deleted.state}`);
    connectMs.push(t1 - t0);
    deleteMs.push(t2 - t1);
  });
  const elapsedMs = performance.now() - started;
  const xids = (await bench.xid()) - xidBefore - 1;
  const counts = diffCounts(bench.counts, countsBefore);
  const records = (await countRecords(bench, engine.schema)) - recordsBefore;
  const per = (n: number) => n / lifecycles;
  const perSecond = (n: number) => (n / elapsedMs) * 1000;
  return {
    lifecycles,
    concurrency,
    elapsedMs,
    lifecyclesPerSecond: perSecond(lifecycles),
    recordsPerLifecycle: per(records),
    recordsPerSecond: perSecond(records),
    writeCommitsPerLifecycle: per(counts.writeCommits),
    writeCommitsPerSecond: perSecond(counts.writeCommits),
    autocommitWritesPerLifecycle: per(counts.autocommitWrites),
    // The xid read and the count(*) above are the benchmark's, not the lifecycles'.
    readsPerLifecycle: per(counts.autocommitReads - 2),
    statementsPerLifecycle: per(counts.statements - 2),
    xidsPerLifecycle: per(xids),
    connectMs: { p50: percentile(connectMs, 50), p99: percentile(connectMs, 99) },
    deleteMs: { p50: percentile(deleteMs, 50), p99: percentile(deleteMs, 99) },
  };
}
