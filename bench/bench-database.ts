import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../src/index.js';
import { preparedOn } from '../src/store/open-database.js';
import type { Tables } from '../src/store/tables.js';
import { countStatements, type StatementCounts } from './counting-pool.js';

/** The pool size lifeline's own `openDatabase` gives a PostgreSQL store; the floor uses the same. */
export const POOL_SIZE = 10;

/**
 * A database for one benchmark run: lifeline's `Database` shape, built as `openDatabase` builds
 * it (pg.Pool of {@link POOL_SIZE} for PostgreSQL; PGlite's node-postgres adapter for the embedded
 * store), with its statements counted. Every schema made through {@link BenchDatabase.schema} is
 * dropped by `close()`.
 */
export interface BenchDatabase {
  kind: 'postgres' | 'pglite';
  database: Database;
  pool: pg.Pool;
  counts: StatementCounts;
  /** A fresh schema name for one measurement (dropped on close). */
  schema(label: string): string;
  /** The server's version string. */
  serverVersion(): Promise<string>;
  /** Transaction ids the server handed out so far (each write transaction takes one). */
  xid(): Promise<number>;
  close(): Promise<void>;
}

export async function openBenchDatabase(kind: 'postgres' | 'pglite', url: string): Promise<BenchDatabase> {
  let pool: pg.Pool;
  let closeExtra: () => Promise<void> = async () => {};
  if (kind === 'postgres') {
    pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
    pool.on('error', () => {});
  } else {
    const pglite = new PGlite('memory://');
    await pglite.waitReady;
    pool = new pg.Pool(createPgConfig(pglite) as unknown as pg.PoolConfig);
    closeExtra = () => pglite.close();
  }
  const counts = countStatements(pool);
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  const prefix = `lifeline_bench_${randomBytes(4).toString('hex')}`;
  const schemas: string[] = [];
  const database: Database = {
    kind,
    url: kind === 'postgres' ? url.replace(/:[^:@/]*@/, ':***@') : 'memory://',
    dataDir: null,
    db,
    // As openDatabase: prepared statements on PostgreSQL, none on PGlite.
    ...(kind === 'postgres' ? { prepared: preparedOn(pool) } : {}),
    close: async () => {},
  };
  return {
    kind,
    database,
    pool,
    counts,
    schema(label) {
      const name = `${prefix}_${label}`;
      schemas.push(name);
      return name;
    },
    async serverVersion() {
      const { rows } = await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db);
      return rows[0]?.v ?? 'unknown';
    },
    async xid() {
      const { rows } = await sql<{ x: string }>`select pg_current_xact_id()::text as x`.execute(db);
      return Number(rows[0]?.x);
    },
    async close() {
      for (const name of schemas) await sql`drop schema if exists ${sql.id(name)} cascade`.execute(db);
      await db.destroy();
      await closeExtra();
    },
  };
}
