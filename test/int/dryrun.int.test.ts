import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSalesforce, startFakeSalesforce } from '../../demo/fake-salesforce.js';
import { isLifelineError } from '../../src/index.js';
import { fn } from '../support/functions.js';
import { engineFactory, testStores } from '../support/test-stores.js';

const example = fileURLToPath(new URL('../../examples/salesforce/', import.meta.url));
const oauth = (access_token: string) => ({ type: 'OAUTH2' as const, access_token });

describe.each(testStores)('dryrun on $name', (store) => {
  const newEngine = engineFactory(store);
  let salesforce: FakeSalesforce;
  beforeAll(async () => {
    salesforce = await startFakeSalesforce({ 'a-1': 'org-A', b: 'org-B' });
  });
  afterAll(() => salesforce.close());

  it('runs a function for real against the provider and stores nothing', async () => {
    const engine = await newEngine({
      functions: example,
      integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
    });
    await engine.send('c1', { type: 'CONNECT', integration: 'salesforce', credentials: oauth('a-1') });
    await engine.settled();
    const before = { history: await engine.history('c1'), connection: await engine.getConnection('c1') };
    const webhooks = salesforce.webhooks.size;

    const run = await engine.dryrun('post-connection-setup', 'c1');
    expect(run).toMatchObject({
      connectionId: 'c1',
      integration: 'salesforce',
      function: 'post-connection-setup',
      event: 'post-connection-creation',
      outcome: 'succeeded',
      saved: false,
    });
    expect(run.calls).toEqual([expect.objectContaining({ method: 'POST', endpoint: '/webhooks', status: 201 })]);
    expect(run.metadataWrites).toEqual([{ kind: 'update', metadata: { webhookId: `wh-${webhooks + 1}` } }]);
    expect(run.metadata).toEqual({ organizationId: 'org-A', webhookId: `wh-${webhooks + 1}` });
    // The provider call was real; the log and the projection are untouched.
    expect(salesforce.webhooks.size).toBe(webhooks + 1);
    expect(await engine.history('c1')).toEqual(before.history);
    expect(await engine.getConnection('c1')).toEqual(before.connection);
  });

  it('starts from --metadata when given, reports a failure, and still stores nothing', async () => {
    const engine = await newEngine({
      functions: example,
      integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
    });
    await engine.send('c1', { type: 'CONNECT', integration: 'salesforce', credentials: oauth('a-1') });
    await engine.settled();
    const length = (await engine.history('c1')).length;
    const run = await engine.dryrun('validate-connection', 'c1', { metadata: { organizationId: 'org-Z' } });
    expect(run.outcome).toBe('failed');
    expect(run.error).toMatchObject({
      type: 'action_script_runtime_error',
      message: 'Salesforce org mismatch: expected org-Z, got org-A',
    });
    expect(run.calls).toEqual([
      expect.objectContaining({ method: 'GET', endpoint: '/services/oauth2/userinfo', status: 200 }),
    ]);
    expect((await engine.history('c1')).length).toBe(length);
  });

  it("with save, stores the metadata writes as the dry run's", async () => {
    const engine = await newEngine({
      functions: [
        fn('plain', 'tag', 'post-connection-creation', async (nango) => {
          nango.log('tagging', nango.environmentName);
          await nango.updateMetadata({ tagged: true });
        }),
      ],
    });
    await engine.send('c1', { type: 'CONNECT', integration: 'plain', credentials: oauth('a-1') });
    await engine.settled();
    const run = await engine.dryrun('tag', 'c1', { save: true, environment: 'staging' });
    expect(run).toMatchObject({
      outcome: 'succeeded',
      saved: true,
      logs: [expect.objectContaining({ message: 'tagging staging' })],
    });
    const last = (await engine.history('c1')).at(-1);
    expect(last).toMatchObject({
      type: 'METADATA_UPDATED',
      data: { writer: 'dryrun:plain/tag', metadata: { tagged: true } },
    });
    expect(await engine.replay('c1')).toEqual(await engine.getConnection('c1'));
  });

  it('refuses an unknown function or connection with a typed error', async () => {
    const engine = await newEngine({
      functions: example,
      integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
    });
    await engine.send('c1', { type: 'CONNECT', integration: 'salesforce', credentials: oauth('a-1') });
    const unknown = await engine.dryrun('nope', 'c1').catch((e) => e);
    expect(isLifelineError(unknown, 'invalid_command')).toBe(true);
    expect(unknown.message).toContain('(it has: ');
    expect(
      isLifelineError(await engine.dryrun('validate-connection', 'ghost').catch((e) => e), 'connection_not_found'),
    ).toBe(true);
  });
});
