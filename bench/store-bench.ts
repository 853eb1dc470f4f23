import type { BenchConfig } from './bench-config.js';
import { openBenchDatabase } from './bench-database.js';
import { createBenchEngine } from './bench-engine.js';
import { type EmmettRun, lifecycleShape, measureEmmett } from './measure-emmett.js';
import { type FloorRun, measureFloor } from './measure-floor.js';
import { type LifecycleRun, measureLifecycles } from './measure-lifecycles.js';
import { buildLongHistory, measureReplay, type ReplayRun } from './measure-replay.js';
import { driveToActive, type MemorySample, sampleMemory, seedConnections, settleTables } from './measure-scale.js';
import { loadLog, measureVerify, type VerifyRun } from './measure-verify.js';

/** Everything measured on one store in one run of the benchmark, raw (every repetition kept). */
export interface StoreResults {
  store: 'postgres' | 'pglite';
  serverVersion: string;
  floor: Record<number, FloorRun[]>;
  lifeline: Record<number, LifecycleRun[]>;
  /** Empty on PGlite: Emmett's PostgreSQL store needs a server connection string. */
  emmett: Record<number, EmmettRun[]>;
  replay: ReplayRun[];
  verify: VerifyRun[];
  /** `verify` over the connections driven to `active` for the memory figures (once). */
  verifyAtScale: VerifyRun | null;
  memory: MemorySample[];
  scale: Array<{ existingConnections: number; runs: LifecycleRun[] }>;
  /** Seconds each part took, for planning sizes. */
  seconds: Record<string, number>;
}

/** Appends `value` to `table[key]`, creating the list. */
function push<T>(table: Record<number, T[]>, key: number, value: T) {
  const list = table[key] ?? [];
  list.push(value);
  table[key] = list;
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/**
 * Runs every measurement on one store. Floor, lifeline and peer are interleaved run by run and
 * concurrency by concurrency, so that a slow moment of the machine hits all three alike.
 */
export async function benchStore(kind: 'postgres' | 'pglite', config: BenchConfig): Promise<StoreResults> {
  const bench = await openBenchDatabase(kind, config.databaseUrl);
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await work();
    } finally {
      seconds[name] = (seconds[name] ?? 0) + (performance.now() - t) / 1000;
    }
  };
  try {
    const results: StoreResults = {
      store: kind,
      serverVersion: await bench.serverVersion(),
      floor: {},
      lifeline: {},
      emmett: {},
      replay: [],
      verifyAtScale: null,
      verify: [],
      memory: [],
      scale: [],
      seconds,
    };
    const engine = await createBenchEngine(bench, 'life');
    // Warm-up (JIT, pool connections, plan caches): not measured.
    await measureLifecycles(bench, engine, Math.min(50, config.lifecycles), 4, 'warm');
    await measureFloor(bench, Math.min(200, config.floorInserts), 4);
    let shape: number[] | null = null;
    for (let run = 0; run < config.runs; run++) {
      for (const c of config.concurrencies) {
        log(
          `${kind} run ${run + 1}/${config.runs}, ${c} in flight: floor, lifeline${kind === 'postgres' ? ', emmett' : ''}`,
        );
        const floor = await timed('floor', () => measureFloor(bench, config.floorInserts, c));
        push(results.floor, c, floor);
        const life = await timed('lifeline', () =>
          measureLifecycles(bench, engine, config.lifecycles, c, `r${run}-c${c}`),
        );
        push(results.lifeline, c, life);
        // The first run has one in flight: each commit is one append (no group commit).
        shape ??= lifecycleShape(Math.round(life.recordsPerLifecycle), Math.round(life.writeCommitsPerLifecycle));
        if (kind === 'postgres') {
          const peer = await timed('emmett', () =>
            measureEmmett(
              config.databaseUrl,
              bench.schema(`emmett_${run}_${c}`),
              config.lifecycles,
              c,
              shape as number[],
            ),
          );
          push(results.emmett, c, peer);
        }
      }
    }

    log(`${kind}: verify over ${config.runs * config.concurrencies.length * config.lifecycles} connections`);
    const loaded = await timed('verify', () => loadLog(bench, engine.schema));
    for (let run = 0; run < config.runs; run++) {
      results.verify.push(await timed('verify', () => measureVerify(bench, engine, loaded)));
    }

    log(`${kind}: replay of one connection with ${config.replayRecords} records`);
    const replayEngine = await createBenchEngine(bench, 'replay');
    const longId = await timed('replay', () => buildLongHistory(replayEngine, 'long-history', config.replayRecords));
    for (let run = 0; run < config.runs; run++) {
      results.replay.push(await timed('replay', () => measureReplay(replayEngine, longId)));
    }
    await replayEngine.close();
    await engine.close();

    const scaleConnections = kind === 'postgres' ? config.scaleConnections : config.pgliteScaleConnections;
    log(`${kind}: memory and scale (${config.memoryConnections} idle, ${scaleConnections} existing)`);
    // Two schemas: a small store (1,000 connections) and a large one (the memory figures'
    // connections, topped up by SQL to the scale size). Their timed runs alternate, so a slow
    // moment of the machine hits both alike.
    const first = Math.min(1000, config.memoryConnections);
    results.memory.push(sampleMemory(0));
    const smallEngine = await createBenchEngine(bench, 'scale_small');
    await timed('memory', () => driveToActive(smallEngine, 'idle', 0, first, 64));
    results.memory.push(sampleMemory(first));
    const scaleEngine = await createBenchEngine(bench, 'scale');
    await timed('memory', () => driveToActive(scaleEngine, 'idle', 0, config.memoryConnections, 64));
    results.memory.push(sampleMemory(first + config.memoryConnections));
    log(`${kind}: verify over the ${config.memoryConnections} idle connections`);
    results.verifyAtScale = await timed('verify', async () =>
      measureVerify(bench, scaleEngine, await loadLog(bench, scaleEngine.schema)),
    );
    const existing = await timed('seed', () => seedConnections(bench, scaleEngine.schema, 'idle-0', scaleConnections));
    await settleTables(bench, smallEngine.schema);
    const points = [
      { engine: smallEngine, existingConnections: first, runs: [] as LifecycleRun[] },
      { engine: scaleEngine, existingConnections: existing, runs: [] as LifecycleRun[] },
    ];
    for (let run = 0; run < config.runs; run++) {
      for (const point of points) {
        point.runs.push(
          await timed('scale', () =>
            measureLifecycles(
              bench,
              point.engine,
              config.scaleLifecycles,
              16,
              `at${point.existingConnections}-r${run}`,
            ),
          ),
        );
      }
    }
    for (const { existingConnections, runs } of points) results.scale.push({ existingConnections, runs });
    await smallEngine.close();
    await scaleEngine.close();
    return results;
  } finally {
    await bench.close();
  }
}
