/**
 * The engine's side of a worker run: answers the worker's context calls with the real context
 * (the one the engine built, with its redaction, metadata recording and outbound policy).
 * Results that cannot be copied — `paginate`'s generator, a `stream` response body, an
 * `uncontrolledFetch` response body — stay here behind a numbered handle that the worker pulls
 * with `$next` (and closes with `$return`).
 */
import { Readable } from 'node:stream';
import { LifelineError } from '../errors.js';
import type { OnEventContext, ProxyConfiguration } from './context-types.js';
import { decodeValue, encodeValue, serializeError, TAG, type Tagged } from './worker-codec.js';
import { CALLABLE_METHODS, type FromWorker, type ToWorker } from './worker-protocol.js';

interface Handle {
  iterator: AsyncIterator<unknown>;
  /** `paginate` with `on_page`: the page states reported since the worker last asked. */
  pages: unknown[];
}

/** Serves one run's calls; `close()` ends it (later calls are refused, open handles closed). */
export interface RunServer {
  handle(message: Extract<FromWorker, { type: 'call' | 'log' }>): void;
  close(): void;
}

/**
 * Serves the calls of run `runId` against `context`, posting replies with `reply`.
 *
 * @example
 * const server = serveRun(runId, context, (m) => worker.postMessage(m));
 * worker.on('message', (m) => (m.type === 'call' || m.type === 'log') && server.handle(m));
 */
export function serveRun(runId: string, context: OnEventContext, reply: (message: ToWorker) => void): RunServer {
  const handles = new Map<number, Handle>();
  let nextHandle = 1;
  let open = true;

  const register = (iterator: AsyncIterator<unknown>, pages: unknown[] = []): number => {
    const id = nextHandle++;
    handles.set(id, { iterator, pages });
    return id;
  };
  const special = (value: object): Tagged | undefined => {
    if (value instanceof Readable) return { [TAG]: 'stream', id: register(value[Symbol.asyncIterator]()) };
    return undefined;
  };
  const methods = context as unknown as Record<string, (...args: unknown[]) => unknown>;

  const dispatch = async (method: string, args: unknown[]): Promise<unknown> => {
    switch (method) {
      case '$next': {
        const handle = handles.get(args[0] as number);
        if (!handle) return { done: true };
        const step = await handle.iterator.next();
        const pages = handle.pages.splice(0);
        if (step.done) handles.delete(args[0] as number);
        return { done: Boolean(step.done), value: step.done ? undefined : step.value, pages };
      }
      case '$return': {
        const handle = handles.get(args[0] as number);
        handles.delete(args[0] as number);
        await handle?.iterator.return?.();
        return undefined;
      }
      case 'paginate': {
        const config = { ...(args[0] as ProxyConfiguration) };
        const pages: unknown[] = [];
        if (args[1] === true) {
          config.paginate = { ...config.paginate, on_page: (state) => void pages.push(state) };
        }
        return { id: register(context.paginate(config), pages) };
      }
      case 'uncontrolledFetch': {
        const response = await context.uncontrolledFetch(args[0] as never);
        const tagged: Tagged = {
          [TAG]: 'response',
          status: response.status,
          statusText: response.statusText,
          url: response.url,
          headers: [...response.headers.entries()],
          body: response.body ? register(response.body[Symbol.asyncIterator]()) : null,
        };
        return tagged;
      }
      default: {
        if (!CALLABLE_METHODS.has(method) || typeof methods[method] !== 'function') {
          throw new LifelineError('not_available', `nango.${method} is not available in a worker`);
        }
        return methods[method](...args);
      }
    }
  };

  return {
    handle(message) {
      if (message.type === 'log') {
        if (open) context.log('%s', message.message, { level: message.level });
        return;
      }
      const { callId, method } = message;
      if (!open) {
        const error = new LifelineError('command_refused', `nango.${method} was called after its run had ended`);
        reply({ type: 'reply', runId, callId, ok: false, error: serializeError(error) });
        return;
      }
      Promise.resolve()
        .then(() => dispatch(method, decodeValue(message.args) as unknown[]))
        .then(
          (value) => {
            if (open) reply({ type: 'reply', runId, callId, ok: true, value: encodeValue(value, special) });
          },
          (error: unknown) => {
            if (open) reply({ type: 'reply', runId, callId, ok: false, error: serializeError(error) });
          },
        )
        .catch((error: unknown) => {
          // The value could not be posted (it cannot be copied): the call fails, the run goes on.
          if (open) reply({ type: 'reply', runId, callId, ok: false, error: serializeError(error) });
        });
    },
    close() {
      open = false;
      for (const handle of handles.values()) void handle.iterator.return?.()?.catch?.(() => undefined);
      handles.clear();
    },
  };
}
