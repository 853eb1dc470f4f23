/**
 * The script a function worker thread runs. It imports the functions bundle the loader wrote
 * (once per worker), then runs one `exec` at a time as the engine's thread asks, with the
 * message-passing `nango` of worker-context.ts. The engine's thread owns the timeout: it
 * terminates this thread when a run takes too long, whatever the function is doing.
 */

import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import type { OnEventDefinition } from './create-on-event.js';
import { reviveError, type SerializedError, serializeError } from './worker-codec.js';
import { createWorkerContext } from './worker-context.js';
import type { FromWorker, ToWorker, WorkerBoot } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('worker-entry runs only as a worker thread');
const boot = workerData as WorkerBoot;

const modules: Promise<Array<{ default?: OnEventDefinition }>> = import(pathToFileURL(boot.bundle).href).then(
  (m: { default: Array<{ default?: OnEventDefinition }> }) => m.default,
);
modules.catch(() => undefined); // reported to the run that needs them

const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
let nextCallId = 1;
let current: string | null = null;

function post(message: FromWorker) {
  port?.postMessage(message);
}

// A promise the function left rejected, unobserved, is noted in its run's log rather than
// ending the worker (which would fail the run for something it did not wait for).
process.on('unhandledRejection', (reason) => {
  if (current) post({ type: 'log', runId: current, level: 'warn', message: `unhandled rejection: ${format(reason)}` });
});

async function run(runId: string, index: number, info: Extract<ToWorker, { type: 'run' }>['info']) {
  current = runId;
  try {
    const definition = (await modules)[index]?.default;
    if (typeof definition?.exec !== 'function') throw new Error(`the bundle has no function at ${index}`);
    const nango = createWorkerContext(info, {
      call(method, args) {
        const callId = nextCallId++;
        return new Promise((resolve, reject) => {
          pending.set(callId, { resolve, reject });
          try {
            post({ type: 'call', runId, callId, method, args });
          } catch (error) {
            pending.delete(callId);
            reject(
              reviveError({
                kind: 'lifeline',
                name: 'LifelineError',
                code: 'invalid_argument',
                message: `nango.${method}: its arguments cannot be passed to the engine (${(error as Error).message})`,
              }),
            );
          }
        });
      },
      log(level, message) {
        post({ type: 'log', runId, level, message });
      },
    });
    await definition.exec(nango);
    post({ type: 'done', runId });
  } catch (error) {
    post({ type: 'failed', runId, error: serializeError(error) });
  } finally {
    if (current === runId) current = null;
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'run') {
    void run(message.runId, message.index, message.info);
    return;
  }
  const waiting = pending.get(message.callId);
  if (!waiting) return;
  pending.delete(message.callId);
  if (message.ok) waiting.resolve(message.value);
  else waiting.reject(reviveError(message.error as SerializedError));
});
