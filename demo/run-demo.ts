/**
 * `npm run demo`: the Salesforce example on the embedded store, against a fake Salesforce on
 * loopback. Prints each connection's timeline and exits non-zero if any step deviates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { pino } from 'pino';
import { formatTimeline } from '../src/cli/format-timeline.js';
import { createEngine, type Engine } from '../src/index.js';
import { startFakeSalesforce } from './fake-salesforce.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'lifeline-demo-'));
const salesforce = await startFakeSalesforce({
  'token-org-a-1': 'org-A',
  'token-org-a-2': 'org-A',
  'token-org-a-3': 'org-A',
  'token-org-b': 'org-B',
  'token-no-org': null,
});
const oauth = (access_token: string) => ({ type: 'OAUTH2' as const, access_token });

let failures = 0;
function expect(what: string, ok: boolean, detail = '') {
  console.log(`${ok ? '  ✓' : '  ✗'} ${what}${ok || !detail ? '' : ` (${detail})`}`);
  if (!ok) failures++;
}

let engine: Engine | undefined;
try {
  engine = await createEngine({
    functions: join(here, '../examples/salesforce'),
    integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
    database: `pglite://${join(dataDir, 'data')}`,
    logger: pino({ level: 'error' }),
  });
  console.log(`lifeline demo — embedded store in ${dataDir}, fake Salesforce at ${salesforce.baseUrl}\n`);

  console.log('1. connect conn-1 with an org-A token');
  let r = await engine.send('conn-1', {
    type: 'CONNECT',
    integration: 'salesforce',
    credentials: oauth('token-org-a-1'),
  });
  await engine.settled();
  let c = await engine.getConnection('conn-1');
  expect('active', r.state === 'active', r.state);
  expect('one webhook registered', salesforce.webhooks.size === 1, String(salesforce.webhooks.size));
  expect(
    'organization locked and webhook id kept',
    c?.metadata.organizationId === 'org-A' && typeof c?.metadata.webhookId === 'string',
    JSON.stringify(c?.metadata),
  );

  console.log('2. reconnect with another org-A token');
  r = await engine.send('conn-1', { type: 'RECONNECT', credentials: oauth('token-org-a-2') });
  await engine.settled();
  expect('active', r.state === 'active', r.state);
  expect(
    'no second webhook (post-connection-creation does not run again)',
    salesforce.webhooks.size === 1,
    String(salesforce.webhooks.size),
  );

  console.log('3. reconnect with an org-B token');
  r = await engine.send('conn-1', { type: 'RECONNECT', credentials: oauth('token-org-b') });
  expect('auth_error', r.state === 'auth_error', r.state);
  expect(
    'org mismatch message',
    r.error?.message === 'Salesforce org mismatch: expected org-A, got org-B',
    r.error?.message,
  );
  expect('reason refresh_exhausted', r.error?.reason === 'refresh_exhausted', r.error?.reason);

  console.log('4. reconnect with org A again');
  r = await engine.send('conn-1', { type: 'RECONNECT', credentials: oauth('token-org-a-3') });
  expect('active, error cleared', r.state === 'active' && r.error === undefined, JSON.stringify(r));

  console.log('5. delete conn-1');
  r = await engine.send('conn-1', { type: 'DELETE' });
  expect('deleted', r.state === 'deleted', r.state);
  expect('webhook deleted at Salesforce', salesforce.webhooks.size === 0, String(salesforce.webhooks.size));

  console.log('6. connect conn-2 with a token whose userinfo has no organization');
  r = await engine.send('conn-2', { type: 'CONNECT', integration: 'salesforce', credentials: oauth('token-no-org') });
  await engine.settled();
  expect('deleted', r.state === 'deleted', r.state);
  expect(
    "the function's message",
    r.error?.message === 'Salesforce connection missing organization_id from /services/oauth2/userinfo',
    r.error?.message,
  );
  expect('no webhook registered', salesforce.webhooks.size === 0, String(salesforce.webhooks.size));

  for (const id of ['conn-1', 'conn-2']) {
    console.log(`\nTimeline of ${id}`);
    console.log(formatTimeline(await engine.history(id)));
    c = await engine.getConnection(id);
    const replayed = await engine.replay(id);
    expect(`replay of ${id} equals its projection`, isDeepStrictEqual(replayed, c));
  }
} catch (error) {
  console.error(error);
  failures++;
} finally {
  await engine?.close();
  await salesforce.close();
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(failures === 0 ? '\nAll demo steps behaved as expected.' : `\n${failures} demo step(s) deviated.`);
process.exit(failures === 0 ? 0 : 1);
