import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'lifeline-bench-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const postgres = process.env.LIFELINE_TEST_DATABASE_URL;

interface ByConcurrency {
  concurrency: number;
  recordsPerLifecycle: number;
  writeCommitsPerLifecycle: number;
  statementsPerLifecycle: number;
  readsPerLifecycle: number;
  emmettAppendsPerSecond: { median: number } | null;
}

/**
 * `npm run bench` at toy sizes, end to end: it must run, write its results, and count what the
 * engine sends to the database. Timings are not asserted (they belong to `npm run bench` on a
 * quiet machine); the counts are exact and guard the append path's batching: a lifecycle is 12
 * records in 5 commits of one statement each, and at most one read.
 */
describe('npm run bench at toy sizes', () => {
  it('runs on every store, writes its results and counts 12 records in 5 single-statement commits per lifecycle', {
    timeout: 300_000,
  }, () => {
    const stores = postgres ? 'pglite,postgres' : 'pglite';
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/run-bench.ts'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...process.env,
        LIFELINE_BENCH_STORES: stores,
        ...(postgres ? { LIFELINE_BENCH_DATABASE_URL: postgres } : {}),
        LIFELINE_BENCH_RUNS: '1',
        LIFELINE_BENCH_CONCURRENCY: '1,4',
        LIFELINE_BENCH_FLOOR_INSERTS: '20',
        LIFELINE_BENCH_LIFECYCLES: '6',
        LIFELINE_BENCH_REPLAY_RECORDS: '40',
        LIFELINE_BENCH_MEMORY_CONNECTIONS: '10',
        LIFELINE_BENCH_SCALE_CONNECTIONS: '30',
        LIFELINE_BENCH_PGLITE_SCALE_CONNECTIONS: '30',
        LIFELINE_BENCH_SCALE_LIFECYCLES: '4',
        LIFELINE_BENCH_RESULTS_DIR: tmp,
      },
    });
    expect(run.status, run.stderr).toBe(0);
    const files = readdirSync(tmp).sort();
    expect(files.map((f) => f.replace(/^\d{4}-\d{2}-\d{2}-/, ''))).toEqual(
      stores
        .split(',')
        .sort()
        .map((s) => `${s}.json`),
    );
    for (const file of files) {
      const { store, summary } = JSON.parse(readFileSync(join(tmp, file), 'utf8'));
      expect(run.stdout).toContain(`### ${store} (server`);
      const rows = summary.byConcurrency as ByConcurrency[];
      expect(rows.map((r) => r.concurrency)).toEqual([1, 4]);
      for (const r of rows) {
        expect(r.recordsPerLifecycle).toBe(12);
        // 5 appends; with several in flight, appends of different connections may share a commit.
        if (r.concurrency === 1) expect(r.writeCommitsPerLifecycle).toBe(5);
        else expect(r.writeCommitsPerLifecycle).toBeLessThanOrEqual(5);
        // At most the DELETE's read, when the engine had finished the setup before it came.
        expect(r.readsPerLifecycle).toBeLessThanOrEqual(1);
        expect(r.statementsPerLifecycle - r.readsPerLifecycle).toBeCloseTo(r.writeCommitsPerLifecycle, 6);
        expect(r.emmettAppendsPerSecond === null).toBe(store === 'pglite');
      }
      expect(summary.verifyAtScale.connections).toBeGreaterThanOrEqual(10);
      expect(summary.scale.map((p: { existingConnections: number }) => p.existingConnections)).toEqual([10, 30]);
      expect(summary.memory).toHaveLength(3);
    }
  });
});
