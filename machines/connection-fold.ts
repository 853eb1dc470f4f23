import type { StateValue } from 'xstate';
import { type CompiledState, compiledConnectionMachine, type ServiceRequest } from './compiled-machine.js';
import type { ConnectionEvent } from './connection-events.js';
import { type ConnectionContext, type ConnectionState, initialContext } from './connection-machine.js';

/**
 * The pure fold of a connection's log into its projection. The engine uses {@link evolve} to
 * compute every append; replay uses {@link fold}. Both step the same table, compiled from the
 * XState machine (`compiled-machine.ts`; XState's interpreter costs 20–30 µs per record), so
 * replay reproduces the projection exactly. `xstate-evolve.ts` steps XState's own interpreter:
 * the reference the table is property-tested against.
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

const { initial, states, step } = compiledConnectionMachine;
const statesByValue = new Map(states.map((state) => [JSON.stringify(state.value), state]));

/** Where the compiled machine stands for a projection (a projection at version 0 is the initial state). */
function positionOf(projection: ConnectionProjection): { state: CompiledState; context: ConnectionContext } {
  if (projection.version === 0) return initial;
  const state = statesByValue.get(JSON.stringify(projection.stateValue));
  if (!state) throw new Error(`state ${JSON.stringify(projection.stateValue)} is not a state of the machine`);
  return { state, context: projection.context };
}

/**
 * Applies one record if the machine accepts it: the next projection and the services the
 * transition started; `undefined` when the machine does not accept it (guards included).
 */
export function tryEvolve(
  projection: ConnectionProjection,
  input: FoldInput,
): { projection: ConnectionProjection; services: readonly ServiceRequest[] } | undefined {
  const { state, context } = positionOf(projection);
  const next = step(state, context, input.event);
  if (next === undefined) return undefined;
  return {
    projection: {
      connectionId: projection.connectionId,
      state: topState(next.state.value),
      stateValue: next.state.value,
      context: next.context,
      version: input.version,
      createdAt: input.event.type === 'CONNECT' ? input.at : projection.createdAt,
      updatedAt: input.at,
    },
    services: next.services,
  };
}

/** Whether the machine accepts `event` in the projection's state (guards included). */
export function accepts(projection: ConnectionProjection, event: ConnectionEvent): boolean {
  const { state, context } = positionOf(projection);
  return step(state, context, event) !== undefined;
}

/**
 * Applies one record. Returns the next projection and the services the transition started.
 * Throws if the machine does not accept the record: a log must only hold accepted inputs.
 */
export function evolve(
  projection: ConnectionProjection,
  input: FoldInput,
): { projection: ConnectionProjection; services: readonly ServiceRequest[] } {
  const next = tryEvolve(projection, input);
  if (next) return next;
  throw new Error(
    `record ${input.version} (${input.event.type}) is not accepted in state ${JSON.stringify(positionOf(projection).state.value)}`,
  );
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
