/**
 * Where the function worker's entry script is. In the built package it is the compiled
 * `worker-entry.js` next to this file. When lifeline runs from its TypeScript sources (tsx,
 * vitest), a worker cannot load `.ts`, so the entry is bundled once per process with esbuild into
 * the loader's private directory.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { writeBundle } from './load-functions.js';

const here = fileURLToPath(import.meta.url);
let script: Promise<string> | undefined;

/** The path of a script a `Worker` can run (see worker-entry.ts). */
export function workerScript(): Promise<string> {
  script ??= resolveScript().catch((error) => {
    script = undefined;
    throw error;
  });
  return script;
}

async function resolveScript(): Promise<string> {
  const compiled = join(dirname(here), 'worker-entry.js');
  if (extname(here) === '.js' && existsSync(compiled)) return compiled;
  const out = await build({
    entryPoints: [join(dirname(here), `worker-entry${extname(here)}`)],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  });
  return writeBundle(out.outputFiles?.[0]?.text ?? '');
}
