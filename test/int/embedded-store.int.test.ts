import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, isLifelineError, type LoadedFunction } from '../../src/index.js';
import { fn } from '../support/functions.js';
import { engineFactory, testStores } from '../support/test-stores.js';

const TOKEN = 'PLAINTEXT-TOKEN-7f3a9c21e5';
const REFRESH = 'PLAINTEXT-REFRESH-b81d44';
const quiet = pino({ level: 'silent' });

// Functions that try hard to leak the token: into metadata, a log line and an error message.
const leaky: LoadedFunction[] = [
  fn('leaky', 'validate', 'validate-connection', async (nango) => {
    const { credentials } = await nango.getConnection();
    nango.log('token is', credentials.access_token);
    await nango.updateMetadata({ copied: `Bearer ${String(credentials.access_token)}` });
  }),
  fn('leaky', 'cleanup', 'pre-connection-deletion', async (nango) => {
    const { credentials } = await nango.getConnection();
    throw new nango.ActionError({ message: `refusing ${String(credentials.refresh_token)}` });
  }),
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function containsBytes(file: string, needle: string): boolean {
  const data = readFileSync(file);
  return data.includes(Buffer.from(needle, 'utf8')) || data.includes(Buffer.from(needle, 'utf16le'));
}

const tmp = mkdtempSync(join(tmpdir(), 'lifeline-embedded-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('embedded store on disk', () => {
  const dataDir = join(tmp, 'data');
  const url = `pglite://${dataDir}`;

  it('generates a key beside the data dir, survives a restart, and never stores a plaintext secret', async () => {
    const first = await createEngine({ database: url, functions: leaky, logger: quiet });
    await first.send('c1', {
      type: 'CONNECT',
      integration: 'leaky',
      credentials: { type: 'OAUTH2', access_token: TOKEN, refresh_token: REFRESH },
    });
    await first.settled();
    await first.close();
    expect(statSync(`${dataDir}.key`).mode & 0o777).toBe(0o600);

    const second = await createEngine({ database: url, functions: leaky, logger: quiet });
    const after = await second.getConnection('c1');
    expect(after).toMatchObject({
      state: 'active',
      metadata: { copied: 'Bearer [REDACTED]' },
      credentialsType: 'OAUTH2',
    });
    expect(await second.replay('c1')).toEqual(after);
    // The reopened engine opens the stored credentials with the kept key: cleanup sees them.
    const deleted = await second.send('c1', { type: 'DELETE' });
    expect(deleted.state).toBe('deleted');
    const history = await second.history('c1');
    expect(history.find((h) => h.type === 'RUN_FAILED')?.data.error).toMatchObject({ message: 'refusing [REDACTED]' });
    expect(JSON.stringify(history)).not.toContain(TOKEN);
    await second.close();

    const files = filesUnder(tmp);
    expect(files.length).toBeGreaterThan(100);
    for (const file of files) {
      expect(containsBytes(file, TOKEN), file).toBe(false);
      expect(containsBytes(file, REFRESH), file).toBe(false);
    }
  });

  it('a second process cannot open the data dir while it is open, and can after', async () => {
    const engine = await createEngine({ database: url, logger: quiet });
    const script = fileURLToPath(new URL('../support/open-store-process.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const other = () =>
      JSON.parse(spawnSync(tsx, [script, url], { encoding: 'utf8' }).stdout.trim().split('\n').at(-1) ?? '{}');
    const refused = other();
    expect(refused).toMatchObject({ opened: false, code: 'store_locked' });
    expect(refused.message).toContain(`open in process ${process.pid}`);
    const inProcess = await createEngine({ database: url, logger: quiet }).catch((e) => e);
    expect(isLifelineError(inProcess, 'store_locked')).toBe(true);
    await engine.close();
    expect(other()).toEqual({ opened: true });
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    writeFileSync(`${dataDir}.lock`, dead.stdout.trim());
    const engine = await createEngine({ database: url, logger: quiet });
    expect((await engine.getConnection('c1'))?.state).toBe('deleted');
    await engine.close();
  });
});

describe('configuration', () => {
  it('a PostgreSQL store without an encryption key refuses to start, naming the fix', async () => {
    const saved = process.env.LIFELINE_ENCRYPTION_KEY;
    delete process.env.LIFELINE_ENCRYPTION_KEY;
    try {
      const error = await createEngine({ database: 'postgres://nobody@127.0.0.1:9/none', logger: quiet }).catch(
        (e) => e,
      );
      expect(isLifelineError(error, 'invalid_configuration')).toBe(true);
      expect(error.message).toContain('LIFELINE_ENCRYPTION_KEY');
    } finally {
      if (saved !== undefined) process.env.LIFELINE_ENCRYPTION_KEY = saved;
    }
  });

  it('an unknown database URL is a configuration error', async () => {
    const error = await createEngine({ database: 'mysql://x', logger: quiet }).catch((e) => e);
    expect(isLifelineError(error, 'invalid_configuration')).toBe(true);
  });
});

describe.each(testStores)('no plaintext credential in any table on $name', (store) => {
  const newEngine = engineFactory(store);

  it('events and projection hold only ciphertext, and redacted copies', async () => {
    const engine = await newEngine({ functions: leaky });
    await engine.send('c1', {
      type: 'CONNECT',
      integration: 'leaky',
      credentials: { type: 'OAUTH2', access_token: TOKEN, refresh_token: REFRESH },
    });
    await engine.settled();
    await engine.send('c1', { type: 'RECONNECT', credentials: { type: 'BASIC', username: 'user', password: TOKEN } });
    await engine.send('c1', { type: 'DELETE' });
    const { db } = await store.open();
    const dump = JSON.stringify([
      await db.withSchema(engine.schema).selectFrom('lifeline_events').selectAll().execute(),
      await db.withSchema(engine.schema).selectFrom('lifeline_connections').selectAll().execute(),
    ]);
    expect(dump).toContain('"ciphertext":"v1:');
    expect(dump).not.toContain(TOKEN);
    expect(dump).not.toContain(REFRESH);
    expect(dump).not.toContain(Buffer.from(`user:${TOKEN}`).toString('base64'));
  });
});
