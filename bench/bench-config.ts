/**
 * The benchmark's sizes and targets, from `LIFELINE_BENCH_*` environment variables. The defaults
 * finish `npm run bench` in about ten minutes on a 2-core machine; set the variables for the
 * issue's full sizes (e.g. `LIFELINE_BENCH_MEMORY_CONNECTIONS=100000`).
 *
 * @example
 * const config = readBenchConfig(process.env);
 * config.runs; // 3
 */
export interface BenchConfig {
  /** PostgreSQL server to measure (a dedicated schema is created per run and dropped after). */
  databaseUrl: string;
  /** Which stores to measure, in order. */
  stores: Array<'postgres' | 'pglite'>;
  /** Repetitions of every measurement; figures are the median with min–max. */
  runs: number;
  /** Single-row INSERT + commit statements per floor run. */
  floorInserts: number;
  /** Full lifecycles per run, at each concurrency. */
  lifecycles: number;
  /** Connections in flight for the lifecycle, floor and peer measurements (1 = sequential). */
  concurrencies: number[];
  /** Records in the long history that `replay` folds. */
  replayRecords: number;
  /** Connections driven through CONNECT → active by the engine before memory is read. */
  memoryConnections: number;
  /** Existing connections (seeded by SQL) for the "time per lifecycle at scale" figure, on PostgreSQL. */
  scaleConnections: number;
  /** The same on PGlite (smaller by default: its database lives in this process's memory). */
  pgliteScaleConnections: number;
  /** Lifecycles timed at each scale point. */
  scaleLifecycles: number;
  /** Where the raw JSON results go. */
  resultsDir: string;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not ${raw}`);
  return value;
}

export function readBenchConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const stores = (env.LIFELINE_BENCH_STORES ?? 'postgres,pglite').split(',').map((s) => s.trim());
  for (const s of stores) {
    if (s !== 'postgres' && s !== 'pglite') throw new Error(`LIFELINE_BENCH_STORES: unknown store ${s}`);
  }
  const concurrencies = (env.LIFELINE_BENCH_CONCURRENCY ?? '1,16,64').split(',').map((s) => Number(s.trim()));
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new Error('LIFELINE_BENCH_CONCURRENCY must list positive integers');
  }
  return {
    databaseUrl: env.LIFELINE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    stores: stores as BenchConfig['stores'],
    runs: Math.max(1, int(env, 'LIFELINE_BENCH_RUNS', 3)),
    floorInserts: int(env, 'LIFELINE_BENCH_FLOOR_INSERTS', 3000),
    lifecycles: int(env, 'LIFELINE_BENCH_LIFECYCLES', 200),
    concurrencies,
    replayRecords: int(env, 'LIFELINE_BENCH_REPLAY_RECORDS', 5000),
    memoryConnections: int(env, 'LIFELINE_BENCH_MEMORY_CONNECTIONS', 3000),
    scaleConnections: int(env, 'LIFELINE_BENCH_SCALE_CONNECTIONS', 100_000),
    pgliteScaleConnections: int(env, 'LIFELINE_BENCH_PGLITE_SCALE_CONNECTIONS', 25_000),
    scaleLifecycles: int(env, 'LIFELINE_BENCH_SCALE_LIFECYCLES', 200),
    resultsDir: env.LIFELINE_BENCH_RESULTS_DIR ?? 'bench/results',
  };
}
