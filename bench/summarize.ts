import { ratio, type Spread, spread } from './stats.js';
import type { StoreResults } from './store-bench.js';

/** The figures the report quotes: medians with min–max, and ratios against same-run baselines. */
export interface StoreSummary {
  store: string;
  serverVersion: string;
  byConcurrency: Array<{
    concurrency: number;
    floorCommitsPerSecond: Spread;
    lifecyclesPerSecond: Spread;
    recordsPerSecond: Spread;
    writeCommitsPerSecond: Spread;
    /** Per-connection appends per second: lifecycles/s × appends per lifecycle (see below). */
    appendsPerSecond: Spread;
    recordsPerLifecycle: number;
    writeCommitsPerLifecycle: number;
    autocommitWritesPerLifecycle: number;
    readsPerLifecycle: number;
    statementsPerLifecycle: number;
    xidsPerLifecycle: number;
    connectP50Ms: Spread;
    connectP99Ms: Spread;
    deleteP50Ms: Spread;
    deleteP99Ms: Spread;
    /** Target ≥ 0.8: durable state changes (records) per second over raw commits per second. */
    recordsOverFloor: Spread;
    writeCommitsOverFloor: Spread;
    emmettAppendsPerSecond: Spread | null;
    emmettStreamsPerSecond: Spread | null;
    /** Target ≥ 1: lifeline's appends per second over Emmett's (the same appends of the same events). */
    appendsOverEmmett: Spread | null;
  }>;
  replayFromDatabase: Spread | null;
  replayInMemory: Spread | null;
  replayRecords: number;
  verifyConnections: number;
  verifyRecords: number;
  verifyFromDatabase: Spread | null;
  verifyFromDatabaseConnections: Spread | null;
  verifyInMemory: Spread | null;
  foldOnly: Spread | null;
  /** `verify` once over every connection of the memory figures (the 100,000 at full size). */
  verifyAtScale: StoreResults['verifyAtScale'];
  memory: StoreResults['memory'];
  /** Heap growth per idle connection between the first and the last memory sample, in bytes. */
  heapBytesPerIdleConnection: number | null;
  scale: Array<{ existingConnections: number; msPerLifecycle: Spread; lifecyclesPerSecond: Spread }>;
  /** Time per lifecycle at the largest scale point over the smallest (target ≈ 1). */
  scaleRatio: Spread | null;
}

const maybe = (values: number[]) => (values.length > 0 ? spread(values) : null);

export function summarize(r: StoreResults): StoreSummary {
  // A lifecycle's appends (one per decision, the unit Emmett's appends mirror) are its commits with
  // one in flight, where no two connections' appends share a statement.
  const sequential = r.lifeline[Math.min(...Object.keys(r.lifeline).map(Number))] ?? [];
  const appendsPerLifecycle = Math.round(
    sequential.reduce((s, l) => s + l.writeCommitsPerLifecycle, 0) / Math.max(1, sequential.length),
  );
  const byConcurrency = Object.keys(r.lifeline)
    .map(Number)
    .sort((a, b) => a - b)
    .map((c) => {
      const life = r.lifeline[c] ?? [];
      const floor = spread((r.floor[c] ?? []).map((f) => f.commitsPerSecond));
      const peer = r.emmett[c] ?? [];
      const records = spread(life.map((l) => l.recordsPerSecond));
      const commits = spread(life.map((l) => l.writeCommitsPerSecond));
      const appends = spread(life.map((l) => l.lifecyclesPerSecond * appendsPerLifecycle));
      const emmettAppends = maybe(peer.map((p) => p.appendsPerSecond));
      const mean = (f: (l: (typeof life)[number]) => number) => life.reduce((s, l) => s + f(l), 0) / life.length;
      return {
        concurrency: c,
        floorCommitsPerSecond: floor,
        lifecyclesPerSecond: spread(life.map((l) => l.lifecyclesPerSecond)),
        recordsPerSecond: records,
        writeCommitsPerSecond: commits,
        appendsPerSecond: appends,
        recordsPerLifecycle: mean((l) => l.recordsPerLifecycle),
        writeCommitsPerLifecycle: mean((l) => l.writeCommitsPerLifecycle),
        autocommitWritesPerLifecycle: mean((l) => l.autocommitWritesPerLifecycle),
        readsPerLifecycle: mean((l) => l.readsPerLifecycle),
        statementsPerLifecycle: mean((l) => l.statementsPerLifecycle),
        xidsPerLifecycle: mean((l) => l.xidsPerLifecycle),
        connectP50Ms: spread(life.map((l) => l.connectMs.p50)),
        connectP99Ms: spread(life.map((l) => l.connectMs.p99)),
        deleteP50Ms: spread(life.map((l) => l.deleteMs.p50)),
        deleteP99Ms: spread(life.map((l) => l.deleteMs.p99)),
        recordsOverFloor: ratio(records, floor),
        writeCommitsOverFloor: ratio(commits, floor),
        emmettAppendsPerSecond: emmettAppends,
        emmettStreamsPerSecond: maybe(peer.map((p) => p.streamsPerSecond)),
        appendsOverEmmett: emmettAppends ? ratio(appends, emmettAppends) : null,
      };
    });
  const first = r.memory[1];
  const last = r.memory.at(-1);
  const heapBytesPerIdleConnection =
    first && last && last.idleConnections > first.idleConnections
      ? ((last.heapUsedMb - first.heapUsedMb) * 2 ** 20) / (last.idleConnections - first.idleConnections)
      : null;
  const scale = r.scale.map((s) => ({
    existingConnections: s.existingConnections,
    msPerLifecycle: spread(s.runs.map((l) => 1000 / l.lifecyclesPerSecond)),
    lifecyclesPerSecond: spread(s.runs.map((l) => l.lifecyclesPerSecond)),
  }));
  const small = scale[0];
  const large = scale.length > 1 ? scale.at(-1) : undefined;
  return {
    store: r.store,
    serverVersion: r.serverVersion,
    byConcurrency,
    replayFromDatabase: maybe(r.replay.map((x) => x.fromDatabaseRecordsPerSecond)),
    replayInMemory: maybe(r.replay.map((x) => x.inMemoryRecordsPerSecond)),
    replayRecords: r.replay[0]?.records ?? 0,
    verifyConnections: r.verify[0]?.connections ?? 0,
    verifyRecords: r.verify[0]?.records ?? 0,
    verifyFromDatabase: maybe(r.verify.map((x) => x.fromDatabaseRecordsPerSecond)),
    verifyFromDatabaseConnections: maybe(r.verify.map((x) => x.fromDatabaseConnectionsPerSecond)),
    verifyInMemory: maybe(r.verify.map((x) => x.inMemoryRecordsPerSecond)),
    foldOnly: maybe(r.verify.map((x) => x.foldOnlyRecordsPerSecond)),
    verifyAtScale: r.verifyAtScale ?? null,
    memory: r.memory,
    heapBytesPerIdleConnection,
    scale,
    scaleRatio: small && large ? ratio(large.msPerLifecycle, small.msPerLifecycle) : null,
  };
}
