/**
 * `npm run incident`: writes the incident that docs/guides/auditing.md investigates into the
 * embedded store `./.lifeline/incident` (replaced on each run). A customer connects Salesforce,
 * later reconnects with an account of another Salesforce org (refused), and then deletes the
 * connection. The fake Salesforce runs on loopback only while this script runs.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createEngine } from '../src/index.js';
import { startFakeSalesforce } from './fake-salesforce.js';

const dataDir = '.lifeline/incident';
for (const path of [dataDir, `${dataDir}.key`, `${dataDir}.lock`]) rmSync(path, { recursive: true, force: true });

const salesforce = await startFakeSalesforce({
  'token-acme-admin': '00D-ACME',
  'token-acme-intern': '00D-ACME-SANDBOX',
});
const engine = await createEngine({
  functions: join(fileURLToPath(new URL('.', import.meta.url)), '../examples/salesforce'),
  integrations: { salesforce: { baseUrl: salesforce.baseUrl } },
  database: `pglite://${dataDir}`,
  logger: pino({ level: 'silent' }),
});
const oauth = (access_token: string) => ({ type: 'OAUTH2' as const, access_token });
const steps = [
  await engine.send('acme-salesforce', {
    type: 'CONNECT',
    integration: 'salesforce',
    credentials: oauth('token-acme-admin'),
    metadata: { customer: 'acme' },
  }),
  await engine
    .settled()
    .then(() => engine.send('acme-salesforce', { type: 'RECONNECT', credentials: oauth('token-acme-intern') })),
  await engine.send('acme-salesforce', { type: 'DELETE' }),
];
await engine.close();
await salesforce.close();
for (const s of steps) console.log(`${s.connectionId} → ${s.state}${s.error ? ` (${s.error.message})` : ''}`);
console.log(`\nThe incident is in pglite://${dataDir}. Investigate it with docs/guides/auditing.md.`);
