import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { type Engine, isLifelineError } from '../../src/index.js';
import { deferred, fn } from '../support/functions.js';
import { engineFactory, freshSchema, type TestStore, testStores } from '../support/test-stores.js';

const oauth = (access_token: string) => ({ type: 'OAUTH2' as const, access_token });
const types = async (engine: Engine, id: string) => (await engine.history(id)).map((h) => h.type);

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Two engines on one schema stand in for two processes on one PostgreSQL.
describe.each(testStores)('durability on $name', (store: TestStore) => {
  const newEngine = engineFactory(store);
  const expireLeases = async (schema: string) => {
    const { db } = await store.open();
    await sql`update ${sql.table(`${schema}.lifeline_services`)} set lease_until = now() - interval '1 second'`.execute(
      db,
    );
  };
  const services = async (schema: string) => {
    const { db } = await store.open();
    return db.withSchema(schema).selectFrom('lifeline_services').selectAll().execute();
  };

  it('another engine resumes a service whose engine stopped; the late outcome is recorded as ignored', async () => {
    const schema = freshSchema();
    const gate = deferred();
    let runsB = 0;
    const a = await newEngine({
      schema,
      recoveryIntervalMs: 0,
      leaseMs: 60_000,
      functions: [fn('sf', 'check', 'validate-connection', () => gate.promise)],
    });
    const connecting = a.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('t-1234') });
    await until(
      () => types(a, 'c1'),
      (t) => t.includes('RUN_STARTED'),
      'A to start validating',
    );
    expect((await services(schema)).map((s) => s.service)).toEqual(['validate-connection']);

    // A "dies": its lease runs out. B, with recovery on, takes the service over.
    await expireLeases(schema);
    const b = await newEngine({
      schema,
      recoveryIntervalMs: 50,
      functions: [
        fn('sf', 'check', 'validate-connection', () => {
          runsB++;
        }),
      ],
    });
    await until(
      () => b.getConnection('c1'),
      (c) => c?.state === 'active',
      'B to finish the validation',
    );
    expect(runsB).toBe(1);

    // A's function finally returns: its outcome changes nothing.
    gate.resolve();
    const late = await connecting;
    expect(late.state).toBe('active');
    const history = await b.history('c1');
    const kinds = history.map((h) => h.type);
    expect(kinds).toContain('RUN_ABANDONED');
    expect(
      history.filter((h) => h.type === 'OUTCOME_IGNORED').map((h) => (h.data.ignored as { type: string }).type),
    ).toEqual(['RUN_SUCCEEDED', 'VALIDATION_PASSED']);
    expect(history.filter((h) => h.type === 'RUN_STARTED')).toHaveLength(2);
    expect(history.filter((h) => h.type === 'VALIDATION_PASSED')).toHaveLength(1);
    expect(await b.replay('c1')).toEqual(await b.getConnection('c1'));
    expect((await b.verify(['c1'])).mismatches).toEqual([]);
    expect(await services(schema)).toEqual([]);
  });

  it('a command sent to another engine while the connection validates waits its turn', async () => {
    const schema = freshSchema();
    const gate = deferred();
    const a = await newEngine({ schema, functions: [fn('sf', 'check', 'validate-connection', () => gate.promise)] });
    const b = await newEngine({ schema, functions: [fn('sf', 'check', 'validate-connection', () => {})] });
    const connecting = a.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('t-1234') });
    await until(
      () => types(a, 'c1'),
      (t) => t.includes('RUN_STARTED'),
      'A to start validating',
    );
    const deleting = b.send('c1', { type: 'DELETE' });
    await new Promise((r) => setTimeout(r, 100));
    expect((await a.getConnection('c1'))?.state).toBe('validating');
    gate.resolve();
    expect((await connecting).state).toBe('active');
    expect((await deleting).state).toBe('deleted');
    const kinds = await types(b, 'c1');
    expect(kinds.indexOf('DELETE')).toBeGreaterThan(kinds.indexOf('VALIDATION_PASSED'));
  });

  it('an engine working from its remembered projection while another engine writes: reads again, decides on the stored state', async () => {
    const schema = freshSchema();
    const gate = deferred();
    const a = await newEngine({
      schema,
      functions: [fn('sf', 'slow-setup', 'post-connection-creation', () => gate.promise)],
    });
    const b = await newEngine({ schema, integrations: { sf: {} } });
    // A is still working on c1 (its setup runs in the background), so it remembers c1's projection.
    expect((await a.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('t-1234') })).state).toBe(
      'active',
    );
    await b.updateMetadata('c1', { by: 'b' });
    await b.send('c1', { type: 'REFRESH_FAILED' });
    // A's remembered projection is two versions behind: its write is retried on the stored one.
    expect((await a.updateMetadata('c1', { also: 'a' })).state).toBe('auth_error');
    // A's remembered state (active) would accept REFRESH_FAILED; the stored one (auth_error) does not.
    const refused = await a.send('c1', { type: 'REFRESH_FAILED' }).catch((e) => e);
    expect(isLifelineError(refused, 'command_refused')).toBe(true);
    expect(refused.details).toMatchObject({ state: 'auth_error' });
    gate.resolve();
    await a.settled();
    const history = await a.history('c1');
    expect(history.map((h) => h.version)).toEqual(history.map((_, i) => i + 1));
    expect(history.slice(-5).map((h) => h.type)).toEqual([
      'METADATA_UPDATED',
      'REFRESH_FAILED',
      'METADATA_UPDATED',
      'RUN_SUCCEEDED',
      'SETUP_FINISHED',
    ]);
    expect(await a.replay('c1')).toEqual(await b.getConnection('c1'));
    expect((await b.getConnection('c1'))?.metadata).toEqual({ by: 'b', also: 'a' });
  });

  it('idempotency keys: the same key returns the first result and appends nothing, also across engines', async () => {
    const schema = freshSchema();
    const a = await newEngine({ schema, integrations: { plain: {} } });
    const b = await newEngine({ schema, integrations: { plain: {} } });
    const connect = { type: 'CONNECT' as const, integration: 'plain', credentials: oauth('t-1234') };
    const [first, second] = await Promise.all([
      a.send('c1', connect, { idempotencyKey: 'connect-c1' }),
      b.send('c1', connect, { idempotencyKey: 'connect-c1' }),
    ]);
    expect(second).toEqual(first);
    await a.settled();
    const length = (await a.history('c1')).length;
    expect(await a.send('c1', connect, { idempotencyKey: 'connect-c1' })).toEqual(first);
    expect((await a.history('c1')).length).toBe(length);
    expect((await a.history('c1')).filter((h) => h.type === 'CONNECT')).toHaveLength(1);
    // A new key is a new command (refused here: the connection is active).
    expect(
      isLifelineError(await a.send('c1', connect, { idempotencyKey: 'again' }).catch((e) => e), 'command_refused'),
    ).toBe(true);
    const other = await a.send('c2', connect, { idempotencyKey: 'connect-c1' }).catch((e) => e);
    expect(isLifelineError(other, 'invalid_command')).toBe(true);
    expect(await a.history('c2')).toEqual([]);
  });

  it('setup and cleanup retry with backoff, every attempt in the log; validation is not retried by default', async () => {
    let setupCalls = 0;
    let validations = 0;
    const engine = await newEngine({
      functions: [
        fn('sf', 'check', 'validate-connection', () => {
          validations++;
        }),
        fn('sf', 'flaky-setup', 'post-connection-creation', (nango) => {
          setupCalls++;
          if (setupCalls < 3) throw new nango.ActionError(`attempt ${setupCalls} failed`);
        }),
        fn(
          'sf',
          'one-shot-cleanup',
          'pre-connection-deletion',
          () => {
            throw new Error('gone');
          },
          { retry: { maxAttempts: 1 } },
        ),
      ],
    });
    await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('t-1234') });
    await engine.settled();
    await engine.send('c1', { type: 'DELETE' });
    const history = await engine.history('c1');
    const setupAttempts = history.filter((h) => h.type === 'RUN_STARTED' && h.data.function === 'flaky-setup');
    expect(setupAttempts.map((h) => h.data.attempt)).toEqual([1, 2, 3]);
    expect(history.find((h) => h.type === 'SETUP_FINISHED')?.data.failed).toEqual([]);
    const cleanups = history.filter((h) => h.type === 'RUN_STARTED' && h.data.function === 'one-shot-cleanup');
    expect(cleanups).toHaveLength(1);
    expect(history.at(-1)).toMatchObject({ type: 'CLEANUP_FINISHED', data: { failed: ['one-shot-cleanup'] } });
    expect(validations).toBe(1);

    let tries = 0;
    const retried = await newEngine({
      validationRetry: { maxAttempts: 2, baseMs: 5 },
      functions: [
        fn('sf', 'check', 'validate-connection', (nango) => {
          tries++;
          if (tries === 1) throw new nango.ActionError('transient');
        }),
      ],
    });
    expect((await retried.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('t-1234') })).state).toBe(
      'active',
    );
    expect(tries).toBe(2);
  });

  it('close() is bounded and hands its services to other engines at once', async () => {
    const schema = freshSchema();
    const a = await newEngine({
      schema,
      closeTimeoutMs: 100,
      recoveryIntervalMs: 0,
      functions: [fn('sf', 'hang', 'post-connection-creation', () => new Promise(() => {}))],
    });
    await a.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('t-1234') });
    const started = Date.now();
    await a.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    const [row] = await services(schema);
    expect(row?.service).toBe('post-connection-creation');
    expect(new Date(String(row?.lease_until)).getTime()).toBeLessThan(Date.now());
    const b = await newEngine({
      schema,
      recoveryIntervalMs: 50,
      functions: [fn('sf', 'hang', 'post-connection-creation', () => {})],
    });
    await until(
      () => types(b, 'c1'),
      (t) => t.includes('SETUP_FINISHED'),
      'B to finish the setup',
    );
    expect(await types(b, 'c1')).toContain('RUN_ABANDONED');
    expect(await services(schema)).toEqual([]);
  });
});
