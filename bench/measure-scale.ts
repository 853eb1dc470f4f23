import { sql } from 'kysely';
import type { Engine } from '../src/index.js';
import type { BenchDatabase } from './bench-database.js';
import { connectCommand } from './bench-engine.js';
import { inFlight } from './stats.js';

/** Process memory after a full garbage collection (needs `node --expose-gc`). */
export interface MemorySample {
  /** Connections the engine has driven to `active` and left idle. */
  idleConnections: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

export function sampleMemory(idleConnections: number): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  const mb = (n: number) => n / 2 ** 20;
  return {
    idleConnections,
    rssMb: mb(m.rss),
    heapUsedMb: mb(m.heapUsed),
    externalMb: mb(m.external),
    arrayBuffersMb: mb(m.arrayBuffers),
  };
}

/** CONNECT → active for connections `from`…`to`-1, `concurrency` in flight, then waits for setup. */
export async function driveToActive(engine: Engine, prefix: string, from: number, to: number, concurrency: number) {
  await inFlight(to - from, concurrency, async (k) => {
    const r = await engine.send(`${prefix}-${from + k}`, connectCommand(from + k));
    if (r.state !== 'active') throw new Error(`${prefix}-${from + k}: CONNECT ended ${r.state}`);
  });
  await engine.settled();
}

/**
 * Adds connections by SQL until the schema holds `total`: copies of `templateId`'s records and
 * projection under new ids (`seed-<n>`), in batches, then VACUUM ANALYZE and a CHECKPOINT. They give the tables and
 * indexes the size of a busy store; their hash chains are not valid for their new ids, so they
 * are not for `verify`.
 */
export async function seedConnections(bench: BenchDatabase, schema: string, templateId: string, total: number) {
  const db = bench.database.db;
  const events = sql.id(schema, 'lifeline_events');
  const connections = sql.id(schema, 'lifeline_connections');
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${connections}`.execute(db);
  let have = Number(rows[0]?.n);
  const batch = 5000;
  while (have < total) {
    const from = have;
    const to = Math.min(total, have + batch) - 1;
    await db.transaction().execute(async (trx) => {
      await sql`insert into ${events} (connection_id, version, type, data, state_from, state_to, at, machine_version, prev_hash, hash)
        select 'seed-' || g, e.version, e.type, e.data, e.state_from, e.state_to, e.at, e.machine_version, e.prev_hash, e.hash
        from generate_series(${from}::int, ${to}::int) g cross join ${events} e where e.connection_id = ${templateId}
        order by g, e.version`.execute(trx);
      await sql`insert into ${connections} (connection_id, integration, state, state_value, context, version, created_at, updated_at, last_hash)
        select 'seed-' || g, c.integration, c.state, c.state_value, c.context, c.version, c.created_at, c.updated_at, c.last_hash
        from generate_series(${from}::int, ${to}::int) g cross join ${connections} c where c.connection_id = ${templateId}`.execute(
        trx,
      );
    });
    have = to + 1;
  }
  await settleTables(bench, schema);
  return have;
}

/**
 * Settles what bulk writes left behind (dirty pages, visibility map, statistics) before a scale
 * point, so that the lifecycles timed next pay for the tables' size, not for their aftermath.
 * Every scale point gets it, so they compare alike.
 */
export async function settleTables(bench: BenchDatabase, schema: string) {
  const db = bench.database.db;
  await sql`vacuum analyze ${sql.id(schema, 'lifeline_events')}`.execute(db);
  await sql`vacuum analyze ${sql.id(schema, 'lifeline_connections')}`.execute(db);
  await sql`vacuum analyze ${sql.id(schema, 'lifeline_services')}`.execute(db);
  await sql`checkpoint`.execute(db);
}
