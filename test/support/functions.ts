import type { MetadataSchema } from '../../src/functions/create-on-event.js';
import { createOnEvent, type LoadedFunction, type OnEvent, type OnEventContext } from '../../src/index.js';

/** An in-code event function, as a folder loader would produce it. */
export function fn(
  integration: string,
  name: string,
  event: OnEvent,
  exec: (nango: OnEventContext) => Promise<void> | void,
  extra: {
    metadata?: MetadataSchema;
    timeoutMs?: number;
    retry?: { maxAttempts?: number; baseMs?: number; capMs?: number };
  } = {},
): LoadedFunction {
  return { integration, name, definition: createOnEvent({ event, exec, ...extra }) };
}

/** A promise with its resolver, to hold a function run open until a test lets it go. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
