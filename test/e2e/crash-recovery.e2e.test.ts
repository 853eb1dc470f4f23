import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, createOnEvent, type Engine, type LoadedFunction, openDatabase } from '../../src/index.js';
import { spawnEngineProcess } from '../support/spawn-engine-process.js';
import { freshSchema, TEST_KEY } from '../support/test-stores.js';

const postgres = process.env.LIFELINE_TEST_DATABASE_URL;
const tmp = mkdtempSync(join(tmpdir(), 'lifeline-crash-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The same functions as the crashed process, minus the hang. */
const functions: LoadedFunction[] = [
  { integration: 'sf', name: 'check', definition: createOnEvent({ event: 'validate-connection', exec: () => {} }) },
  {
    integration: 'sf',
    name: 'setup',
    definition: createOnEvent({ event: 'post-connection-creation', exec: () => {} }),
  },
  {
    integration: 'sf',
    name: 'cleanup',
    definition: createOnEvent({ event: 'pre-connection-deletion', exec: () => {} }),
  },
];

/** Starts a process that runs until its function for `at` is running, then SIGKILLs it there. */
async function killDuring(config: Record<string, unknown>, at: string): Promise<void> {
  const child = spawnEngineProcess({ mode: 'hang', at, key: TEST_KEY, ...config });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += String(c);
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c) => {
      if (String(c).includes(`RUNNING ${at}`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`engine process exited (${code}) before running ${at}: ${stderr}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

async function waitFor(engine: Engine, id: string, done: (types: string[], state?: string) => boolean) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const types = (await engine.history(id)).map((h) => h.type);
    const state = (await engine.getConnection(id))?.state;
    if (done(types, state)) return types;
    if (Date.now() > deadline) throw new Error(`recovery did not finish: ${state} ${types.join(',')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An engine on the crashed process's store, with recovery polling fast. */
const survivorOn = (database: string, schema = 'lifeline') =>
  createEngine({
    database,
    schema,
    encryptionKey: TEST_KEY,
    functions,
    logger: pino({ level: 'silent' }),
    leaseMs: 1000,
    recoveryIntervalMs: 100,
  });

const expected = {
  validate: { state: 'active', last: 'SETUP_FINISHED', abandoned: 'check' },
  setup: { state: 'active', last: 'SETUP_FINISHED', abandoned: 'setup' },
  cleanup: { state: 'deleted', last: 'CLEANUP_FINISHED', abandoned: 'cleanup' },
} as const;

describe.runIf(postgres)('crash recovery with real processes on PostgreSQL', () => {
  it.each(['validate', 'setup', 'cleanup'] as const)(
    'SIGKILL during %s: another engine completes the lifecycle',
    async (at) => {
      const schema = freshSchema();
      await killDuring({ database: postgres, schema }, at);
      const survivor = await survivorOn(postgres as string, schema);
      try {
        const want = expected[at];
        const types = await waitFor(
          survivor,
          `crash-${at}`,
          (t, state) => state === want.state && t.at(-1) === want.last,
        );
        const history = await survivor.history(`crash-${at}`);
        expect(history.find((h) => h.type === 'RUN_ABANDONED')?.data.function).toBe(want.abandoned);
        expect(types.filter((t) => t === 'RUN_ABANDONED')).toHaveLength(1);
        expect((await survivor.verify([`crash-${at}`])).mismatches).toEqual([]);
        expect(await survivor.replay(`crash-${at}`)).toEqual(await survivor.getConnection(`crash-${at}`));
      } finally {
        await survivor.close();
        const db = await openDatabase(postgres as string);
        await db.db.schema.dropSchema(schema).ifExists().cascade().execute();
        await db.close();
      }
    },
    60_000,
  );
});

describe('crash recovery on the embedded store: the same data dir, restarted', () => {
  it('SIGKILL during validation; reopening the data dir completes it', async () => {
    const database = `pglite://${join(tmp, 'data')}`;
    await killDuring({ database, schema: 'lifeline' }, 'validate');
    const restarted = await survivorOn(database);
    try {
      await waitFor(restarted, 'crash-validate', (t, state) => state === 'active' && t.at(-1) === 'SETUP_FINISHED');
      expect((await restarted.history('crash-validate')).map((h) => h.type)).toContain('RUN_ABANDONED');
      expect((await restarted.verify()).mismatches).toEqual([]);
    } finally {
      await restarted.close();
    }
  }, 60_000);
});
