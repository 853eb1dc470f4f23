import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createEngine, createOnEvent, openDatabase } from '../../src/index.js';
import { spawnEngineProcess } from '../support/spawn-engine-process.js';
import { freshSchema, TEST_KEY } from '../support/test-stores.js';

const postgres = process.env.LIFELINE_TEST_DATABASE_URL;
const PROCESSES = 4;
const COMMANDS = Number(process.env.LIFELINE_CONCURRENCY_COMMANDS ?? 150);

function runLoad(config: Record<string, unknown>): Promise<{ done: boolean; outcomes: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const child = spawnEngineProcess(config);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += String(c);
    });
    child.stderr.on('data', (c) => {
      err += String(c);
    });
    child.once('exit', (code) => {
      const lines = out.trim().split('\n');
      if (code !== 0) return reject(new Error(`load process exited ${code}: ${err}${out}`));
      const unexpected = lines.filter((l) => l.startsWith('{"error"'));
      if (unexpected.length > 0) return reject(new Error(`unexpected errors: ${unexpected.join('\n')}`));
      resolve(JSON.parse(lines.at(-1) as string));
    });
  });
}

describe.runIf(postgres)('many processes, one PostgreSQL', () => {
  it(`${PROCESSES} processes × ${COMMANDS} commands on overlapping connections: every log contiguous and replaying to its projection`, async () => {
    const schema = freshSchema();
    try {
      const summaries = await Promise.all(
        Array.from({ length: PROCESSES }, (_, i) =>
          runLoad({
            mode: 'load',
            database: postgres,
            schema,
            key: TEST_KEY,
            seed: 1000 + i,
            commands: COMMANDS,
            connections: 6,
          }),
        ),
      );
      const accepted = summaries.reduce((n, s) => n + (s.outcomes.accepted ?? 0), 0);
      expect(accepted).toBeGreaterThan(PROCESSES * COMMANDS * 0.2);
      const checker = await createEngine({
        database: postgres,
        schema,
        encryptionKey: TEST_KEY,
        logger: pino({ level: 'silent' }),
        recoveryIntervalMs: 0,
      });
      try {
        const report = await checker.verify();
        expect(report.mismatches).toEqual([]);
        expect(report.connections).toBe(6);
        expect(report.records).toBeGreaterThan(accepted);
        for (let i = 0; i < 6; i++) {
          const history = await checker.history(`load-${i}`);
          expect(history.map((h) => h.version)).toEqual(history.map((_, j) => j + 1));
          expect(await checker.replay(`load-${i}`)).toEqual(await checker.getConnection(`load-${i}`));
        }
        console.log(
          `[concurrency] ${PROCESSES} processes, ${PROCESSES * COMMANDS} commands, ${accepted} accepted, ${report.records} records, 0 mismatches`,
        );
      } finally {
        await checker.close();
      }
    } finally {
      const db = await openDatabase(postgres as string);
      await db.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await db.close();
    }
  }, 240_000);

  it('the database connection killed mid-command (pg_terminate_backend): the outcome is still recorded', async () => {
    const schema = freshSchema();
    const url = new URL(postgres as string);
    url.searchParams.set('application_name', `lifeline-fault-${schema}`);
    const admin = new pg.Client({ connectionString: postgres });
    await admin.connect();
    let killed = 0;
    const engine = await createEngine({
      database: url.toString(),
      schema,
      encryptionKey: TEST_KEY,
      logger: pino({ level: 'silent' }),
      functions: [
        {
          integration: 'sf',
          name: 'check',
          definition: createOnEvent({
            event: 'validate-connection',
            exec: async () => {
              const { rows } = await admin.query(
                'select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1',
                [`lifeline-fault-${schema}`],
              );
              killed += rows.filter((r) => r.ok).length;
            },
          }),
        },
      ],
    });
    try {
      const r = await engine.send('c1', {
        type: 'CONNECT',
        integration: 'sf',
        credentials: { type: 'API_KEY', apiKey: 'k-12345' },
      });
      expect(killed).toBeGreaterThan(0);
      expect(r.state).toBe('active');
      await engine.settled();
      expect((await engine.verify()).mismatches).toEqual([]);
    } finally {
      await engine.close();
      await admin.end();
      const db = await openDatabase(postgres as string);
      await db.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await db.close();
    }
  }, 60_000);

  it('a connection killed while the engine holds it checked out does not crash the process', async () => {
    const url = new URL(postgres as string);
    url.searchParams.set('application_name', 'lifeline-checked-out');
    const database = await openDatabase(url.toString());
    const admin = new pg.Client({ connectionString: postgres });
    await admin.connect();
    try {
      const failed = await database.db
        .connection()
        .execute(async (conn) => {
          await sql`select 1`.execute(conn);
          await admin.query(
            `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'lifeline-checked-out'`,
          );
          // The server's goodbye arrives while this client is checked out and idle.
          await new Promise((r) => setTimeout(r, 300));
          await sql`select 1`.execute(conn);
        })
        .catch((error: Error) => error);
      expect(String(failed)).toMatch(/terminat|not queryable/i);
      // The pool dropped the dead client; the next query gets a fresh connection.
      expect((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await database.close();
    }
  });
});
