/**
 * The event-function SDK: `createOnEvent`, with Nango's fields. This file has no runtime imports:
 * the loader bundles it into user functions when they import `nango` (or `lifeline`).
 *
 * @example
 * import { createOnEvent } from 'nango'; // or 'lifeline'
 * export default createOnEvent({
 *   description: 'Reject keys without admin scope',
 *   event: 'validate-connection',
 *   exec: async (nango) => {
 *     const me = await nango.get({ endpoint: '/me' });
 *     if (!me.data.admin) throw new nango.ActionError({ message: 'An admin key is required' });
 *   },
 * });
 */
import type { OnEventContext } from './context-types.js';

export type OnEvent = 'post-connection-creation' | 'validate-connection' | 'pre-connection-deletion';

export const ON_EVENTS: readonly OnEvent[] = [
  'post-connection-creation',
  'validate-connection',
  'pre-connection-deletion',
];

/** Any schema with zod's `safeParse` (zod 3 or 4, or a compatible library). */
export interface MetadataSchema<T = unknown> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: unknown };
}

type Infer<S> = S extends { _output: infer O } ? O : S extends MetadataSchema<infer T> ? T : Record<string, unknown>;

export interface OnEventDefinition<M = Record<string, unknown>> {
  description?: string;
  event: OnEvent;
  metadata?: MetadataSchema;
  version?: string;
  /** Per-function timeout in ms; defaults to the engine's `functionTimeoutMs`. */
  timeoutMs?: number;
  /** Retry policy for this function (setup and cleanup retry by default; validation does not). */
  retry?: { maxAttempts?: number; baseMs?: number; capMs?: number };
  exec: (nango: OnEventContext<M>) => Promise<void> | void;
}

const BRAND = Symbol.for('lifeline.on-event');

export function createOnEvent<S extends MetadataSchema | undefined = undefined>(definition: {
  description?: string;
  event: OnEvent;
  metadata?: S;
  version?: string;
  timeoutMs?: number;
  /** Retry policy for this function (setup and cleanup retry by default; validation does not). */
  retry?: { maxAttempts?: number; baseMs?: number; capMs?: number };
  exec: (nango: OnEventContext<S extends MetadataSchema ? Infer<S> : Record<string, unknown>>) => Promise<void> | void;
}): OnEventDefinition<S extends MetadataSchema ? Infer<S> : Record<string, unknown>> {
  return Object.assign(Object.create(null), definition, { [BRAND]: true });
}

/** True for what `createOnEvent` returned, from any copy of the SDK. */
export function isOnEventDefinition(value: unknown): value is OnEventDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
