import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { readBenchConfig } from './bench-config.js';
import { renderStore } from './render-report.js';
import { benchStore } from './store-bench.js';
import { summarize } from './summarize.js';

/** What machine and software the figures come from. */
function machine() {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return 'unavailable';
    }
  };
  return {
    nproc: run('nproc', []),
    free: run('free', ['-h']),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
  };
}

/**
 * `npm run bench`: measures lifeline against the raw commit floor and Emmett on PostgreSQL, and
 * against the floor on embedded PGlite; writes bench/results/<date>-<store>.json and prints the
 * markdown tables that docs/benchmarks.md quotes.
 */
async function main() {
  const config = readBenchConfig(process.env);
  if (!(globalThis as { gc?: unknown }).gc) {
    process.stderr.write('[bench] run with node --expose-gc (npm run bench does) for the memory figures\n');
  }
  const started = new Date();
  const date = started.toISOString().slice(0, 10);
  const host = machine();
  mkdirSync(config.resultsDir, { recursive: true });
  const rendered: string[] = [];
  for (const store of config.stores) {
    const t = performance.now();
    const raw = await benchStore(store, config);
    const summary = summarize(raw);
    const file = join(config.resultsDir, `${date}-${store}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ date: started.toISOString(), store, machine: host, config, summary, raw, totalSeconds: (performance.now() - t) / 1000 }, null, 2)}\n`,
    );
    process.stderr.write(`[bench] ${store} done in ${((performance.now() - t) / 1000).toFixed(0)} s → ${file}\n`);
    rendered.push(renderStore(summary));
  }
  process.stdout.write(`${rendered.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
