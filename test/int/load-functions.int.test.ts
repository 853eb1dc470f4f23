import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLifelineError, loadFunctions } from '../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'lifeline-loader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const fnFile = (event: string, body = '') => `
import { createOnEvent } from 'nango';
import * as z from 'zod';
const helper: (n: number) => number = (n) => n + 1; // TypeScript syntax compiles
export default createOnEvent({
  description: 'test',
  event: '${event}',
  metadata: z.object({ a: z.string().optional() }),
  exec: async (nango) => { ${body} void helper(1); },
});`;

async function loadError(dir: string) {
  const error = await loadFunctions(dir).catch((e) => e);
  expect(isLifelineError(error, 'function_load_failed')).toBe(true);
  return error as Error;
}

describe('loading a Nango functions folder', () => {
  it('reads index.ts imports (with or without .js), names functions by path, resolves nango and zod', async () => {
    const dir = folder('ok', {
      'index.ts': "import './hubspot/on-events/setup.js';\nimport './github/on-events/check';\n",
      'hubspot/on-events/setup.ts': fnFile('post-connection-creation'),
      'github/on-events/check.ts': fnFile('validate-connection'),
      'github/on-events/not-imported.ts': 'this is not even valid TypeScript {',
    });
    const loaded = await loadFunctions(dir);
    expect(loaded.map((f) => [f.integration, f.name, f.definition.event])).toEqual([
      ['hubspot', 'setup', 'post-connection-creation'],
      ['github', 'check', 'validate-connection'],
    ]);
    expect(loaded[0]?.definition.metadata?.safeParse({ a: 1 }).success).toBe(false);
    expect(loaded[0]?.definition.metadata?.safeParse({ a: 'x' }).success).toBe(true);
  });

  it('accepts `import { createOnEvent } from "lifeline"` too', async () => {
    const dir = folder('lifeline-import', {
      'index.ts': "import './x/on-events/a';",
      'x/on-events/a.ts':
        "import { createOnEvent } from 'lifeline';\nexport default createOnEvent({ event: 'validate-connection', exec: async () => {} });",
    });
    expect((await loadFunctions(dir)).map((f) => f.name)).toEqual(['a']);
  });

  it('an empty index loads no functions', async () => {
    expect(await loadFunctions(folder('empty', { 'index.ts': '// nothing yet\n' }))).toEqual([]);
  });

  it('bundles CommonJS dependencies that require Node built-ins', async () => {
    const dir = folder('cjs', {
      'index.ts': "import './x/on-events/a';",
      'node_modules/cjs-dep/package.json': JSON.stringify({ name: 'cjs-dep', main: 'index.js' }),
      'node_modules/cjs-dep/index.js':
        "const crypto = require('crypto'); module.exports = () => crypto.randomUUID().length;",
      'x/on-events/a.ts':
        "import { createOnEvent } from 'nango';\nimport uuidLength from 'cjs-dep';\nexport const n = uuidLength();\nexport default createOnEvent({ event: 'validate-connection', exec: async () => {} });",
    });
    expect((await loadFunctions(dir)).map((f) => f.name)).toEqual(['a']);
  });

  it('a function file that throws at load is a function_load_failed error', async () => {
    const error = await loadError(
      folder('throws', {
        'index.ts': "import './x/on-events/a';",
        'x/on-events/a.ts': "throw new Error('boom at load');",
      }),
    );
    expect(error.message).toContain('boom at load');
  });

  it('refuses a folder without index.ts, naming it', async () => {
    const error = await loadError(folder('no-index', { 'x/on-events/a.ts': fnFile('validate-connection') }));
    expect(error.message).toContain('no index.ts');
  });

  it('refuses a default export that is not createOnEvent, naming the file', async () => {
    const error = await loadError(
      folder('bad-export', {
        'index.ts': "import './x/on-events/a';",
        'x/on-events/a.ts': 'export default { event: 1 };',
      }),
    );
    expect(error.message).toContain('x/on-events/a.ts: the default export must be createOnEvent');
  });

  it('refuses an unknown event name', async () => {
    const error = await loadError(
      folder('bad-event', { 'index.ts': "import './x/on-events/a';", 'x/on-events/a.ts': fnFile('post-sync') }),
    );
    expect(error.message).toContain('event must be one of');
  });

  it('reports a compile error with its location', async () => {
    const error = await loadError(
      folder('syntax', {
        'index.ts': "import './x/on-events/a';",
        'x/on-events/a.ts': 'export default createOnEvent({',
      }),
    );
    expect(error.message).toContain('a.ts');
  });

  it('refuses a function file at the folder root (no integration folder)', async () => {
    const error = await loadError(
      folder('root-file', { 'index.ts': "import './a';", 'a.ts': fnFile('validate-connection') }),
    );
    expect(error.message).toContain("must live under its integration's folder");
  });
});
