import type { OnEventContext, ProxyConfiguration } from '../functions/context-types.js';

/** One provider call a dry run made: method, endpoint, and the status or error it got. */
export interface RecordedCall {
  method: string;
  endpoint: string;
  status?: number;
  error?: string;
  durationMs: number;
}

const METHODS = { proxy: undefined, get: 'GET', post: 'POST', put: 'PUT', patch: 'PATCH', delete: 'DELETE' } as const;

/**
 * A context whose provider calls (`proxy`, `get`…`delete`, `uncontrolledFetch`) are recorded into
 * `calls`, for `dryrun`. The calls themselves are made as usual.
 *
 * @example
 * const calls: RecordedCall[] = [];
 * await fn.exec(recordCalls(context, calls));
 */
export function recordCalls(context: OnEventContext, calls: RecordedCall[]): OnEventContext {
  const recorded = { ...context } as OnEventContext;
  const replace = recorded as unknown as Record<string, unknown>;
  const record = async <T>(method: string, endpoint: string, call: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      const response = await call();
      const status = (response as { status?: number } | undefined)?.status;
      calls.push({
        method,
        endpoint,
        ...(typeof status === 'number' ? { status } : {}),
        durationMs: Date.now() - started,
      });
      return response;
    } catch (error) {
      const status = (error as { status?: number }).status;
      calls.push({
        method,
        endpoint,
        ...(typeof status === 'number' ? { status } : {}),
        error: (error as Error).message,
        durationMs: Date.now() - started,
      });
      throw error;
    }
  };
  for (const [name, method] of Object.entries(METHODS)) {
    const original = (context as unknown as Record<string, (config: ProxyConfiguration) => Promise<unknown>>)[name];
    if (typeof original !== 'function') continue;
    replace[name] = (config: ProxyConfiguration) =>
      record(method ?? config.method ?? 'GET', config.endpoint, () => original.call(context, config));
  }
  if (typeof context.uncontrolledFetch === 'function') {
    recorded.uncontrolledFetch = (options) =>
      record(options.method ?? 'GET', String(options.url), () => context.uncontrolledFetch(options));
  }
  return recorded;
}
