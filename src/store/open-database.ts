import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { type CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { ConfigurationError } from '../errors.js';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import type { Tables } from './tables.js';

export const DEFAULT_DATABASE_URL = 'pglite://./.lifeline/data';

/**
 * An open database: Kysely over PostgreSQL (`postgres://…`) or embedded PGlite (`pglite://<dir>`,
 * `memory://`). One `Database` may be shared by several engines (each in its own schema); whoever
 * opened it closes it.
 *
 * @example
 * const database = await openDatabase('memory://');
 * const engine = await createEngine({ database, functions: [] });
 */
export interface Database {
  kind: 'postgres' | 'pglite';
  /** The URL with any password removed, for messages. */
  url: string;
  /** For an embedded store on disk, its data directory (the generated key is kept beside it). */
  dataDir: string | null;
  db: Kysely<Tables>;
  /**
   * Runs a query as a named prepared statement (PostgreSQL: parsed and planned once per pool
   * connection). Without it, the engine runs its statements as `db` does.
   */
  prepared?: PreparedRunner;
  close(): Promise<void>;
}

/** Runs `query` as the prepared statement `name`, returning its rows. */
export type PreparedRunner = <R>(name: string, query: CompiledQuery<R>) => Promise<R[]>;

/** A {@link PreparedRunner} on a `pg` pool: each pool connection prepares a statement once. */
export function preparedOn(pool: pg.Pool): PreparedRunner {
  return async <R>(name: string, query: CompiledQuery<R>) =>
    (await pool.query({ name, text: query.sql, values: [...query.parameters] })).rows as R[];
}

/** A {@link PreparedRunner} for a driver that keeps no prepared statements: the query as Kysely runs it. */
export function unprepared(db: Kysely<Tables>): PreparedRunner {
  return async (_name, query) => (await db.executeQuery(query)).rows;
}

/** `database` option, else `LIFELINE_DATABASE_URL`, else the embedded default. */
export function resolveDatabaseUrl(option?: string): string {
  return option ?? process.env.LIFELINE_DATABASE_URL ?? DEFAULT_DATABASE_URL;
}

function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

export async function openDatabase(url: string): Promise<Database> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // A client whose server connection dies (a restart, pg_terminate_backend) must not crash the
    // process: idle ones report to the pool, checked-out ones to their own listener. The query in
    // flight fails (and is retried where the engine retries), and the pool drops the client.
    pool.on('error', () => {});
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    const prepared = preparedOn(pool);
    return { kind: 'postgres', url: safeUrl(url), dataDir: null, db, prepared, close: () => db.destroy() };
  }
  let dataDir: string | null;
  if (url === 'memory://') dataDir = null;
  else if (url.startsWith('pglite://')) dataDir = resolve(url.slice('pglite://'.length) || '.lifeline/data');
  else {
    throw new ConfigurationError(
      `unsupported database URL ${safeUrl(url)}: use postgres://…, pglite://<dir> or memory://`,
    );
  }
  const lock: DataDirLock | null = dataDir ? lockDataDir(dataDir) : null;
  try {
    const pglite = new PGlite(dataDir ?? 'memory://');
    await pglite.waitReady;
    const pool = new pg.Pool(createPgConfig(pglite) as unknown as pg.PoolConfig);
    const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    return {
      kind: 'pglite',
      url,
      dataDir,
      db,
      async close() {
        await db.destroy();
        await pglite.close();
        lock?.release();
      },
    };
  } catch (error) {
    lock?.release();
    throw error;
  }
}
