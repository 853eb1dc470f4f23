import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSalesforce, startFakeSalesforce } from '../../demo/fake-salesforce.js';
import { captureLogger, engineFactory, testStores } from '../support/test-stores.js';

const example = fileURLToPath(new URL('../../examples/salesforce/', import.meta.url));
const oauth = (access_token: string) => ({ type: 'OAUTH2' as const, access_token });

describe.each(testStores)('the corrected Salesforce example on $name', (store) => {
  const newEngine = engineFactory(store);
  let salesforce: FakeSalesforce;
  beforeAll(async () => {
    salesforce = await startFakeSalesforce({ 'a-1': 'org-A', 'a-2': 'org-A', 'a-3': 'org-A', b: 'org-B', none: null });
  });
  afterAll(() => salesforce.close());

  it('locks the organization, keeps the webhook id, rejects another org and cleans up', async () => {
    const { logger, lines } = captureLogger('warn');
    const engine = await newEngine({
      functions: example,
      integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
      logger,
    });

    expect(
      (await engine.send('sf', { type: 'CONNECT', integration: 'salesforce', credentials: oauth('a-1') })).state,
    ).toBe('active');
    await engine.settled();
    const [webhookId] = [...salesforce.webhooks.keys()];
    expect((await engine.getConnection('sf'))?.metadata).toEqual({ organizationId: 'org-A', webhookId });

    expect((await engine.send('sf', { type: 'RECONNECT', credentials: oauth('a-2') })).state).toBe('active');
    await engine.settled();
    expect(salesforce.webhooks.size).toBe(1);

    const rejected = await engine.send('sf', { type: 'RECONNECT', credentials: oauth('b') });
    expect(rejected).toMatchObject({
      state: 'auth_error',
      error: {
        type: 'connection_validation_failed',
        reason: 'refresh_exhausted',
        message: 'Salesforce org mismatch: expected org-A, got org-B',
      },
    });
    expect((await engine.getConnection('sf'))?.metadata).toEqual({ organizationId: 'org-A', webhookId });

    expect((await engine.send('sf', { type: 'RECONNECT', credentials: oauth('a-3') })).state).toBe('active');
    expect((await engine.send('sf', { type: 'DELETE' })).state).toBe('deleted');
    expect(salesforce.webhooks.size).toBe(0);
    expect(salesforce.requests.filter((r) => r.method === 'DELETE').at(-1)?.path).toBe(`/webhooks/${webhookId}`);

    // Merging writes drop nothing: no warning.
    expect(lines.filter((l) => Array.isArray(l.droppedKeys))).toEqual([]);
    expect(await engine.replay('sf')).toEqual(await engine.getConnection('sf'));
  });

  it('cleanup is idempotent: a webhook already gone at the provider still deletes the connection cleanly', async () => {
    const engine = await newEngine({
      functions: example,
      integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
    });
    await engine.send('sf-gone', { type: 'CONNECT', integration: 'salesforce', credentials: oauth('a-1') });
    await engine.settled();
    const metadata = (await engine.getConnection('sf-gone'))?.metadata ?? {};
    salesforce.webhooks.delete(String(metadata.webhookId));
    expect((await engine.send('sf-gone', { type: 'DELETE' })).state).toBe('deleted');
    const history = await engine.history('sf-gone');
    expect(history.at(-1)).toMatchObject({ type: 'CLEANUP_FINISHED', data: { failed: [] } });
  });
});
