import { initialTransition, type StateValue, transition } from 'xstate';
import { compiledConnectionMachine, type ServiceRequest } from './compiled-machine.js';
import type { ConnectionEvent } from './connection-events.js';
import {
  type ConnectionContext,
  type ConnectionState,
  connectionMachine,
  initialContext,
} from './connection-machine.js';

/**
 * The pure fold of a connection's log into its projection. The engine uses {@link evolve} to
 * compute every append; replay uses {@link fold}. Both run the same machine definition — `evolve`
 * through XState's `transition()`, `fold` through the table compiled from it
 * (`compiled-machine.ts`, the interpreter costs too much per record for replay) — so replay
 * reproduces the projection exactly.
 */
export interface ConnectionProjection {
  connectionId: string;
  state: ConnectionState;
  /** The full machine state value (e.g. `{ deleting: 'cleaning' }`). */
  stateValue: StateValue;
  context: ConnectionContext;
  version: number;
  createdAt: Date | null;
  updatedAt: Date | null;
}

/** What the fold needs from a log record. */
export interface FoldInput {
  version: number;
  event: ConnectionEvent;
  at: Date;
}

export type { ServiceRequest };

export function emptyProjection(connectionId: string): ConnectionProjection {
  return {
    connectionId,
    state: 'deleted',
    stateValue: 'deleted',
    context: initialContext,
    version: 0,
    createdAt: null,
    updatedAt: null,
  };
}

export function topState(value: StateValue): ConnectionState {
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as ConnectionState;
}

function snapshotOf(projection: ConnectionProjection) {
  if (projection.version === 0) return initialTransition(connectionMachine)[0];
  return connectionMachine.resolveState({ value: projection.stateValue, context: projection.context });
}

/** Whether the machine accepts `event` in the projection's state (guards included). */
export function accepts(projection: ConnectionProjection, event: ConnectionEvent): boolean {
  return snapshotOf(projection).can(event);
}

/**
 * Applies one record. Returns the next projection and the services the transition started.
 * Throws if the machine does not accept the record: a log must only hold accepted inputs.
 */
export function evolve(
  projection: ConnectionProjection,
  input: FoldInput,
): { projection: ConnectionProjection; services: ServiceRequest[] } {
  const snapshot = snapshotOf(projection);
  if (!snapshot.can(input.event)) {
    throw new Error(
      `record ${input.version} (${input.event.type}) is not accepted in state ${JSON.stringify(snapshot.value)}`,
    );
  }
  const [next, actions] = transition(connectionMachine, snapshot, input.event);
  const services: ServiceRequest[] = [];
  for (const action of actions) {
    if (action.type === 'xstate.spawnChild') {
      const params = action.params as { src: unknown; id: string };
      if (typeof params.src === 'string') services.push({ src: params.src, id: params.id });
    }
  }
  return {
    projection: {
      connectionId: projection.connectionId,
      state: topState(next.value),
      stateValue: next.value,
      context: next.context,
      version: input.version,
      createdAt: input.event.type === 'CONNECT' ? input.at : projection.createdAt,
      updatedAt: input.at,
    },
    services,
  };
}

/**
 * Rebuilds a projection from records alone, running no function: what {@link evolve} record by
 * record would give (and the same error for a record the machine does not accept), stepped
 * through the compiled machine.
 *
 * @example
 * const projection = fold('conn-1', records.map(toFoldInput));
 * projection.state; // 'active'
 */
export function fold(connectionId: string, inputs: Iterable<FoldInput>): ConnectionProjection {
  const { initial, step } = compiledConnectionMachine;
  let state = initial.state;
  let context = initial.context;
  let version = 0;
  let records = 0;
  let createdAt: Date | null = null;
  let updatedAt: Date | null = null;
  for (const input of inputs) {
    // As `evolve`: a projection at version 0 starts again from the machine's initial state.
    if (version === 0) ({ state, context } = initial);
    const next = step(state, context, input.event);
    if (next === undefined) {
      throw new Error(
        `record ${input.version} (${input.event.type}) is not accepted in state ${JSON.stringify(state.value)}`,
      );
    }
    ({ state, context } = next);
    records++;
    version = input.version;
    if (input.event.type === 'CONNECT') createdAt = input.at;
    updatedAt = input.at;
  }
  if (records === 0) return emptyProjection(connectionId);
  const stateValue = state.value;
  return { connectionId, state: topState(stateValue), stateValue, context, version, createdAt, updatedAt };
}
