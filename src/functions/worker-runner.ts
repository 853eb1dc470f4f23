/**
 * How the engine calls a function's `exec`: in a worker thread (`isolation: 'worker'`, the
 * default) or in the engine's own thread (`'inline'`). Only functions the loader bundled from a
 * folder can move to a worker — a worker imports the same bundle and runs the same `exec`;
 * functions given in code (closures) always run inline.
 *
 * In a worker, the run's timeout is hard: when it fires the worker is terminated, so a busy loop
 * or a function that ignores `nango.abortSignal` cannot freeze the engine. A worker has resource
 * limits: a function that exceeds its heap fails as `script_internal_error`
 * (`WorkerOutOfMemoryError`) instead of taking the process down.
 */
import { randomUUID } from 'node:crypto';
import type { ResourceLimits } from 'node:worker_threads';
import { ConfigurationError } from '../errors.js';
import type { OnEventContext } from './context-types.js';
import { bundleOf, type LoadedFunction } from './load-functions.js';
import { workerPool } from './worker-pool.js';

/** Where folder-loaded functions run: a worker thread each run (default) or the engine's thread. */
export type Isolation = 'worker' | 'inline';

/** A function worker's resource limits (Node's `resourceLimits`). */
export interface WorkerLimits {
  /** The worker's main heap, in MB (default 256). */
  maxOldGenerationSizeMb?: number;
  /** The worker's young-generation heap, in MB (default: Node's). */
  maxYoungGenerationSizeMb?: number;
  /** The worker's stack, in MB (default: Node's, 4). */
  stackSizeMb?: number;
}

/** Calls `fn`'s exec with `context`; `signal` aborts when the run times out. */
export type FunctionRunner = (fn: LoadedFunction, context: OnEventContext, signal: AbortSignal) => Promise<void>;

export const DEFAULT_WORKER_HEAP_MB = 256;

function checkLimits(limits: WorkerLimits): ResourceLimits {
  const out: ResourceLimits = { maxOldGenerationSizeMb: DEFAULT_WORKER_HEAP_MB };
  for (const key of ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'stackSizeMb'] as const) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ConfigurationError(`workerLimits.${key} must be a positive number of MB`);
    }
    out[key] = value;
  }
  return out;
}

/**
 * Checks the isolation options and returns the runner the engine calls `exec` through. With
 * `'worker'`, the pools of the functions' bundles are warmed (one worker each) right away.
 *
 * @example
 * const run = createFunctionRunner({ isolation: 'worker', workerLimits: { maxOldGenerationSizeMb: 128 } }, functions);
 * await Promise.race([run(fn, context, controller.signal), timeout]);
 */
export function createFunctionRunner(
  options: { isolation?: Isolation | undefined; workerLimits?: WorkerLimits | undefined },
  functions: LoadedFunction[] = [],
): FunctionRunner {
  const isolation = options.isolation ?? 'worker';
  if (isolation !== 'worker' && isolation !== 'inline') {
    throw new ConfigurationError(`isolation must be 'worker' or 'inline', not ${JSON.stringify(isolation)}`);
  }
  const limits = checkLimits(options.workerLimits ?? {});
  const inline: FunctionRunner = async (fn, context) => fn.definition.exec(context);
  if (isolation === 'inline') return inline;

  const bundles = new Set(functions.map((fn) => bundleOf(fn)?.file).filter((file) => file !== undefined));
  for (const file of bundles)
    void workerPool(file, limits)
      .prewarm()
      .catch(() => undefined);

  return async (fn, context, signal) => {
    const bundle = bundleOf(fn);
    if (!bundle) return inline(fn, context, signal);
    const pool = workerPool(bundle.file, limits);
    const worker = await pool.acquire();
    const info = {
      connectionId: context.connectionId,
      providerConfigKey: context.providerConfigKey,
      provider: context.provider,
      environmentName: context.environmentName,
    };
    try {
      await worker.run(randomUUID(), bundle.index, info, context, signal);
    } finally {
      pool.release(worker);
    }
  };
}
