import type { BenchDatabase } from './bench-database.js';
import { inFlight } from './stats.js';

/** One floor run: durable single-row appends, one commit each. */
export interface FloorRun {
  inserts: number;
  concurrency: number;
  elapsedMs: number;
  commitsPerSecond: number;
}

/**
 * The physical limit of a durable append on this database: single-row INSERTs of a record-sized
 * row, each its own transaction (autocommit, so one commit and one WAL flush per statement),
 * through `pg` on the same pool size lifeline uses, as a prepared statement (parsed and planned
 * once per connection, as lifeline's appends are on PostgreSQL).
 */
export async function measureFloor(bench: BenchDatabase, inserts: number, concurrency: number): Promise<FloorRun> {
  const schema = bench.schema(`floor_${concurrency}_${Date.now() % 100000}`);
  await bench.pool.query(`create schema if not exists ${schema}`);
  await bench.pool.query(
    `create table ${schema}.floor (id bigint generated always as identity primary key, stream text not null, data jsonb not null)`,
  );
  const data = JSON.stringify({ runId: '6b1f9a8e-3c39-4a52-8a8b-2f0c1b8d7e11', function: 'noop', durationMs: 0 });
  const started = performance.now();
  const text = `insert into ${schema}.floor (stream, data) values ($1, $2)`;
  await inFlight(inserts, concurrency, async (i) => {
    await bench.pool.query({ name: `floor_${schema}`, text, values: [`s-${i % 1000}`, data] });
  });
  const elapsedMs = performance.now() - started;
  await bench.pool.query(`drop schema ${schema} cascade`);
  return { inserts, concurrency, elapsedMs, commitsPerSecond: (inserts / elapsedMs) * 1000 };
}
