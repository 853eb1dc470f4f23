import { isDeepStrictEqual } from 'node:util';
import { fold } from '../../machines/connection-fold.js';
import type { LogRecord, StoredProjection } from './event-store.js';
import { toFoldInput } from './event-store.js';
import { GENESIS, type RecordChain } from './record-chain.js';

/** One thing `verify` found wrong with a connection's log or projection. */
export interface Mismatch {
  connectionId: string;
  /** The record concerned, when there is one. */
  version?: number;
  problem:
    | 'edited'
    | 'chain_broken'
    | 'version_gap'
    | 'unsealed'
    | 'replay_failed'
    | 'projection_differs'
    | 'no_projection';
  message: string;
}

/**
 * Checks one connection: versions contiguous from 1, every record's hash, every link to the
 * previous record, and that replaying the records reproduces the stored projection (including
 * the hash of the last record, so a removed tail is found).
 */
export function verifyConnection(
  connectionId: string,
  records: LogRecord[],
  stored: StoredProjection | null,
  chain: RecordChain,
): Mismatch[] {
  const found: Mismatch[] = [];
  const add = (problem: Mismatch['problem'], message: string, version?: number) =>
    found.push(
      version === undefined ? { connectionId, problem, message } : { connectionId, version, problem, message },
    );

  let prev = GENESIS;
  records.forEach((r, i) => {
    if (r.version !== i + 1) {
      add(
        'version_gap',
        `record ${i + 1} is missing or was renumbered: found version ${r.version} in its place`,
        r.version,
      );
    }
    if (r.hash === null || r.prevHash === null) {
      add('unsealed', `record ${r.version} (${r.type}) carries no hash`, r.version);
    } else {
      if (r.prevHash !== prev) {
        add(
          'chain_broken',
          `record ${r.version} (${r.type}) does not follow the record before it: one was removed, inserted or reordered`,
          r.version,
        );
      }
      if (chain.hash(r.prevHash, r) !== r.hash) {
        add('edited', `record ${r.version} (${r.type}) does not match its hash: its content was changed`, r.version);
      }
      prev = r.hash;
    }
  });

  if (!stored) {
    add('no_projection', 'the connection has log records but no projection row');
    return found;
  }
  let replayed: ReturnType<typeof fold>;
  try {
    replayed = fold(connectionId, records.map(toFoldInput));
  } catch (error) {
    add('replay_failed', `the log does not replay: ${(error as Error).message}`);
    return found;
  }
  const { lastHash, ...projection } = stored;
  const same = isDeepStrictEqual(JSON.parse(JSON.stringify(replayed)), JSON.parse(JSON.stringify(projection)));
  if (!same || (records.length > 0 && lastHash !== (records.at(-1)?.hash ?? GENESIS))) {
    add(
      'projection_differs',
      `the stored state (${projection.state}, version ${projection.version}) is not what the log replays to (${replayed.state}, version ${replayed.version})${same ? ': the last record was removed' : ''}`,
    );
  }
  return found;
}
