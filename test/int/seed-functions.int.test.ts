import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSalesforce, startFakeSalesforce } from '../../demo/fake-salesforce.js';
import { captureLogger, engineFactory, testStores } from '../support/test-stores.js';

const fixtures = fileURLToPath(new URL('../fixtures/salesforce-seed/', import.meta.url));
const shared = fileURLToPath(new URL('../../../shared/examples/salesforce-seed/', import.meta.url));
const files = [
  'index.ts',
  'salesforce/on-events/post-connection-setup.ts',
  'salesforce/on-events/validate-connection.ts',
  'salesforce/on-events/pre-connection-cleanup.ts',
];
const oauth = (access_token: string) => ({ type: 'OAUTH2' as const, access_token });

describe('the seed files are verbatim', () => {
  it.runIf(existsSync(shared))(
    'test/fixtures/salesforce-seed is byte-for-byte ../shared/examples/salesforce-seed',
    () => {
      for (const file of files)
        expect(readFileSync(join(fixtures, file), 'utf8')).toBe(readFileSync(join(shared, file), 'utf8'));
    },
  );

  it('they import createOnEvent from the bare specifier nango', () => {
    for (const file of files.slice(1)) expect(readFileSync(join(fixtures, file), 'utf8')).toContain("from 'nango'");
  });
});

describe.each(testStores)("the seed's Salesforce functions, unchanged, on $name", (store) => {
  const newEngine = engineFactory(store);
  let salesforce: FakeSalesforce;
  beforeAll(async () => {
    salesforce = await startFakeSalesforce({ 'a-1': 'org-A', 'a-2': 'org-A', b: 'org-B', none: null });
  });
  afterAll(() => salesforce.close());

  it("run with Nango's semantics, and lifeline warns when setMetadata drops another function's keys", async () => {
    const { logger, lines } = captureLogger('warn');
    const engine = await newEngine({
      functions: fixtures,
      integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
      logger,
    });
    const r = await engine.send('sf-1', { type: 'CONNECT', integration: 'salesforce', credentials: oauth('a-1') });
    expect(r.state).toBe('active');
    await engine.settled();
    expect(salesforce.webhooks.size).toBe(1);

    // post-connection-setup's setMetadata({ webhookId }) replaced the organizationId validate-connection locked.
    const connection = await engine.getConnection('sf-1');
    expect(connection?.metadata).toEqual({ webhookId: [...salesforce.webhooks.keys()][0] });
    const warning = lines.find((l) => Array.isArray(l.droppedKeys));
    expect(warning).toMatchObject({
      level: 40,
      connectionId: 'sf-1',
      writer: 'function:salesforce/post-connection-setup',
      droppedKeys: ['organizationId'],
      writtenBy: ['function:salesforce/validate-connection'],
    });
    expect(String(warning?.msg)).toContain('use updateMetadata to merge');
    const set = (await engine.history('sf-1')).find((h) => h.type === 'METADATA_SET' && h.data.dropped);
    expect(set?.data.dropped).toEqual(['organizationId']);

    // The consequence, as on Nango: same-account enforcement silently stops working…
    const wrongOrg = await engine.send('sf-1', { type: 'RECONNECT', credentials: oauth('b') });
    expect(wrongOrg.state).toBe('active');
    // …and the webhook id is lost on that reconnect, so cleanup cannot delete the webhook.
    expect((await engine.getConnection('sf-1'))?.metadata).toEqual({ organizationId: 'org-B' });
    await engine.send('sf-1', { type: 'DELETE' });
    expect(salesforce.webhooks.size).toBe(1);
    expect(await engine.replay('sf-1')).toEqual(await engine.getConnection('sf-1'));
  });

  it('reject a token whose userinfo has no organization on first connect → deleted with the message', async () => {
    const engine = await newEngine({
      functions: fixtures,
      integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
    });
    const r = await engine.send('sf-2', { type: 'CONNECT', integration: 'salesforce', credentials: oauth('none') });
    expect(r).toMatchObject({
      state: 'deleted',
      error: {
        type: 'connection_validation_failed',
        message: 'Salesforce connection missing organization_id from /services/oauth2/userinfo',
      },
    });
  });
});
