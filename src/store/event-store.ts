import type { Kysely } from 'kysely';
import type { ConnectionEvent } from '../../machines/connection-events.js';
import type { ConnectionProjection, FoldInput } from '../../machines/connection-fold.js';
import { emptyProjection } from '../../machines/connection-fold.js';
import type { ConnectionContext, ConnectionState } from '../../machines/connection-machine.js';
import { MACHINE_VERSION } from '../../machines/connection-machine.js';
import { LifelineError } from '../errors.js';
import type { Tables } from './tables.js';

/** One record of the event log, as read back. */
export interface LogRecord {
  connectionId: string;
  version: number;
  type: ConnectionEvent['type'];
  data: Record<string, unknown>;
  from: ConnectionState | null;
  to: ConnectionState;
  at: Date;
  machineVersion: string;
}

/** A record about to be appended, with the state it leads to. */
export interface PendingRecord {
  version: number;
  event: ConnectionEvent;
  at: Date;
  from: ConnectionState | null;
  to: ConnectionState;
}

export function toFoldInput(record: LogRecord): FoldInput {
  return { version: record.version, at: record.at, event: { type: record.type, ...record.data } as ConnectionEvent };
}

/**
 * The event log and the projection, in one PostgreSQL schema. Appends and the projection update
 * share one transaction; `(connection_id, version)` is the optimistic lock: a writer that lost a
 * race gets `concurrent_modification` and nothing of its batch is kept.
 */
export class EventStore {
  readonly db: Kysely<Tables>;

  constructor(root: Kysely<Tables>, schema: string) {
    this.db = root.withSchema(schema);
  }

  async load(connectionId: string): Promise<ConnectionProjection | null> {
    const row = await this.db
      .selectFrom('lifeline_connections')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .executeTakeFirst();
    if (!row) return null;
    return {
      connectionId: row.connection_id,
      state: row.state as ConnectionState,
      stateValue: row.state_value as ConnectionProjection['stateValue'],
      context: row.context as unknown as ConnectionContext,
      version: row.version,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async loadOrEmpty(connectionId: string): Promise<ConnectionProjection> {
    return (await this.load(connectionId)) ?? emptyProjection(connectionId);
  }

  /** Appends `records` (versions following `expectedVersion`) and stores `projection`, atomically. */
  async append(
    connectionId: string,
    expectedVersion: number,
    records: PendingRecord[],
    projection: ConnectionProjection,
  ): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('lifeline_events')
          .values(
            records.map((r) => {
              const { type, ...data } = r.event;
              return {
                connection_id: connectionId,
                version: r.version,
                type,
                data: JSON.stringify(data),
                state_from: r.from,
                state_to: r.to,
                at: r.at,
                machine_version: MACHINE_VERSION,
              };
            }),
          )
          .execute();
        const row = {
          integration: projection.context.integration,
          state: projection.state,
          state_value: JSON.stringify(projection.stateValue),
          context: JSON.stringify(projection.context),
          version: projection.version,
          created_at: projection.createdAt,
          updated_at: projection.updatedAt,
        };
        if (expectedVersion === 0) {
          await trx
            .insertInto('lifeline_connections')
            .values({ connection_id: connectionId, ...row })
            .execute();
        } else {
          const result = await trx
            .updateTable('lifeline_connections')
            .set(row)
            .where('connection_id', '=', connectionId)
            .where('version', '=', expectedVersion)
            .executeTakeFirst();
          if (result.numUpdatedRows !== 1n) throw Object.assign(new Error('stale projection'), { code: '23505' });
        }
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new LifelineError(
          'concurrent_modification',
          `connection ${connectionId} changed while this change was being made (expected version ${expectedVersion})`,
          { connectionId, expectedVersion },
        );
      }
      throw error;
    }
  }

  async history(connectionId: string, toVersion?: number): Promise<LogRecord[]> {
    let query = this.db
      .selectFrom('lifeline_events')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .orderBy('version');
    if (toVersion !== undefined) query = query.where('version', '<=', toVersion);
    const rows = await query.execute();
    return rows.map((row) => ({
      connectionId: row.connection_id,
      version: row.version,
      type: row.type as LogRecord['type'],
      data: row.data,
      from: row.state_from as ConnectionState | null,
      to: row.state_to as ConnectionState,
      at: row.at,
      machineVersion: row.machine_version,
    }));
  }
}
