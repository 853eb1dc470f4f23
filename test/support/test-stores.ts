import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { createEngine, type Database, type Engine, type EngineOptions, openDatabase } from '../../src/index.js';

/** A fixed key for tests that reopen what another engine wrote. */
export const TEST_KEY = randomBytes(32).toString('base64');

export interface TestStore {
  name: 'pglite' | 'postgres';
  open(): Promise<Database>;
}

// One database per worker and kind, shared by every test file the worker runs (isolate: false).
const shared = new Map<string, Promise<Database>>();
function once(name: string, open: () => Promise<Database>): Promise<Database> {
  let db = shared.get(name);
  if (!db) {
    db = open();
    shared.set(name, db);
  }
  return db;
}

export const pgliteStore: TestStore = { name: 'pglite', open: () => once('pglite', () => openDatabase('memory://')) };

const postgresUrl = process.env.LIFELINE_TEST_DATABASE_URL;
export const postgresStore: TestStore | null = postgresUrl
  ? { name: 'postgres', open: () => once('postgres', () => openDatabase(postgresUrl)) }
  : null;

/** The stores integration tests run on: PGlite always, PostgreSQL when configured. */
export const testStores: TestStore[] = postgresStore ? [pgliteStore, postgresStore] : [pgliteStore];

/** A schema name no other test uses: every engine in a test gets its own tables. */
export function freshSchema(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

/** A pino logger whose lines land in `lines` (parsed), for asserting on warnings. */
export function captureLogger(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/**
 * Engines on a fresh schema of `store`, closed (and their schemas dropped on PostgreSQL) after
 * the file's tests.
 */
export function engineFactory(store: TestStore) {
  const created: Array<{ engine: Engine; schema: string }> = [];
  afterAll(async () => {
    const db = await store.open();
    for (const { engine, schema } of created) {
      await engine.close();
      if (store.name === 'postgres') await db.db.schema.dropSchema(schema).ifExists().cascade().execute();
    }
  });
  return async (options: EngineOptions = {}): Promise<Engine & { schema: string }> => {
    const schema = options.schema ?? freshSchema();
    const engine = await createEngine({
      database: await store.open(),
      schema,
      encryptionKey: TEST_KEY,
      logger: pino({ level: 'silent' }),
      // Setup and cleanup retry by default; keep the backoff short in tests.
      retry: { baseMs: 5, capMs: 20 },
      ...options,
    });
    created.push({ engine, schema });
    return Object.assign(engine, { schema });
  };
}
