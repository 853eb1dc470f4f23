import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engine, type LoadedFunction, loadFunctions } from '../../src/index.js';
import { type FakeProvider, startFakeProvider } from '../support/fake-provider.js';
import { engineFactory, testStores } from '../support/test-stores.js';

/**
 * Event functions written the way Nango's provider docs write them, loaded from a folder with
 * `import { createOnEvent } from 'nango'` and run unchanged against loopback fakes.
 */
const FILES: Record<string, string> = {
  'index.ts': `
import './cal-com/on-events/register-webhook';
import './cal-com/on-events/delete-webhook';
import './folk/on-events/register-webhook.js';
import './google-calendar/on-events/validate-account';
import './google-calendar/on-events/watch-calendar';
import './google-calendar/on-events/stop-watching';
import './videoask/on-events/register-webhooks';
import './attio/on-events/validate-connection';
`,
  'cal-com/on-events/register-webhook.ts': `
import { createOnEvent } from 'nango';
import * as z from 'zod';

export default createOnEvent({
  description: 'Subscribe to Cal.com booking events, delivered to the integration webhook URL',
  event: 'post-connection-creation',
  metadata: z.object({ webhookId: z.string().optional() }),
  exec: async (nango) => {
    const webhookUrl = await nango.getWebhookURL();
    const integration = await nango.getIntegration({ include: ['webhook', 'credentials'] });
    const response = await nango.post({
      endpoint: '/v2/webhooks',
      data: {
        subscriberUrl: \`\${webhookUrl}?nangoConnectionId=\${nango.connectionId}\`,
        triggers: ['BOOKING_CREATED', 'BOOKING_CANCELLED', 'BOOKING_RESCHEDULED'],
        active: true,
        secret: integration.credentials?.webhook_secret,
        payloadTemplate: JSON.stringify({ nangoConnectionId: nango.connectionId }),
      },
      retries: 3,
    });
    await nango.updateMetadata({ webhookId: String(response.data.data.id) });
    await nango.log('Cal.com webhook registered', { level: 'info' });
  },
});
`,
  'cal-com/on-events/delete-webhook.ts': `
import { createOnEvent } from 'nango';

export default createOnEvent({
  description: 'Remove the Cal.com webhook subscription',
  event: 'pre-connection-deletion',
  exec: async (nango) => {
    const metadata = await nango.getMetadata<{ webhookId?: string }>();
    if (!metadata?.webhookId) return;
    try {
      await nango.delete({ endpoint: \`/v2/webhooks/\${metadata.webhookId}\`, retries: 3 });
    } catch (error: any) {
      if (error?.response?.status !== 404) throw error;
    }
  },
});
`,
  'folk/on-events/register-webhook.ts': `
import { createOnEvent } from 'nango';

export default createOnEvent({
  description: 'Create a Folk webhook for people and company changes',
  event: 'post-connection-creation',
  exec: async (nango) => {
    const targetUrl = await nango.getWebhookURL();
    if (!targetUrl) throw new nango.ActionError({ message: 'No webhook URL configured for Folk' });
    const res = await nango.post({
      endpoint: '/v1/webhooks',
      data: {
        name: \`nango-\${nango.connectionId}\`,
        targetUrl,
        subscribedEvents: [{ eventType: 'person.created' }, { eventType: 'company.updated' }],
      },
      retries: 5,
    });
    await nango.updateMetadata({ folkWebhookId: res.data.data.id });
  },
});
`,
  'google-calendar/on-events/validate-account.ts': `
import { createOnEvent } from 'nango';
import * as z from 'zod';

// The People API lives on another Google host than Calendar: baseUrlOverride reaches it with the
// same connection (the host is configurable per environment).
export default createOnEvent({
  description: 'Lock the Google account on first connect; refuse another account on reconnect',
  event: 'validate-connection',
  metadata: z.object({ email: z.string().optional(), channelId: z.string().optional(), resourceId: z.string().optional() }),
  exec: async (nango) => {
    const env = await nango.getEnvironmentVariables();
    const peopleApi = env?.find((v) => v.name === 'GOOGLE_PEOPLE_API')?.value ?? 'https://people.googleapis.com';
    const me = await nango.get({
      baseUrlOverride: peopleApi,
      endpoint: '/v1/people/me',
      params: { personFields: 'emailAddresses' },
      retries: 2,
    });
    const email = me.data.emailAddresses?.[0]?.value;
    if (!email) throw new nango.ActionError({ message: 'The Google account has no email address' });
    const metadata = await nango.getMetadata();
    if (metadata?.email && metadata.email !== email) {
      throw new nango.ActionError({ message: \`Reconnect with \${metadata.email}, not \${email}\` });
    }
    await nango.updateMetadata({ email });
  },
});
`,
  'google-calendar/on-events/watch-calendar.ts': `
import { createOnEvent } from 'nango';

export default createOnEvent({
  description: 'Watch the primary calendar for changes (push notifications)',
  event: 'post-connection-creation',
  exec: async (nango) => {
    const address = await nango.getWebhookURL();
    const { data } = await nango.post({
      endpoint: '/calendar/v3/calendars/primary/events/watch',
      data: { id: \`nango-\${nango.connectionId}\`, type: 'web_hook', address, token: \`connectionId=\${nango.connectionId}\` },
      retries: 3,
    });
    await nango.updateMetadata({ channelId: data.id, resourceId: data.resourceId });
  },
});
`,
  'google-calendar/on-events/stop-watching.ts': `
import { createOnEvent } from 'nango';

export default createOnEvent({
  description: 'Stop the calendar watch channel',
  event: 'pre-connection-deletion',
  exec: async (nango) => {
    const { channelId, resourceId } = await nango.getMetadata();
    if (!channelId) return;
    await nango.post({ endpoint: '/calendar/v3/channels/stop', data: { id: channelId, resourceId }, retries: 3 });
  },
});
`,
  'videoask/on-events/register-webhooks.ts': `
import { createOnEvent } from 'nango';

export default createOnEvent({
  description: 'Register a form_response webhook on every VideoAsk form',
  event: 'post-connection-creation',
  exec: async (nango) => {
    const connection = await nango.getConnection();
    const organizationId = connection.connection_config['organizationId'];
    const url = await nango.getWebhookURL();
    const registered: string[] = [];
    for await (const forms of nango.paginate({ endpoint: '/forms', headers: { 'organization-id': organizationId }, paginate: { limit: 2 } })) {
      for (const form of forms) {
        await nango.put({
          endpoint: \`/forms/\${form.form_id}/webhooks/form_response\`,
          headers: { 'organization-id': organizationId },
          data: { url, event_types: ['form_response'] },
          retries: 3,
        });
        registered.push(form.form_id);
      }
    }
    await nango.updateMetadata({ forms: registered });
  },
});
`,
  'attio/on-events/validate-connection.ts': `
import { createOnEvent } from 'nango';
import * as z from 'zod';

export default createOnEvent({
  description: 'Check the token is active and belongs to the workspace connected first',
  event: 'validate-connection',
  metadata: z.object({ workspaceId: z.string().optional() }),
  exec: async (nango) => {
    const response = await nango.get({ endpoint: '/v2/self', retries: 3 });
    const { active, workspace_id, workspace_name } = response.data;
    if (!active) throw new nango.ActionError({ message: 'This Attio token is no longer active' });
    const { workspaceId } = await nango.getMetadata();
    if (workspaceId && workspaceId !== workspace_id) {
      throw new nango.ActionError({ message: \`This connection belongs to another Attio workspace than \${workspace_name}\` });
    }
    await nango.updateMetadata({ workspaceId: workspace_id });
  },
});
`,
};

let folder: string;
let functions: LoadedFunction[];

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'lifeline-nango-docs-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), text);
  }
  functions = await loadFunctions(folder);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const WEBHOOK = 'https://hooks.myapp.test/webhook/abc';

describe.each(testStores)('Nango provider-doc functions on $name', (store) => {
  const newEngine = engineFactory(store);
  let fake: FakeProvider;
  let people: FakeProvider;
  let engine: Engine;
  const webhooks = new Map<string, Record<string, unknown>>();
  let nextId = 1;

  beforeAll(async () => {
    fake = await startFakeProvider();
    people = await startFakeProvider();
    // Cal.com v2 and Folk: create / delete webhooks (Cal.com is briefly rate limited).
    let calPosts = 0;
    fake.route('POST /v2/webhooks', (req) => {
      if (calPosts++ === 0) return { status: 429, headers: { 'retry-after': '0' }, json: { error: 'slow down' } };
      const id = String(nextId++);
      webhooks.set(`cal-${id}`, req.json);
      return { status: 201, json: { status: 'success', data: { id, ...req.json } } };
    });
    fake.route('POST /v1/webhooks', (req) => {
      const id = `wh_${nextId++}`;
      webhooks.set(`folk-${id}`, req.json);
      return { status: 201, json: { data: { id, ...req.json } } };
    });
    fake.route('DELETE /v2/webhooks/1', () => ({ status: 200, json: { status: 'success' } }));
    // Google: the account (People API host) and the calendar watch channels.
    people.route('GET /v1/people/me', (req) => ({
      json: {
        emailAddresses: [{ value: req.headers.authorization === 'Bearer g-tok-2' ? 'eve@x.test' : 'ann@x.test' }],
      },
    }));
    fake.route('POST /calendar/v3/calendars/primary/events/watch', (req) => ({
      json: { kind: 'api#channel', id: req.json.id, resourceId: 'res-9', expiration: '1767225600000' },
    }));
    fake.route('POST /calendar/v3/channels/stop', () => ({ status: 204 }));
    // VideoAsk: five forms, offset pagination from the catalog (results).
    fake.route('GET /forms', (req) => {
      const offset = Number(req.query.offset);
      const all = ['f1', 'f2', 'f3', 'f4', 'f5'].map((form_id) => ({ form_id }));
      return { json: { count: 5, results: all.slice(offset, offset + Number(req.query.limit)) } };
    });
    fake.route('PUT /forms/f1/webhooks/form_response', () => ({ json: { ok: true } }));
    for (const f of ['f2', 'f3', 'f4', 'f5'])
      fake.route(`PUT /forms/${f}/webhooks/form_response`, () => ({ json: {} }));
    // Attio: who the token belongs to.
    fake.route('GET /v2/self', (req) => {
      const token = String(req.headers.authorization).replace('Bearer ', '');
      if (token === 'attio-dead') return { json: { active: false } };
      const workspace = token === 'attio-other' ? 'ws-2' : 'ws-1';
      return { json: { active: true, workspace_id: workspace, workspace_name: `Workspace ${workspace}` } };
    });

    engine = await newEngine({
      functions,
      environmentVariables: { GOOGLE_PEOPLE_API: people.baseUrl },
      http: { retryBaseMs: 1, retryMaxMs: 10 },
      integrations: {
        'cal-com': { baseUrl: fake.baseUrl, webhookUrl: WEBHOOK, webhookSecret: 'cal-whsec-123456' },
        folk: { baseUrl: fake.baseUrl, webhookUrl: WEBHOOK },
        'google-calendar': { baseUrl: fake.baseUrl, webhookUrl: WEBHOOK },
        videoask: { baseUrl: fake.baseUrl, webhookUrl: WEBHOOK },
        attio: { baseUrl: fake.baseUrl },
      },
    });
  });
  afterAll(async () => {
    await fake.close();
    await people.close();
  });

  it('Cal.com: registers the webhook with the integration secret (after a 429), then deletes it', async () => {
    const r = await engine.send('cal-1', {
      type: 'CONNECT',
      integration: 'cal-com',
      credentials: { type: 'API_KEY', apiKey: 'cal_live_abcdef' },
    });
    await engine.settled();
    expect(r.state).toBe('active');
    expect((await engine.getConnection('cal-1'))?.metadata).toEqual({ webhookId: '1' });
    expect(webhooks.get('cal-1')).toMatchObject({
      subscriberUrl: `${WEBHOOK}?nangoConnectionId=cal-1`,
      secret: 'cal-whsec-123456',
      active: true,
    });
    const posts = fake.requests.filter((q) => q.path === '/v2/webhooks');
    expect(posts.map((q) => q.headers.authorization)).toEqual(['Bearer cal_live_abcdef', 'Bearer cal_live_abcdef']);
    expect(posts.at(-1)?.headers['cal-api-version']).toBe('2024-08-13');
    await engine.send('cal-1', { type: 'DELETE' });
    expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/v2/webhooks/1' });
    expect(JSON.stringify(await engine.history('cal-1'))).not.toContain('cal-whsec-123456');
  });

  it('Folk: registers a webhook at the integration webhook URL', async () => {
    await engine.send('folk-1', {
      type: 'CONNECT',
      integration: 'folk',
      credentials: { type: 'API_KEY', apiKey: 'folk-key-123456' },
    });
    await engine.settled();
    const meta = (await engine.getConnection('folk-1'))?.metadata as { folkWebhookId: string };
    expect(webhooks.get(`folk-${meta.folkWebhookId}`)).toMatchObject({ name: 'nango-folk-1', targetUrl: WEBHOOK });
  });

  it('Google Calendar: identity via baseUrlOverride, a watch channel, another account refused, channel stopped', async () => {
    const first = await engine.send('g-1', {
      type: 'CONNECT',
      integration: 'google-calendar',
      credentials: { type: 'OAUTH2', access_token: 'g-tok-1' },
    });
    await engine.settled();
    expect(first.state).toBe('active');
    expect(people.requests.at(-1)).toMatchObject({
      path: '/v1/people/me',
      query: { personFields: 'emailAddresses' },
      headers: { authorization: 'Bearer g-tok-1' },
    });
    expect((await engine.getConnection('g-1'))?.metadata).toEqual({
      email: 'ann@x.test',
      channelId: 'nango-g-1',
      resourceId: 'res-9',
    });
    const other = await engine.send('g-1', {
      type: 'RECONNECT',
      credentials: { type: 'OAUTH2', access_token: 'g-tok-2' },
    });
    expect(other.state).toBe('auth_error');
    expect(other.error?.message).toBe('Reconnect with ann@x.test, not eve@x.test');
    await engine.send('g-1', { type: 'DELETE' });
    expect(fake.requests.at(-1)).toMatchObject({
      path: '/calendar/v3/channels/stop',
      json: { id: 'nango-g-1', resourceId: 'res-9' },
    });
  });

  it('VideoAsk: pages through the forms (catalog offset pagination) and registers each one', async () => {
    await engine.send('va-1', {
      type: 'CONNECT',
      integration: 'videoask',
      credentials: { type: 'OAUTH2', access_token: 'va-tok-123' },
      connectionConfig: { organizationId: 'org-77' },
    });
    await engine.settled();
    expect((await engine.getConnection('va-1'))?.metadata).toEqual({ forms: ['f1', 'f2', 'f3', 'f4', 'f5'] });
    const puts = fake.requests.filter((q) => q.method === 'PUT');
    expect(puts).toHaveLength(5);
    expect(puts.every((q) => q.headers['organization-id'] === 'org-77' && q.json.url === WEBHOOK)).toBe(true);
    expect(fake.requests.filter((q) => q.path === '/forms').map((q) => q.query.offset)).toEqual(['0', '2', '4']);
  });

  it('Attio: an active token passes and locks the workspace; another workspace or a dead token is refused', async () => {
    const ok = await engine.send('at-1', {
      type: 'CONNECT',
      integration: 'attio',
      credentials: { type: 'OAUTH2', access_token: 'attio-good' },
    });
    expect(ok.state).toBe('active');
    expect((await engine.getConnection('at-1'))?.metadata).toEqual({ workspaceId: 'ws-1' });
    const switched = await engine.send('at-1', {
      type: 'RECONNECT',
      credentials: { type: 'OAUTH2', access_token: 'attio-other' },
    });
    expect(switched).toMatchObject({
      state: 'auth_error',
      error: { message: 'This connection belongs to another Attio workspace than Workspace ws-2' },
    });
    const dead = await engine.send('at-2', {
      type: 'CONNECT',
      integration: 'attio',
      credentials: { type: 'OAUTH2', access_token: 'attio-dead' },
    });
    expect(dead).toMatchObject({ state: 'deleted', error: { message: 'This Attio token is no longer active' } });
  });
});
