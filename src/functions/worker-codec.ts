/**
 * How values and errors cross the boundary between the engine's thread and a function's worker
 * thread. `postMessage` copies with the structured clone algorithm, which turns a `Buffer` into a
 * plain `Uint8Array`, refuses `URLSearchParams` and `URL`, and loses every error's class. This
 * module tags what must survive and rebuilds it on the other side, with that side's classes:
 *
 * - a `Buffer` stays a `Buffer`; `URLSearchParams` and `URL` survive; functions are dropped (as
 *   JSON would drop them);
 * - an `ActionError` is rebuilt as an `ActionError` (its payload made JSON-safe), a
 *   `ProviderHttpError` keeps `status`, `headers`, `body` and `response`, any other
 *   `LifelineError` keeps its `code` and `details`, and other errors keep `name` and `message`.
 *
 * Both sides bundle this file, so each rebuilds errors with its own copies of the classes; the
 * brands checked by `isActionError` and `isLifelineError` make them recognisable everywhere.
 *
 * @example
 * port.postMessage({ error: serializeError(thrown) });
 * // on the other side:
 * throw reviveError(message.error); // an ActionError is an ActionError again
 */
import { toJsonSafe } from '../engine/json-safe.js';
import { isLifelineError, LifelineError, type LifelineErrorCode, ProviderHttpError } from '../errors.js';
import { ActionError, isActionError } from './action-error.js';

/** The key that marks a tagged value. */
export const TAG = '$lifeline';

/** A value that the structured clone could not carry as it is. */
export type Tagged =
  | { [TAG]: 'buffer'; bytes: Uint8Array }
  | { [TAG]: 'params'; text: string }
  | { [TAG]: 'url'; href: string }
  | { [TAG]: 'stream'; id: number }
  | { [TAG]: 'iterator'; id: number }
  | {
      [TAG]: 'response';
      status: number;
      statusText: string;
      url: string;
      headers: Array<[string, string]>;
      body: number | null;
    };

/** An error as it crosses the boundary. */
export interface SerializedError {
  kind: 'action' | 'lifeline' | 'error' | 'value';
  name: string;
  message: string;
  stack?: string;
  /** `action`: the payload, JSON-safe. */
  payload?: Record<string, unknown>;
  /** `lifeline`: the code and details; `provider_http_error` also status, headers and body. */
  code?: string;
  details?: unknown;
  status?: number;
  headers?: unknown;
  body?: unknown;
  /** `value` (something that is not an Error was thrown): the value, when it can be copied. */
  value?: unknown;
  /** `value`: `typeof` the thrown value. */
  typeName?: string;
}

/** Replaces a value the codec has no tag for; returns `undefined` to let the codec carry it. */
export type Special = (value: object) => Tagged | undefined;

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Makes `value` safe to post: tags buffers, URL search params and URLs, drops functions, and
 * lets `special` replace other objects (the engine's side turns streams and iterators into handles).
 */
export function encodeValue(value: unknown, special?: Special): unknown {
  const seen = new Map<object, unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'function' || typeof v === 'symbol') return undefined;
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return seen.get(v);
    if (Buffer.isBuffer(v)) return { [TAG]: 'buffer', bytes: new Uint8Array(v) };
    if (v instanceof URLSearchParams) return { [TAG]: 'params', text: v.toString() };
    if (v instanceof URL) return { [TAG]: 'url', href: v.href };
    const replaced = special?.(v);
    if (replaced !== undefined) return replaced;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const item of v) out.push(walk(item));
      return out;
    }
    if (!isPlain(v)) return v; // Dates, Maps, typed arrays…: the structured clone carries them.
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    for (const [key, inner] of Object.entries(v)) {
      const safe = walk(inner);
      if (safe !== undefined) out[key] = safe;
    }
    return out;
  };
  return walk(value);
}

/** Rebuilds what {@link encodeValue} tagged; `special` rebuilds streams, iterators and responses. */
export function decodeValue(value: unknown, special?: (tagged: Tagged) => unknown): unknown {
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) return v.map(walk);
    if (!isPlain(v)) return v;
    const tag = (v as Record<string, unknown>)[TAG];
    if (typeof tag === 'string') {
      const tagged = v as Tagged;
      switch (tagged[TAG]) {
        case 'buffer':
          return Buffer.from(tagged.bytes.buffer, tagged.bytes.byteOffset, tagged.bytes.byteLength);
        case 'params':
          return new URLSearchParams(tagged.text);
        case 'url':
          return new URL(tagged.href);
        default:
          return special ? special(tagged) : undefined;
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(v)) out[key] = walk(inner);
    return out;
  };
  return walk(value);
}

function textOf(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** An error (or any thrown value) as it can cross the boundary. Never throws. */
export function serializeError(error: unknown): SerializedError {
  if (isActionError(error)) {
    return {
      kind: 'action',
      name: error.name,
      message: error.message,
      payload: toJsonSafe<Record<string, unknown>>(error.payload) ?? {},
      ...(typeof error.stack === 'string' ? { stack: error.stack } : {}),
    };
  }
  if (isLifelineError(error)) {
    const out: SerializedError = {
      kind: 'lifeline',
      name: error.name,
      message: error.message,
      code: error.code,
      details: toJsonSafe(error.details),
      ...(typeof error.stack === 'string' ? { stack: error.stack } : {}),
    };
    if (error.code === 'provider_http_error') {
      const http = error as ProviderHttpError;
      out.status = http.status;
      out.headers = toJsonSafe(http.headers);
      out.body = encodeValue(http.body);
    }
    return out;
  }
  if (error instanceof Error) {
    return {
      kind: 'error',
      name: textOf(error.name),
      message: textOf(error.message),
      ...(typeof error.stack === 'string' ? { stack: error.stack } : {}),
    };
  }
  const copyable = error === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof error);
  return {
    kind: 'value',
    name: typeof error,
    message: textOf(error),
    typeName: typeof error,
    ...(copyable ? { value: error } : {}),
  };
}

const BUILT_IN: Record<string, new (message: string) => Error> = {
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Rebuilds a serialized error with this side's classes, so that `toRunError`, `isActionError`,
 * `isLifelineError` and `instanceof nango.ActionError` see what was thrown on the other side.
 */
export function reviveError(serialized: SerializedError): unknown {
  let error: Error;
  switch (serialized.kind) {
    case 'action':
      error = new ActionError(serialized.payload ?? {});
      break;
    case 'lifeline':
      if (serialized.code === 'provider_http_error') {
        error = new ProviderHttpError(serialized.message, {
          status: serialized.status ?? 0,
          headers: (serialized.headers ?? {}) as Record<string, string | string[] | undefined>,
          body: decodeValue(serialized.body),
        });
      } else {
        error = new LifelineError(
          serialized.code as LifelineErrorCode,
          serialized.message,
          serialized.details as Record<string, unknown> | undefined,
        );
      }
      error.name = serialized.name;
      break;
    case 'error': {
      const Built = BUILT_IN[serialized.name];
      error = Built ? new Built(serialized.message) : new Error(serialized.message);
      error.name = serialized.name;
      break;
    }
    default: {
      if ('value' in serialized) return serialized.value;
      // An object or function was thrown: keep what `toRunError` reads (its type and text).
      const text = serialized.message;
      const stand = serialized.typeName === 'function' ? () => undefined : {};
      Object.defineProperty(stand, 'toString', { value: () => text });
      return stand;
    }
  }
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}
