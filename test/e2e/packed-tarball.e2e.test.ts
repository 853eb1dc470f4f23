import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const app = mkdtempSync(join(tmpdir(), 'lifeline-app-'));
afterAll(() => rmSync(app, { recursive: true, force: true }));

// dist/ was built by the global setup, so the tarball is packed without running prepack again.
// An app outside the repo: installs the packed tarball, keeps the seed's files unchanged in its
// own folder, and drives a connection on the embedded store (the default ./.lifeline/data).
const script = `
import { createServer } from 'node:http';
import { createEngine } from 'lifeline';

const orgs = { 'tok-1': 'org-A', 'tok-2': 'org-A' };
const webhooks = new Set();
const server = createServer((req, res) => {
  const token = (req.headers.authorization ?? '').replace('Bearer ', '');
  res.setHeader('content-type', 'application/json');
  if (req.url === '/services/oauth2/userinfo') return res.end(JSON.stringify({ organization_id: orgs[token] }));
  if (req.method === 'POST' && req.url === '/webhooks') { webhooks.add('wh-1'); res.statusCode = 201; return res.end('{"id":"wh-1"}'); }
  if (req.method === 'DELETE') { webhooks.delete(req.url.split('/').pop()); res.statusCode = 204; return res.end(); }
  res.statusCode = 404; res.end('{}');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const engine = await createEngine({
  functions: './integrations',
  integrations: { salesforce: { baseUrl: 'http://127.0.0.1:' + server.address().port } },
  logger: (await import('pino')).pino({ level: 'silent' }),
});
const steps = [];
steps.push(await engine.send('conn-1', { type: 'CONNECT', integration: 'salesforce', credentials: { type: 'OAUTH2', access_token: 'tok-1' } }));
await engine.settled();
steps.push({ webhooks: webhooks.size });
steps.push(await engine.send('conn-1', { type: 'RECONNECT', credentials: { type: 'OAUTH2', access_token: 'tok-2' } }));
steps.push(await engine.send('conn-1', { type: 'DELETE' }));
steps.push({ types: (await engine.history('conn-1')).map((h) => h.type) });
await engine.close();
server.close();
console.log(JSON.stringify(steps));
`;

describe('the packed tarball in a separate app', () => {
  it('installs, loads the seed files unchanged and drives CONNECT → RECONNECT → DELETE', () => {
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', app, '--silent'], {
      cwd: repo,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .at(-1) as string;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', join(app, packed), 'zod@4.6.7'], {
      cwd: app,
      encoding: 'utf8',
    });
    cpSync(join(repo, 'test/fixtures/salesforce-seed'), join(app, 'integrations'), { recursive: true });
    writeFileSync(join(app, 'main.mjs'), script);

    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' });
    const steps = JSON.parse(out.trim().split('\n').at(-1) as string);
    expect(steps[0]).toMatchObject({ connectionId: 'conn-1', state: 'active' });
    expect(steps[1]).toEqual({ webhooks: 1 });
    expect(steps[2]).toMatchObject({ state: 'active' });
    expect(steps[3]).toMatchObject({ state: 'deleted' });
    expect(steps[4].types[0]).toBe('CONNECT');
    expect(steps[4].types.at(-1)).toBe('CLEANUP_FINISHED');

    // The bin works from the app and reads the same embedded store.
    const history = execFileSync(join(app, 'node_modules/.bin/lifeline'), ['history', 'conn-1', '--json'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(JSON.parse(history).map((r: { type: string }) => r.type)).toEqual(steps[4].types);
  }, 300_000);
});
