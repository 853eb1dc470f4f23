import { initialTransition, transition } from 'xstate';
import type { FoldInput } from '../machines/connection-fold.js';
import { fold } from '../machines/connection-fold.js';
import { connectionMachine } from '../machines/connection-machine.js';

/**
 * Records per second of ways to fold the same records, to size a fix to replay before making it:
 * `fold` as it is (per record: resolveState, can, transition); the snapshot carried from record
 * to record (no resolveState); and that without the separate `can` check.
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
  return {
    currentFold: time(() => fold(id, inputs)),
    carriedSnapshotWithCan: time(carried(true)),
    carriedSnapshotNoCan: time(carried(false)),
  };
}
