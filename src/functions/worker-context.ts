/**
 * The `nango` object a function receives inside a worker thread. It looks like the real context
 * (see function-context.ts) but holds nothing: every method posts a call to the engine's thread,
 * which runs the real context and posts back the result or the error.
 *
 * - `nango.ActionError` is a real class here: `throw new nango.ActionError(payload)` and
 *   `instanceof` work, and an `ActionError` coming back from a call is one again.
 * - `paginate` is an async generator that asks the engine's thread for one page at a time; a
 *   `paginate.on_page` callback runs here, for each page, just before that page is yielded.
 * - `responseType: 'stream'` gives a `Readable`, and `uncontrolledFetch` a `Response`, whose
 *   bytes are pulled from the engine's thread chunk by chunk.
 * - `log` is fire-and-forget: its arguments are formatted here (`util.format`) and sent as one line.
 * - `abortSignal` is never aborted: a run that times out is stopped by terminating its worker.
 */
import { Readable } from 'node:stream';
import { format } from 'node:util';
import { LifelineError } from '../errors.js';
import { ActionError } from './action-error.js';
import type { LogLevel, OnEventContext, PaginateOption, ProxyConfiguration } from './context-types.js';
import { splitLogArguments } from './log-arguments.js';
import { notAvailableMethods } from './not-available.js';
import { decodeValue, encodeValue, TAG, type Tagged } from './worker-codec.js';
import type { RunInfo } from './worker-protocol.js';

/** How the stub reaches the engine's thread. */
export interface WorkerChannel {
  /** Calls a context method there; resolves to its (encoded) result or rejects with its error. */
  call(method: string, args: unknown[]): Promise<unknown>;
  log(level: LogLevel, message: string): void;
}

interface Step {
  done: boolean;
  value?: unknown;
  pages?: unknown[];
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** Builds the worker-side `nango` for one run. */
export function createWorkerContext(info: RunInfo, channel: WorkerChannel): OnEventContext {
  const controller = new AbortController();
  const send = (method: string, args: unknown[]) => channel.call(method, encodeValue(args) as unknown[]);

  async function* pull(id: number): AsyncGenerator<unknown, void, void> {
    let finished = false;
    try {
      for (;;) {
        const step = (await send('$next', [id])) as Step;
        if (step.done) {
          finished = true;
          return;
        }
        yield decode(step.value);
      }
    } catch (error) {
      finished = true;
      throw error;
    } finally {
      if (!finished) await send('$return', [id]).catch(() => undefined);
    }
  }

  const decode = (value: unknown): unknown =>
    decodeValue(value, (tagged: Tagged) => {
      switch (tagged[TAG]) {
        case 'stream':
          return Readable.from(
            (async function* () {
              for await (const chunk of pull(tagged.id)) yield toBuffer(chunk);
            })(),
          );
        case 'response':
          return toResponse(tagged, pull);
        default:
          return undefined;
      }
    });

  const call = async (method: string, args: unknown[]) => decode(await send(method, args));
  const request = (method: string) => (config: ProxyConfiguration) => call(method, [config]) as Promise<never>;

  const context = {
    connectionId: info.connectionId,
    providerConfigKey: info.providerConfigKey,
    provider: info.provider,
    environmentName: info.environmentName,
    ActionError,
    abortSignal: controller.signal,
    proxy: request('proxy'),
    get: request('get'),
    post: request('post'),
    put: request('put'),
    patch: request('patch'),
    delete: request('delete'),
    paginate(config: ProxyConfiguration) {
      checkOwnConnection(config, info);
      const onPage = (config.paginate as PaginateOption | undefined)?.on_page;
      return (async function* () {
        const handle = (await send('paginate', [config, typeof onPage === 'function'])) as {
          id: number;
        };
        let finished = false;
        try {
          for (;;) {
            const step = (await send('$next', [handle.id])) as Step;
            for (const state of step.pages ?? []) await onPage?.(decode(state) as never);
            if (step.done) {
              finished = true;
              return undefined;
            }
            yield decode(step.value) as never[];
          }
        } catch (error) {
          finished = true;
          throw error;
        } finally {
          if (!finished) await send('$return', [handle.id]).catch(() => undefined);
        }
      })();
    },
    getConnection: () => call('getConnection', []),
    getToken: () => call('getToken', []),
    getIntegration: (config?: unknown) => call('getIntegration', config === undefined ? [] : [config]),
    getWebhookURL: () => call('getWebhookURL', []),
    getMetadata: () => call('getMetadata', []),
    setMetadata: (metadata: unknown) => call('setMetadata', [metadata]),
    updateMetadata: (metadata: unknown) => call('updateMetadata', [metadata]),
    log(...args: unknown[]) {
      const { level, args: rest } = splitLogArguments(args);
      channel.log(level, format(...rest));
    },
    getEnvironmentVariables: () => call('getEnvironmentVariables', []),
    uncontrolledFetch: (options: unknown) => call('uncontrolledFetch', [options]),
    tryAcquireLock: (options: unknown) => call('tryAcquireLock', [options]),
    releaseLock: (options: unknown) => call('releaseLock', [options]),
    releaseAllLocks: async () => {
      await call('releaseAllLocks', []);
    },
    ...notAvailableMethods(),
  };
  return context as unknown as OnEventContext;
}

/** The synchronous checks `paginate` makes before it returns its generator (as the real one does). */
function checkOwnConnection(config: ProxyConfiguration, info: RunInfo) {
  if (typeof config !== 'object' || config === null || typeof config.endpoint !== 'string') {
    throw new LifelineError('invalid_argument', 'proxy expects { endpoint, … }');
  }
  if (config.connectionId !== undefined && config.connectionId !== info.connectionId) {
    throw new LifelineError(
      'not_available',
      'calling the provider for another connection is not available in event functions',
    );
  }
  if (config.providerConfigKey !== undefined && config.providerConfigKey !== info.providerConfigKey) {
    throw new LifelineError(
      'not_available',
      'calling the provider for another integration is not available in event functions',
    );
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}

function toResponse(
  tagged: Extract<Tagged, { [TAG]: 'response' }>,
  pull: (id: number) => AsyncGenerator<unknown, void, void>,
): Response {
  let body: ReadableStream<Uint8Array> | null = null;
  if (tagged.body !== null && !NULL_BODY_STATUSES.has(tagged.status)) {
    const chunks = pull(tagged.body);
    body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        const next = await chunks.next();
        if (next.done) stream.close();
        else stream.enqueue(toBuffer(next.value));
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
  }
  const response = new Response(body, {
    status: tagged.status,
    statusText: tagged.statusText,
    headers: tagged.headers,
  });
  Object.defineProperty(response, 'url', { value: tagged.url });
  return response;
}
