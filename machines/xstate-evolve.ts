import { initialTransition, transition } from 'xstate';
import type { ServiceRequest } from './compiled-machine.js';
import type { ConnectionEvent } from './connection-events.js';
import { type ConnectionProjection, type FoldInput, topState } from './connection-fold.js';
import { connectionMachine } from './connection-machine.js';

/**
 * One record applied by XState's own interpreter (`resolveState`, `can`, `transition`): the
 * reference the compiled machine is tested against (`test/prop/compiled-fold.prop.test.ts`) and
 * the baseline the benchmark compares it with. The engine and replay use `evolve` and `fold`
 * (`connection-fold.ts`), which step the table compiled from the same machine.
 *
 * @example
 * const { projection, services } = xstateEvolve(emptyProjection('c1'), { version: 1, event, at });
 */
export function xstateEvolve(
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

/** Whether XState's interpreter accepts `event` in the projection's state (guards included). */
export function xstateAccepts(projection: ConnectionProjection, event: ConnectionEvent): boolean {
  return snapshotOf(projection).can(event);
}

function snapshotOf(projection: ConnectionProjection) {
  if (projection.version === 0) return initialTransition(connectionMachine)[0];
  return connectionMachine.resolveState({ value: projection.stateValue, context: projection.context });
}
