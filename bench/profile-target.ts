import { fold } from '../machines/connection-fold.js';
import { readBenchConfig } from './bench-config.js';
import { openBenchDatabase } from './bench-database.js';
import { createBenchEngine } from './bench-engine.js';
import { measureFoldVariants } from './measure-fold-variants.js';
import { measureLifecycles } from './measure-lifecycles.js';
import { buildLongHistory, toInput } from './measure-replay.js';

/**
 * One workload alone, to run under `node --cpu-prof` when a target is missed:
 * `LIFELINE_BENCH_PROFILE=lifecycles|fold` (fold also prints {@link measureFoldVariants}), on `LIFELINE_BENCH_STORES`' first store, with the
 * sizes of `LIFELINE_BENCH_LIFECYCLES` / `LIFELINE_BENCH_REPLAY_RECORDS` and the first
 * concurrency of `LIFELINE_BENCH_CONCURRENCY`.
 *
 * @example
 * LIFELINE_BENCH_PROFILE=lifecycles node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-target.ts
 */
async function main() {
  const config = readBenchConfig(process.env);
  const target = process.env.LIFELINE_BENCH_PROFILE ?? 'lifecycles';
  const bench = await openBenchDatabase(config.stores[0] ?? 'postgres', config.databaseUrl);
  try {
    const engine = await createBenchEngine(bench, 'profile');
    const concurrency = config.concurrencies[0] ?? 1;
    if (target === 'lifecycles') {
      await measureLifecycles(bench, engine, 20, concurrency, 'warm');
      const run = await measureLifecycles(bench, engine, config.lifecycles, concurrency, 'profiled');
      process.stdout.write(`${JSON.stringify(run)}\n`);
    } else if (target === 'fold') {
      const id = await buildLongHistory(engine, 'long', config.replayRecords);
      const inputs = (await engine.history(id)).map(toInput);
      const t = performance.now();
      for (let i = 0; i < 5; i++) fold(id, inputs);
      process.stdout.write(`${((5 * inputs.length) / (performance.now() - t)) * 1000} records/s\n`);
      process.stdout.write(`${JSON.stringify(measureFoldVariants(id, inputs))}\n`);
    } else throw new Error(`LIFELINE_BENCH_PROFILE: unknown target ${target}`);
    await engine.close();
  } finally {
    await bench.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
