/**
 * One function worker thread: a `worker_threads` Worker, with resource limits, that has imported
 * a functions bundle and runs one `exec` at a time. The engine's thread can always stop it
 * (`terminate()` ends even a busy loop), which is what makes timeouts hard.
 */
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { LifelineError } from '../errors.js';
import type { OnEventContext } from './context-types.js';
import { reviveError, serializeError } from './worker-codec.js';
import { type RunServer, serveRun } from './worker-host.js';
import type { FromWorker, RunInfo, ToWorker, WorkerBoot } from './worker-protocol.js';

interface ActiveRun {
  runId: string;
  server: RunServer;
  finish(error?: unknown): void;
}

/** The error a run fails with when its worker dies under it (out of memory, uncaught error, exit). */
function crashError(cause: unknown, limits: ResourceLimits): Error {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    const error = new Error(
      `the function ran out of memory (limit ${limits.maxOldGenerationSizeMb ?? 'default'} MB) and was stopped`,
    );
    error.name = 'WorkerOutOfMemoryError';
    return error;
  }
  if (cause instanceof Error) {
    // An error thrown where nothing awaited it (a timer callback, an event handler).
    const error = new Error(cause.message);
    error.name = cause.name;
    if (cause.stack) error.stack = cause.stack;
    return error;
  }
  const error = new Error(`the function's worker stopped (${String(cause)})`);
  error.name = 'WorkerExitError';
  return error;
}

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * The process's Node flags without module loaders and preloads (tsx, vitest, APM agents…): the
 * worker runs a plain ES module and would pay ~150 ms per start-up to load them again.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const flag = arg.split('=')[0] as string;
    if (!LOADER_FLAGS.has(flag)) out.push(arg);
    else if (!arg.includes('=')) i++; // its value is the next argument
  }
  return out;
}

export class FunctionWorker {
  private readonly worker: Worker;
  private active: ActiveRun | null = null;
  private exited = false;
  /** Set once the thread is terminated or has failed: it ends soon and takes no more runs. */
  private stopping = false;

  /**
   * @param script the worker entry script (worker-script.ts)
   * @param onExit called once when the thread has ended, for whatever reason
   */
  constructor(
    script: string,
    boot: WorkerBoot,
    private readonly limits: ResourceLimits,
    onExit: (worker: FunctionWorker) => void,
  ) {
    this.worker = new Worker(script, { workerData: boot, resourceLimits: limits, execArgv: workerExecArgv() });
    this.worker.on('message', (message: FromWorker) => this.receive(message));
    this.worker.on('error', (error) => {
      this.stopping = true; // the thread is dying: it will not take another run
      this.active?.finish(crashError(error, limits));
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.active?.finish(crashError(`exit code ${code}`, limits));
      onExit(this);
    });
  }

  /** True while the thread can take a run. */
  get alive(): boolean {
    return !this.exited && !this.stopping;
  }

  /**
   * Runs the bundle's function `index` with `context` answering its calls. Resolves when `exec`
   * resolves; rejects with what it threw (rebuilt here), with a crash error if the thread dies,
   * or with `signal.reason` when `signal` aborts — the thread is then terminated.
   */
  run(runId: string, index: number, info: RunInfo, context: OnEventContext, signal: AbortSignal): Promise<void> {
    if (this.active) return Promise.reject(new Error('a function worker runs one function at a time'));
    if (!this.alive) return Promise.reject(crashError('the worker had already stopped', this.limits));
    return new Promise<void>((resolve, reject) => {
      const server = serveRun(runId, context, (message) => this.post(message));
      const onAbort = () => {
        void this.terminate();
        finish(signal.reason ?? new Error('aborted'));
      };
      const finish = (error?: unknown) => {
        if (this.active?.runId !== runId) return;
        this.active = null;
        signal.removeEventListener('abort', onAbort);
        server.close();
        this.worker.unref();
        if (error === undefined) resolve();
        else reject(error);
      };
      this.active = { runId, server, finish };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.worker.ref();
      this.post({ type: 'run', runId, index, info });
    });
  }

  /** Lets an idle thread not keep the process alive. */
  unref(): void {
    this.worker.unref();
  }

  terminate(): Promise<number> {
    this.stopping = true;
    return this.worker.terminate();
  }

  private post(message: ToWorker) {
    if (!this.exited) this.worker.postMessage(message);
  }

  private receive(message: FromWorker) {
    const active = this.active;
    if (!active || message.runId !== active.runId) {
      // A call left behind by a run that has ended.
      if (message.type === 'call') {
        const error = new LifelineError(
          'command_refused',
          `nango.${message.method} was called after its run had ended`,
        );
        this.post({
          type: 'reply',
          runId: message.runId,
          callId: message.callId,
          ok: false,
          error: serializeError(error),
        });
      }
      return;
    }
    switch (message.type) {
      case 'call':
      case 'log':
        active.server.handle(message);
        return;
      case 'done':
        active.finish();
        return;
      case 'failed':
        active.finish(reviveError(message.error));
        return;
    }
  }
}
