import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { createWebSocketInspector } from '@statelyai/inspect';
import { type AnyActorRef, createActor, fromPromise } from 'xstate';
import type { ConnectionEvent } from '../../machines/connection-events.js';
import { connectionMachine } from '../../machines/connection-machine.js';
import type { LogRecord } from '../store/event-store.js';

/**
 * Streams connections' log records to the Stately inspector: each connection is mirrored by an
 * actor of the connection machine, fed the records in order. The mirror runs no function (its
 * services never settle; outcomes come from the log). Credentials are removed by the
 * inspector's `serialize` hook before anything leaves the process.
 *
 * @example
 * const inspector = createLogInspector('ws://127.0.0.1:8080');
 * for (const record of await engine.history('conn-1')) inspector.feed(record);
 * await inspector.close();
 */
export interface LogInspector {
  feed(record: Pick<LogRecord, 'connectionId' | 'type' | 'data'>): void;
  /** Whether a connection already has a mirror (for a follower that must replay it first). */
  has(connectionId: string): boolean;
  close(): Promise<void>;
}

const never = fromPromise<void>(() => new Promise(() => {}));
const mirrorMachine = connectionMachine.provide({
  actors: { 'validate-connection': never, 'post-connection-creation': never, 'pre-connection-deletion': never },
});

/**
 * Replaces every `credentials` value, at any depth of plain objects and arrays, by its type
 * alone. Other objects (actor references) are left as they are; cycles are not followed.
 */
export function withoutCredentials<T>(value: T): T {
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return v;
    const proto = Object.getPrototypeOf(v);
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return v;
    seen.add(v);
    if (Array.isArray(v)) return v.map(walk);
    return Object.fromEntries(
      Object.entries(v).map(([key, inner]) => {
        if (key === 'credentials') {
          const type = (inner as { type?: unknown } | null)?.type;
          return [key, typeof type === 'string' ? { type } : null];
        }
        return [key, walk(inner)];
      }),
    );
  };
  return walk(value) as T;
}

export function createLogInspector(url: string): LogInspector {
  const inspector = createWebSocketInspector({
    url,
    sanitizeContext: (context) => withoutCredentials(context),
    sanitizeEvent: (event) => withoutCredentials(event),
    serialize: (event: StatelyInspectionEvent) => withoutCredentials(event),
  });
  const actors = new Map<string, AnyActorRef>();
  return {
    feed(record) {
      let actor = actors.get(record.connectionId);
      if (!actor) {
        actor = createActor(mirrorMachine, { id: record.connectionId, inspect: inspector.inspect });
        actor.start();
        actors.set(record.connectionId, actor);
      }
      actor.send({ type: record.type, ...record.data } as ConnectionEvent);
    },
    has: (connectionId) => actors.has(connectionId),
    async close() {
      for (const actor of actors.values()) actor.stop();
      // Give the socket a moment to flush what was queued before it closes.
      await new Promise((r) => setTimeout(r, 200));
      inspector.stop();
    },
  };
}
