import { LifelineError } from '../errors.js';

/**
 * Nango methods that make no sense in an event function (record saving, syncs, checkpoints,
 * other connections). Each throws `not_available` with a readable message instead of
 * `undefined is not a function`.
 */
export const NOT_AVAILABLE: Readonly<Record<string, string>> = Object.freeze({
  batchSave: 'records belong to syncs',
  batchUpdate: 'records belong to syncs',
  batchDelete: 'records belong to syncs',
  batchSend: 'records belong to syncs',
  getRecordsByIds: 'records belong to syncs',
  setMergingStrategy: 'records belong to syncs',
  deleteRecordsFromPreviousExecutions: 'records belong to syncs',
  trackDeletesStart: 'records belong to syncs',
  trackDeletesEnd: 'records belong to syncs',
  getCheckpoint: 'checkpoints belong to syncs',
  saveCheckpoint: 'checkpoints belong to syncs',
  clearCheckpoint: 'checkpoints belong to syncs',
  startSync: 'syncs are not part of lifeline',
  triggerSync: 'syncs are not part of lifeline',
  pauseSync: 'syncs are not part of lifeline',
  triggerAction: 'actions are not part of lifeline',
  getFlowAttributes: 'syncs are not part of lifeline',
  setLastSyncDate: 'syncs are not part of lifeline',
  listConnections: 'a function sees only its own connection',
  updateConnectionConfig: 'connection config is set by CONNECT and RECONNECT',
});

/**
 * The throwing stand-ins, ready to spread into a context.
 *
 * @example
 * await nango.batchSave([], 'Contact'); // LifelineError not_available: nango.batchSave is not available in event functions (records belong to syncs)
 */
export function notAvailableMethods(): Record<string, (...args: unknown[]) => never> {
  return Object.fromEntries(
    Object.entries(NOT_AVAILABLE).map(([name, why]) => [
      name,
      () => {
        throw new LifelineError('not_available', `nango.${name} is not available in event functions (${why})`);
      },
    ]),
  );
}
