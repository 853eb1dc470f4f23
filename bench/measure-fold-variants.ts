import { initialTransition, transition } from 'xstate';
import type { FoldInput } from '../machines/connection-fold.js';
import { emptyProjection, fold } from '../machines/connection-fold.js';
import { connectionMachine } from '../machines/connection-machine.js';
import { xstateEvolve } from '../machines/xstate-evolve.js';

/**
 * Records per second of ways to fold the same records, to show what replay costs and why:
 * `fold` as it is (the table compiled from the machine, `machines/compiled-machine.ts`); the
 * XState path `fold` used before it (per record: `xstateEvolve`, i.e. resolveState, can, transition);
 * the snapshot carried from record to record (no resolveState); and that without the separate
 * `can` check. The last three are the interpreter's cost.
 *
 * @example
 * measureFoldVariants('conn-1', inputs); // { compiledFold: 1.2e6, xstateEvolve: 5e4, … }
 */
export function measureFoldVariants(id: string, inputs: FoldInput[], repeat = 3) {
  const time = (work: () => void) => {
    work();
    const t = performance.now();
    for (let i = 0; i < repeat; i++) work();
    return ((repeat * inputs.length) / (performance.now() - t)) * 1000;
  };
  const carried = (check: boolean) => () => {
    let snapshot = initialTransition(connectionMachine)[0];
    for (const input of inputs) {
      if (check && !snapshot.can(input.event)) throw new Error(`record ${input.version} not accepted`);
      snapshot = transition(connectionMachine, snapshot, input.event)[0];
    }
    return snapshot;
  };
  const xstateFold = () => {
    let projection = emptyProjection(id);
    for (const input of inputs) projection = xstateEvolve(projection, input).projection;
    return projection;
  };
  const compiledFold = time(() => fold(id, inputs));
  const evolveFold = time(xstateFold);
  return {
    compiledFold,
    xstateEvolve: evolveFold,
    carriedSnapshotWithCan: time(carried(true)),
    carriedSnapshotNoCan: time(carried(false)),
    compiledOverXState: compiledFold / evolveFold,
  };
}
