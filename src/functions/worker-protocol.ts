/**
 * The messages between the engine's thread and a function's worker thread. One worker runs one
 * function run at a time; every message names its run, so that a late message from a run that
 * has ended is recognised and refused.
 *
 * Engine → worker: `run` (start `exec` of the bundle's function `index`), `reply` (the answer to a
 * context call). Worker → engine: `call` (a context method), `log` (fire-and-forget), `done` /
 * `failed` (exec resolved / rejected).
 */
import type { LogLevel } from './context-types.js';
import type { SerializedError } from './worker-codec.js';

/** What a worker is started with (`workerData`). */
export interface WorkerBoot {
  /** The bundle the loader wrote: its default export is one module per function file. */
  bundle: string;
}

/** The context's plain fields, sent with each run. */
export interface RunInfo {
  connectionId: string;
  providerConfigKey: string;
  provider: string;
  environmentName: string;
}

export type ToWorker =
  | { type: 'run'; runId: string; index: number; info: RunInfo }
  | { type: 'reply'; runId: string; callId: number; ok: true; value: unknown }
  | { type: 'reply'; runId: string; callId: number; ok: false; error: SerializedError };

export type FromWorker =
  | { type: 'call'; runId: string; callId: number; method: string; args: unknown[] }
  | { type: 'log'; runId: string; level: LogLevel; message: string }
  | { type: 'done'; runId: string }
  | { type: 'failed'; runId: string; error: SerializedError };

/** Context methods a worker may call, besides the iterator steps `$next` and `$return`. */
export const CALLABLE_METHODS: ReadonlySet<string> = new Set([
  'proxy',
  'get',
  'post',
  'put',
  'patch',
  'delete',
  'paginate',
  'getConnection',
  'getToken',
  'getIntegration',
  'getWebhookURL',
  'getMetadata',
  'setMetadata',
  'updateMetadata',
  'getEnvironmentVariables',
  'uncontrolledFetch',
  'tryAcquireLock',
  'releaseLock',
  'releaseAllLocks',
]);
