import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type FakeSalesforce, startFakeSalesforce } from '../../demo/fake-salesforce.js';
import { type Engine, isLifelineError } from '../../src/index.js';
import { deferred, fn } from '../support/functions.js';
import { engineFactory, testStores } from '../support/test-stores.js';

const oauth = (access_token: string) => ({ type: 'OAUTH2' as const, access_token });
const types = async (engine: Engine, id: string) => (await engine.history(id)).map((r) => r.type);

async function expectReplayMatches(engine: Engine, id: string) {
  expect(await engine.replay(id)).toEqual(await engine.getConnection(id));
}

describe.each(testStores)('lifecycle on $name', (store) => {
  const newEngine = engineFactory(store);
  let provider: FakeSalesforce;
  beforeAll(async () => {
    provider = await startFakeSalesforce({ 'tok-a': 'org-A', 'tok-a2': 'org-A', 'tok-b': 'org-B', 'tok-none': null });
  });
  afterAll(() => provider.close());

  describe('CONNECT', () => {
    it('with no functions: straight to active, setup recorded as finished', async () => {
      const engine = await newEngine({ integrations: { plain: {} } });
      const r = await engine.send('c1', {
        type: 'CONNECT',
        integration: 'plain',
        credentials: { type: 'API_KEY', apiKey: 'k-123456' },
      });
      await engine.settled();
      expect(r).toEqual({ connectionId: 'c1', state: 'active', version: 3 });
      expect(await types(engine, 'c1')).toEqual([
        'CONNECT',
        'VALIDATION_STARTED',
        'VALIDATION_PASSED',
        'SETUP_FINISHED',
      ]);
      const c = await engine.getConnection('c1');
      expect(c).toMatchObject({ state: 'active', integration: 'plain', credentialsType: 'API_KEY', version: 4 });
      await expectReplayMatches(engine, 'c1');
    });

    it('runs validators in name order, stops at the first failure, → deleted with its message and no cleanup', async () => {
      const ran: string[] = [];
      const engine = await newEngine({
        functions: [
          fn('sf', 'c-third', 'validate-connection', () => {
            ran.push('c-third');
          }),
          fn('sf', 'b-second', 'validate-connection', (nango) => {
            ran.push('b-second');
            throw new nango.ActionError({ error: 'scope missing' });
          }),
          fn('sf', 'a-first', 'validate-connection', () => {
            ran.push('a-first');
          }),
          fn('sf', 'cleanup', 'pre-connection-deletion', () => {
            ran.push('cleanup');
          }),
        ],
      });
      const r = await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      expect(ran).toEqual(['a-first', 'b-second']);
      expect(r.state).toBe('deleted');
      expect(r.error).toEqual({ type: 'connection_validation_failed', message: 'scope missing', function: 'b-second' });
      const history = await engine.history('c1');
      expect(history.filter((h) => h.type === 'RUN_STARTED').map((h) => h.data.function)).toEqual([
        'a-first',
        'b-second',
      ]);
      expect(history.find((h) => h.type === 'RUN_FAILED')?.data.error).toEqual({
        type: 'action_script_runtime_error',
        message: 'scope missing',
        payload: { error: 'scope missing' },
      });
      expect(history.at(-1)).toMatchObject({ type: 'VALIDATION_FAILED', from: 'validating', to: 'deleted' });
      await expectReplayMatches(engine, 'c1');
    });

    it('validators call the provider over loopback with the credentials injected', async () => {
      const engine = await newEngine({
        integrations: { sf: { baseUrl: provider.baseUrl } },
        functions: [
          fn('sf', 'whoami', 'validate-connection', async (nango) => {
            const me = await nango.get<{ organization_id?: string }>({ endpoint: '/services/oauth2/userinfo' });
            await nango.updateMetadata({ org: me.data.organization_id, status: me.status });
          }),
        ],
      });
      await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      expect((await engine.getConnection('c1'))?.metadata).toEqual({ org: 'org-A', status: 200 });
      expect(provider.requests.at(-1)?.authorization).toBe('Bearer tok-a');
    });

    it('on a deleted connection starts a new generation with fresh metadata', async () => {
      const engine = await newEngine({ integrations: { plain: {} } });
      await engine.send('c1', {
        type: 'CONNECT',
        integration: 'plain',
        credentials: oauth('tok-a'),
        metadata: { a: 1 },
      });
      await engine.send('c1', { type: 'DELETE' });
      const r = await engine.send('c1', { type: 'CONNECT', integration: 'plain', credentials: oauth('tok-b') });
      expect(r.state).toBe('active');
      expect((await engine.getConnection('c1'))?.metadata).toEqual({});
      await engine.settled();
      await expectReplayMatches(engine, 'c1');
    });
  });

  describe('RECONNECT', () => {
    it('stores the new credentials and config first, keeps metadata, does not re-run setup', async () => {
      const seen: Array<{ token: unknown; config: unknown }> = [];
      let setups = 0;
      const engine = await newEngine({
        integrations: { sf: { baseUrl: provider.baseUrl } },
        functions: [
          fn('sf', 'validate', 'validate-connection', async (nango) => {
            const c = await nango.getConnection();
            seen.push({ token: c.credentials.access_token, config: c.connection_config });
            await nango.get({ endpoint: '/services/oauth2/userinfo' });
          }),
          fn('sf', 'setup', 'post-connection-creation', () => {
            setups++;
          }),
        ],
      });
      await engine.send('c1', {
        type: 'CONNECT',
        integration: 'sf',
        credentials: oauth('tok-a'),
        connectionConfig: { instance: 'one' },
        metadata: { keep: true },
      });
      await engine.settled();
      const r = await engine.send('c1', {
        type: 'RECONNECT',
        credentials: oauth('tok-a2'),
        connectionConfig: { instance: 'two' },
      });
      await engine.settled();
      expect(r.state).toBe('active');
      expect(seen).toEqual([
        { token: 'tok-a', config: { instance: 'one' } },
        { token: 'tok-a2', config: { instance: 'two' } },
      ]);
      expect(provider.requests.at(-1)?.authorization).toBe('Bearer tok-a2');
      expect(setups).toBe(1);
      expect((await engine.getConnection('c1'))?.metadata).toEqual({ keep: true });
      await expectReplayMatches(engine, 'c1');
    });

    it('a failing validation → auth_error refresh_exhausted, metadata and the rejected credentials kept; then RECONNECT recovers', async () => {
      const tokens: unknown[] = [];
      const engine = await newEngine({
        functions: [
          fn('sf', 'validate', 'validate-connection', async (nango) => {
            const c = await nango.getConnection();
            if (c.credentials.access_token === 'bad') throw new nango.ActionError('wrong account');
          }),
          fn('sf', 'cleanup', 'pre-connection-deletion', async (nango) => {
            tokens.push((await nango.getConnection()).credentials.access_token);
          }),
        ],
      });
      await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('good'), metadata: { m: 1 } });
      const failed = await engine.send('c1', { type: 'RECONNECT', credentials: oauth('bad') });
      expect(failed).toMatchObject({
        state: 'auth_error',
        error: { type: 'connection_validation_failed', reason: 'refresh_exhausted', message: 'wrong account' },
      });
      expect((await engine.getConnection('c1'))?.metadata).toEqual({ m: 1 });
      const again = await engine.send('c1', { type: 'RECONNECT', credentials: oauth('good') });
      expect(again).toMatchObject({ state: 'active' });
      expect(again.error).toBeUndefined();
      await engine.send('c1', { type: 'RECONNECT', credentials: oauth('bad') });
      await engine.send('c1', { type: 'DELETE' });
      expect(tokens).toEqual(['bad']); // the rejected credentials stayed stored
      await expectReplayMatches(engine, 'c1');
    });
  });

  describe('REFRESH_FAILED', () => {
    it('active → auth_error with refresh_exhausted', async () => {
      const engine = await newEngine({ integrations: { plain: {} } });
      await engine.send('c1', { type: 'CONNECT', integration: 'plain', credentials: oauth('t-1234') });
      const r = await engine.send('c1', { type: 'REFRESH_FAILED', message: 'invalid_grant' });
      expect(r).toMatchObject({
        state: 'auth_error',
        error: { reason: 'refresh_exhausted', message: 'invalid_grant' },
      });
      await expectReplayMatches(engine, 'c1');
    });
  });

  describe('DELETE', () => {
    it('waits for a running post-connection-creation, then runs cleanup', async () => {
      const gate = deferred();
      const order: string[] = [];
      const engine = await newEngine({
        functions: [
          fn('sf', 'setup', 'post-connection-creation', async () => {
            order.push('setup started');
            await gate.promise;
            order.push('setup finished');
          }),
          fn('sf', 'cleanup', 'pre-connection-deletion', () => {
            order.push('cleanup');
          }),
        ],
      });
      await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      const deleting = engine.send('c1', { type: 'DELETE' });
      await new Promise((r) => setTimeout(r, 100));
      expect(order).toEqual(['setup started']);
      expect((await engine.getConnection('c1'))?.state).toBe('deleting');
      gate.resolve();
      expect((await deleting).state).toBe('deleted');
      expect(order).toEqual(['setup started', 'setup finished', 'cleanup']);
      const history = await engine.history('c1');
      const setupDone = history.findIndex((h) => h.type === 'SETUP_FINISHED');
      const cleanupStart = history.findIndex(
        (h) => h.type === 'RUN_STARTED' && h.data.event === 'pre-connection-deletion',
      );
      expect(setupDone).toBeGreaterThan(0);
      expect(cleanupStart).toBeGreaterThan(setupDone);
      await expectReplayMatches(engine, 'c1');
    });

    it('a failing cleanup is recorded and does not block the deletion', async () => {
      const engine = await newEngine({
        functions: [
          fn('sf', 'a-cleanup', 'pre-connection-deletion', () => {
            throw new Error('provider down');
          }),
          fn('sf', 'b-cleanup', 'pre-connection-deletion', () => {}),
        ],
      });
      await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      const r = await engine.send('c1', { type: 'DELETE' });
      expect(r.state).toBe('deleted');
      const history = await engine.history('c1');
      expect(history.find((h) => h.type === 'RUN_FAILED')?.data.error).toEqual({
        type: 'script_internal_error',
        message: 'Connection failed validation',
        payload: { name: 'Error', message: 'provider down' },
      });
      expect(history.at(-1)).toMatchObject({ type: 'CLEANUP_FINISHED', data: { failed: ['a-cleanup'] } });
      expect(history.filter((h) => h.type === 'RUN_SUCCEEDED').map((h) => h.data.function)).toEqual(['b-cleanup']);
    });

    it('is accepted in auth_error', async () => {
      const engine = await newEngine({ integrations: { plain: {} } });
      await engine.send('c1', { type: 'CONNECT', integration: 'plain', credentials: oauth('t-1234') });
      await engine.send('c1', { type: 'REFRESH_FAILED' });
      expect((await engine.send('c1', { type: 'DELETE' })).state).toBe('deleted');
    });
  });

  describe('ordering', () => {
    it('commands for one connection apply one at a time, in order; one sent mid-validation waits its turn', async () => {
      const gate = deferred();
      const engine = await newEngine({
        functions: [fn('sf', 'slow', 'validate-connection', () => gate.promise)],
      });
      const connect = engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      const del = engine.send('c1', { type: 'DELETE' });
      await new Promise((r) => setTimeout(r, 50));
      expect((await engine.getConnection('c1'))?.state).toBe('validating');
      gate.resolve();
      expect((await connect).state).toBe('active');
      expect((await del).state).toBe('deleted');
      const history = await engine.history('c1');
      expect(history.map((h) => h.version)).toEqual(history.map((_, i) => i + 1));
      expect(history.findIndex((h) => h.type === 'DELETE')).toBeGreaterThan(
        history.findIndex((h) => h.type === 'VALIDATION_PASSED'),
      );
    });
  });

  describe('refused and malformed commands write nothing', () => {
    it('each gets a typed error with a stable code and the log is unchanged', async () => {
      const engine = await newEngine({ integrations: { plain: {} } });
      const refused = async (id: string, command: unknown, code: string) => {
        const before = await engine.history(id);
        const error = await engine.send(id, command as never).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isLifelineError(error, code as never), `${JSON.stringify(command)} → ${String(error)}`).toBe(true);
        expect(await engine.history(id)).toEqual(before);
        return error as Error;
      };
      await refused('c1', { type: 'RECONNECT', credentials: oauth('x-1234') }, 'command_refused');
      await refused('c1', { type: 'DELETE' }, 'command_refused');
      await engine.send('c1', { type: 'CONNECT', integration: 'plain', credentials: oauth('t-1234') });
      await engine.settled();
      await refused('c1', { type: 'CONNECT', integration: 'plain', credentials: oauth('t-1234') }, 'command_refused');
      await engine.send('c1', { type: 'DELETE' });
      const twice = await refused('c1', { type: 'DELETE' }, 'command_refused');
      expect(twice.message).toBe(
        'DELETE is not accepted: connection c1 is deleted (accepted in: pending, active, auth_error)',
      );
      await refused('c1', { type: 'RECONNECT', credentials: oauth('x-1234') }, 'command_refused');
      await refused('c1', { type: 'REFRESH_FAILED' }, 'command_refused');
      await refused('c1', { type: 'EXPLODE' }, 'invalid_command');
      await refused('c1', { type: 'CONNECT', integration: 'plain' }, 'invalid_command');
      await refused('c1', { type: 'CONNECT', integration: 'nope', credentials: oauth('t-1234') }, 'invalid_command');
      await refused('c1', { type: 'DELETE', extra: 1 }, 'invalid_command');
      await refused('has space', { type: 'DELETE' }, 'invalid_command');
      const secret = await refused(
        'c1',
        {
          type: 'CONNECT',
          integration: 'plain',
          credentials: { type: 'OAUTH2', access_token: 42, refresh_token: 'sekrit-refresh' },
        },
        'invalid_command',
      );
      expect(secret.message).not.toContain('sekrit-refresh');
      expect(isLifelineError(await engine.setMetadata('c1', { a: 1 }).catch((e) => e), 'command_refused')).toBe(true);
      expect(isLifelineError(await engine.setMetadata('ghost', { a: 1 }).catch((e) => e), 'connection_not_found')).toBe(
        true,
      );
      expect(await engine.history('ghost')).toEqual([]);
      expect(await engine.getConnection('ghost')).toBeNull();
      expect(await engine.replay('ghost')).toBeNull();
    });
  });

  describe('function runs', () => {
    it('a run past its timeout is recorded as execution_timeout', async () => {
      const engine = await newEngine({
        functionTimeoutMs: 150,
        functions: [fn('sf', 'hang', 'validate-connection', () => new Promise(() => {}))],
      });
      const r = await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      expect(r).toMatchObject({ state: 'deleted', error: { message: 'Connection failed validation' } });
      const timedOut = (await engine.history('c1')).find((h) => h.type === 'RUN_TIMED_OUT');
      expect(timedOut?.data.error).toMatchObject({ type: 'execution_timeout' });
      expect(timedOut?.data.durationMs).toBeGreaterThanOrEqual(140);
    });

    it('an HTTP error from the provider is recorded as script_http_error with status and body', async () => {
      const engine = await newEngine({
        integrations: { sf: { baseUrl: provider.baseUrl } },
        functions: [
          fn('sf', 'check', 'validate-connection', (nango) => nango.get({ endpoint: '/no-such-thing' }).then(() => {})),
        ],
      });
      await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      const failed = (await engine.history('c1')).find((h) => h.type === 'RUN_FAILED');
      expect(failed?.data.error).toEqual({
        type: 'script_http_error',
        message: 'Connection failed validation',
        status: 404,
        body: { error: 'not_found' },
      });
    });

    it('a non-object ActionError payload becomes { message }', async () => {
      const engine = await newEngine({
        functions: [
          fn('sf', 'check', 'validate-connection', (nango) => {
            throw new nango.ActionError('plain words');
          }),
        ],
      });
      const r = await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      expect(r.error?.message).toBe('plain words');
      const failed = (await engine.history('c1')).find((h) => h.type === 'RUN_FAILED');
      expect(failed?.data.error).toMatchObject({ payload: { message: 'plain words' } });
    });

    it('metadata writes are checked against the function schema; the stored value is what was passed', async () => {
      const Metadata = z.object({ orgId: z.string() });
      const engine = await newEngine({
        functions: [
          fn(
            'sf',
            'a-good',
            'validate-connection',
            async (nango) => {
              await nango.setMetadata({ orgId: 'o-1', extra: 'kept' } as never);
            },
            { metadata: Metadata },
          ),
          fn(
            'sf',
            'b-bad',
            'validate-connection',
            async (nango) => {
              await nango.updateMetadata({ orgId: 42 } as never);
            },
            { metadata: Metadata },
          ),
        ],
      });
      const r = await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      const history = await engine.history('c1');
      expect(history.find((h) => h.type === 'METADATA_SET')?.data.metadata).toEqual({ orgId: 'o-1', extra: 'kept' });
      const failed = history.find((h) => h.type === 'RUN_FAILED')?.data.error as { payload: { message: string } };
      expect(failed.payload.message).toContain("the metadata does not match the function's schema: orgId:");
      expect(r.state).toBe('deleted');
    });

    it('app metadata writes are recorded and replayed', async () => {
      const engine = await newEngine({ integrations: { plain: {} } });
      await engine.send('c1', { type: 'CONNECT', integration: 'plain', credentials: oauth('t-1234') });
      await engine.settled();
      await engine.setMetadata('c1', { a: 1, b: 2 });
      const r = await engine.updateMetadata('c1', { b: 3 });
      expect((await engine.getConnection('c1'))?.metadata).toEqual({ a: 1, b: 3 });
      expect(r.version).toBe((await engine.history('c1')).length);
      expect((await engine.history('c1')).slice(-2).map((h) => h.type)).toEqual(['METADATA_SET', 'METADATA_UPDATED']);
      await expectReplayMatches(engine, 'c1');
    });
  });

  describe('robustness', () => {
    it('an unserialisable ActionError payload and a NUL in a log line are still recorded; nothing is stuck', async () => {
      const engine = await newEngine({
        functions: [
          fn('sf', 'check', 'validate-connection', (nango) => {
            nango.log('before\u0000after');
            const payload: Record<string, unknown> = { message: 'no', n: 10n };
            payload.self = payload;
            throw new nango.ActionError(payload);
          }),
        ],
      });
      const r = await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      expect(r).toMatchObject({ state: 'deleted', error: { message: 'no' } });
      const failed = (await engine.history('c1')).find((h) => h.type === 'RUN_FAILED');
      expect(failed?.data.error).toMatchObject({ payload: { message: 'no', n: '10', self: '[Circular]' } });
      expect(failed?.data.logs).toMatchObject([{ level: 'info', message: 'before\uFFFDafter' }]);
      await expectReplayMatches(engine, 'c1');
    });

    it('metadata that JSON cannot hold is refused with a clear error and writes nothing; undefined keys are not stored', async () => {
      const engine = await newEngine({ integrations: { plain: {} } });
      const bad = await engine
        .send('c1', { type: 'CONNECT', integration: 'plain', credentials: oauth('t-1234'), metadata: { s: 'a\u0000' } })
        .catch((e) => e);
      expect(isLifelineError(bad, 'invalid_command')).toBe(true);
      expect(bad.message).toBe('invalid command: metadata.s contains a NUL character');
      expect(await engine.history('c1')).toEqual([]);
      await engine.send('c1', {
        type: 'CONNECT',
        integration: 'plain',
        credentials: oauth('t-1234'),
        metadata: { a: 1, b: 2 },
      });
      await engine.settled();
      expect(
        isLifelineError(await engine.setMetadata('c1', { big: 1n } as never).catch((e) => e), 'invalid_command'),
      ).toBe(true);
      await engine.updateMetadata('c1', { a: undefined, c: 3 });
      expect((await engine.getConnection('c1'))?.metadata).toEqual({ a: 1, b: 2, c: 3 });
      await expectReplayMatches(engine, 'c1');
    });

    it('app metadata writes queue behind the commands sent before them', async () => {
      const gate = deferred();
      const engine = await newEngine({ functions: [fn('sf', 'slow', 'validate-connection', () => gate.promise)] });
      const connect = engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      const write = engine.updateMetadata('c1', { after: 'connect' });
      const del = engine.send('c1', { type: 'DELETE' });
      const late = engine.updateMetadata('c1', { after: 'delete' }).catch((e) => e);
      gate.resolve();
      await connect;
      expect((await write).state).toBe('active');
      expect((await del).state).toBe('deleted');
      expect(isLifelineError(await late, 'command_refused')).toBe(true);
      const types = (await engine.history('c1')).map((h) => h.type);
      expect(types.indexOf('METADATA_UPDATED')).toBeGreaterThan(types.indexOf('VALIDATION_PASSED'));
      expect(types.indexOf('METADATA_UPDATED')).toBeLessThan(types.indexOf('DELETE'));
    });

    it('close() lets accepted commands finish and record their outcome, and refuses new ones', async () => {
      const engine = await newEngine({
        functions: [fn('sf', 'slow', 'validate-connection', () => new Promise((r) => setTimeout(r, 150)))],
      });
      const connect = engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      const queued = engine.send('c1', { type: 'DELETE' });
      await new Promise((r) => setTimeout(r, 20));
      const closing = engine.close();
      expect(isLifelineError(await engine.send('c2', { type: 'DELETE' }).catch((e) => e), 'engine_closed')).toBe(true);
      await closing;
      expect((await connect).state).toBe('active');
      expect((await queued).state).toBe('deleted');
    });
  });

  describe('replay', () => {
    it('rebuilds every intermediate version from the log alone', async () => {
      const engine = await newEngine({
        integrations: { sf: { baseUrl: provider.baseUrl } },
        functions: [
          fn('sf', 'v', 'validate-connection', async (nango) => {
            const me = await nango.get({ endpoint: '/services/oauth2/userinfo' });
            await nango.updateMetadata({ org: me.data.organization_id });
          }),
        ],
      });
      await engine.send('c1', { type: 'CONNECT', integration: 'sf', credentials: oauth('tok-a') });
      await engine.send('c1', { type: 'RECONNECT', credentials: oauth('tok-b') });
      await engine.send('c1', { type: 'DELETE' });
      const history = await engine.history('c1');
      for (const record of history) {
        const then = await engine.replay('c1', { toVersion: record.version });
        expect(then?.version).toBe(record.version);
        expect(then?.state).toBe(record.to);
      }
      const atReconnect = await engine.replay('c1', {
        toVersion: history.findIndex((h) => h.type === 'RECONNECT') + 1,
      });
      expect(atReconnect?.metadata).toEqual({ org: 'org-A' });
      await expectReplayMatches(engine, 'c1');
    });
  });
});
