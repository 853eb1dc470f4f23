/**
 * Warm function workers, per bundle and resource limits, shared by every engine in the process.
 * A run takes an idle worker (or starts one), and gives it back when `exec` has settled; a worker
 * that was terminated (timeout) or died (out of memory, crash) is never given back. Idle workers
 * do not keep the process alive and end after {@link IDLE_MS}.
 *
 * A function file's top-level code runs once per worker (when the worker imports the bundle),
 * and module state is shared by the runs a worker makes — as it is when functions run inline.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { workerScript } from './worker-script.js';
import { FunctionWorker } from './worker-thread.js';

/** Idle workers kept per pool. */
const MAX_IDLE = 2;
/** How long an idle worker is kept. */
const IDLE_MS = 30_000;

export class WorkerPool {
  private readonly idle: Array<{ worker: FunctionWorker; timer: NodeJS.Timeout }> = [];

  constructor(
    private readonly bundle: string,
    private readonly limits: ResourceLimits,
  ) {}

  /** An idle worker, or a new one. */
  async acquire(): Promise<FunctionWorker> {
    for (;;) {
      const entry = this.idle.pop();
      if (!entry) break;
      clearTimeout(entry.timer);
      if (entry.worker.alive) return entry.worker;
    }
    return this.spawn();
  }

  /** Gives back a worker whose run has settled (a stopped one is dropped). */
  release(worker: FunctionWorker): void {
    if (!worker.alive) return;
    if (this.idle.length >= MAX_IDLE) {
      void worker.terminate();
      return;
    }
    worker.unref();
    const timer = setTimeout(() => {
      this.remove(worker);
      void worker.terminate();
    }, IDLE_MS);
    timer.unref();
    this.idle.push({ worker, timer });
  }

  /** Starts one idle worker ahead of the first run, if none is idle. */
  async prewarm(): Promise<void> {
    if (this.idle.length === 0) this.release(await this.spawn());
  }

  /** Ends the idle workers. */
  async close(): Promise<void> {
    const idle = this.idle.splice(0);
    for (const { timer } of idle) clearTimeout(timer);
    await Promise.all(idle.map(({ worker }) => worker.terminate()));
  }

  private async spawn(): Promise<FunctionWorker> {
    const script = await workerScript();
    return new FunctionWorker(script, { bundle: this.bundle }, this.limits, (gone) => this.remove(gone));
  }

  private remove(worker: FunctionWorker) {
    const at = this.idle.findIndex((entry) => entry.worker === worker);
    if (at >= 0) {
      const [entry] = this.idle.splice(at, 1);
      if (entry) clearTimeout(entry.timer);
    }
  }
}

const pools = new Map<string, WorkerPool>();

/** The process's pool for `bundle` with `limits`. */
export function workerPool(bundle: string, limits: ResourceLimits): WorkerPool {
  const key = `${bundle}\0${JSON.stringify(limits)}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new WorkerPool(bundle, limits);
    pools.set(key, pool);
  }
  return pool;
}

/** Ends every idle function worker in the process (they also end on their own when idle). */
export async function closeWorkerPools(): Promise<void> {
  await Promise.all([...pools.values()].map((pool) => pool.close()));
}
