import { type Kysely, type Selectable, sql } from 'kysely';
import type { ConnectionEvent } from '../../machines/connection-events.js';
import type { ConnectionProjection, FoldInput } from '../../machines/connection-fold.js';
import { emptyProjection } from '../../machines/connection-fold.js';
import type { ConnectionContext, ConnectionState } from '../../machines/connection-machine.js';
import { MACHINE_VERSION } from '../../machines/connection-machine.js';
import { LifelineError } from '../errors.js';
import { AppendBatcher } from './append-batcher.js';
import { type AppendEffects, type AppendItem, appendStatement, type EventRow } from './append-statement.js';
import { type PreparedRunner, unprepared } from './open-database.js';
import { GENESIS, type RecordChain } from './record-chain.js';
import type { ConnectionsTable, EventsTable, Tables } from './tables.js';

export type { AppendEffects };

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
  /** The previous record's hash (`''` for the first) and this record's: see record-chain.ts. */
  prevHash: string | null;
  hash: string | null;
}

/** A projection as stored, with the hash of the last record it reflects. */
export type StoredProjection = ConnectionProjection & { lastHash: string };

const NO_EFFECTS: AppendEffects = { start: [], end: [], owner: '', leaseMs: 0 };

/** The idempotency key of an append was reserved by another command first. */
export class IdempotencyKeyTaken extends Error {
  constructor(readonly key: string) {
    super(`idempotency key ${key} is taken`);
  }
}

const leaseEnd = (leaseMs: number) => sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`;

/** A record about to be appended, with the state it leads to. */
export interface PendingRecord {
  version: number;
  event: ConnectionEvent;
  at: Date;
  from: ConnectionState | null;
  to: ConnectionState;
}

/** The projection of a connection with no log yet (version 0, chained to the genesis hash). */
export function emptyStoredProjection(connectionId: string): StoredProjection {
  return { ...emptyProjection(connectionId), lastHash: GENESIS };
}

export function toFoldInput(record: LogRecord): FoldInput {
  return { version: record.version, at: record.at, event: { type: record.type, ...record.data } as ConnectionEvent };
}

function toStoredProjection(row: Selectable<ConnectionsTable>): StoredProjection {
  return {
    connectionId: row.connection_id,
    state: row.state as ConnectionState,
    stateValue: row.state_value as ConnectionProjection['stateValue'],
    context: row.context as unknown as ConnectionContext,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastHash: row.last_hash ?? GENESIS,
  };
}

function toLogRecord(row: Selectable<EventsTable>): LogRecord {
  return {
    connectionId: row.connection_id,
    version: row.version,
    type: row.type as LogRecord['type'],
    data: row.data,
    from: row.state_from as ConnectionState | null,
    to: row.state_to as ConnectionState,
    at: row.at,
    machineVersion: row.machine_version,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * The event log and the projection, in one PostgreSQL schema. Appends and the projection update
 * are one statement; `(connection_id, version)` is the optimistic lock: a writer that lost a
 * race gets `concurrent_modification` and nothing of its batch is kept.
 */
export class EventStore {
  readonly db: Kysely<Tables>;

  constructor(
    root: Kysely<Tables>,
    schema: string,
    private readonly chain: RecordChain,
    prepared: PreparedRunner = unprepared(root),
  ) {
    this.db = root.withSchema(schema);
    this.batcher = new AppendBatcher(async (items) => {
      const { name, query } = appendStatement(schema, items);
      return new Set((await prepared(name, query)).map((row) => row.connection_id));
    });
  }

  /** Appends of different connections waiting at the same time share a statement. */
  private readonly batcher: AppendBatcher<AppendItem>;

  async load(connectionId: string): Promise<StoredProjection | null> {
    const row = await this.db
      .selectFrom('lifeline_connections')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .executeTakeFirst();
    return row ? toStoredProjection(row) : null;
  }

  async loadOrEmpty(connectionId: string): Promise<StoredProjection> {
    return (await this.load(connectionId)) ?? emptyStoredProjection(connectionId);
  }

  /**
   * Appends `records` (versions following `expected.version`, chained to `expected.lastHash`) and
   * stores `projection`, with the service leases and idempotency key of `effects`: atomically, in
   * one statement. Throws `concurrent_modification` when the projection is no longer at
   * `expected.version`, and IdempotencyKeyTaken when the key was reserved first.
   */
  async append(
    connectionId: string,
    expected: { version: number; lastHash: string },
    records: PendingRecord[],
    projection: ConnectionProjection,
    effects: AppendEffects = NO_EFFECTS,
  ): Promise<StoredProjection> {
    const expectedVersion = expected.version;
    let prevHash = expected.lastHash;
    const rows = records.map((r) => {
      const { type, ...data } = r.event;
      const content = {
        connectionId,
        version: r.version,
        type,
        data,
        from: r.from,
        to: r.to,
        at: r.at,
        machineVersion: MACHINE_VERSION,
      };
      const hash = this.chain.hash(prevHash, content);
      const row: EventRow = {
        connection_id: connectionId,
        version: r.version,
        type,
        data,
        state_from: r.from,
        state_to: r.to,
        at: r.at,
        machine_version: MACHINE_VERSION,
        prev_hash: prevHash,
        hash,
      };
      prevHash = hash;
      return row;
    });
    if (rows.length === 0) return { ...projection, lastHash: prevHash };
    const item: AppendItem = { connectionId, expectedVersion, rows, projection, lastHash: prevHash, effects };
    const written = await this.batcher.submit(item).catch((error: unknown) => {
      const { code, constraint } = error as { code?: string; constraint?: string };
      if (code === '23505' && constraint === 'lifeline_idempotency_pkey' && effects.idempotencyKey !== undefined) {
        throw new IdempotencyKeyTaken(effects.idempotencyKey);
      }
      if (code === '23505') throw this.concurrentModification(connectionId, expectedVersion);
      throw error;
    });
    if (!written) {
      // The writer that got there first may have been this same command, sent twice.
      const key = effects.idempotencyKey;
      if (key !== undefined && (await this.idempotent(key))) throw new IdempotencyKeyTaken(key);
      throw this.concurrentModification(connectionId, expectedVersion);
    }
    return { ...projection, lastHash: prevHash };
  }

  private concurrentModification(connectionId: string, expectedVersion: number) {
    return new LifelineError(
      'concurrent_modification',
      `connection ${connectionId} changed while this change was being made (expected version ${expectedVersion})`,
      { connectionId, expectedVersion },
    );
  }

  /** A connection's records in version order, optionally up to a version or a time. */
  async history(connectionId: string, upTo: { toVersion?: number; at?: Date } = {}): Promise<LogRecord[]> {
    let query = this.db
      .selectFrom('lifeline_events')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .orderBy('version');
    if (upTo.toVersion !== undefined) query = query.where('version', '<=', upTo.toVersion);
    if (upTo.at !== undefined) query = query.where('at', '<=', upTo.at);
    return (await query.execute()).map(toLogRecord);
  }

  /**
   * Every connection that has a projection, with its records, a page of `pageSize` at a time in
   * connection id order: two queries per page (the projections, then all their records).
   */
  async *pages(pageSize: number): AsyncGenerator<Array<{ projection: StoredProjection; records: LogRecord[] }>> {
    let after: string | null = null;
    for (;;) {
      const page = await this.projections(after, pageSize);
      if (page.length === 0) return;
      const histories = await this.histories(page.map((p) => p.connectionId));
      yield page.map((projection) => ({ projection, records: histories.get(projection.connectionId) ?? [] }));
      after = page.at(-1)?.connectionId as string;
    }
  }

  /** The records of several connections at once (one query), each in version order. */
  private async histories(connectionIds: string[]): Promise<Map<string, LogRecord[]>> {
    const byConnection = new Map<string, LogRecord[]>(connectionIds.map((id) => [id, []]));
    if (connectionIds.length === 0) return byConnection;
    const rows = await this.db
      .selectFrom('lifeline_events')
      .selectAll()
      .where('connection_id', '=', sql<string>`any(${connectionIds}::text[])`)
      .orderBy('connection_id')
      .orderBy('version')
      .execute();
    for (const row of rows) byConnection.get(row.connection_id)?.push(toLogRecord(row));
    return byConnection;
  }

  /** Records of every connection appended after `position` (the log's global order), oldest first. */
  async since(position: string, limit: number): Promise<Array<LogRecord & { position: string }>> {
    const rows = await this.db
      .selectFrom('lifeline_events')
      .selectAll()
      .where('position', '>', position)
      .orderBy('position')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ ...toLogRecord(row), position: String(row.position) }));
  }

  /** The position of the newest record, or `'0'` for an empty log. */
  async headPosition(): Promise<string> {
    const row = await this.db
      .selectFrom('lifeline_events')
      .select(({ fn }) => fn.max('position').as('head'))
      .executeTakeFirst();
    return row?.head == null ? '0' : String(row.head);
  }

  /** Extends this owner's lease on a service; false when the lease was lost (another engine took it). */
  async renewLease(connectionId: string, service: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('lifeline_services')
      .set({ lease_until: leaseEnd(leaseMs) as never })
      .where('connection_id', '=', connectionId)
      .where('service', '=', service)
      .where('owner', '=', owner)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /**
   * Claims up to `limit` services whose lease has expired (their engine stopped), for `owner`.
   * `FOR UPDATE SKIP LOCKED`: engines claiming at the same time never get the same service.
   */
  async claimExpired(
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<Array<{ connectionId: string; service: string; claims: number }>> {
    return this.db.transaction().execute(async (trx) => {
      const expired = await trx
        .selectFrom('lifeline_services')
        .select(['connection_id', 'service'])
        .where('lease_until', '<', sql<Date>`now()`)
        .orderBy('lease_until')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
      const claimed: Array<{ connectionId: string; service: string; claims: number }> = [];
      for (const row of expired) {
        const updated = await trx
          .updateTable('lifeline_services')
          .set((eb) => ({ owner, lease_until: leaseEnd(leaseMs) as never, claims: eb('claims', '+', 1) }))
          .where('connection_id', '=', row.connection_id)
          .where('service', '=', row.service)
          .returning(['connection_id', 'service', 'claims'])
          .executeTakeFirstOrThrow();
        claimed.push({ connectionId: updated.connection_id, service: updated.service, claims: updated.claims });
      }
      return claimed;
    });
  }

  /** Ends a service that turned out not to be needed any more. */
  async endService(connectionId: string, service: string, owner: string): Promise<void> {
    await this.db
      .deleteFrom('lifeline_services')
      .where('connection_id', '=', connectionId)
      .where('service', '=', service)
      .where('owner', '=', owner)
      .execute();
  }

  /** Lets every lease of `owner` expire now, so other engines can take its services at once. */
  async expireLeases(owner: string): Promise<void> {
    await this.db
      .updateTable('lifeline_services')
      .set({ lease_until: sql<Date>`now() - interval '1 second'` as never })
      .where('owner', '=', owner)
      .execute();
  }

  async idempotent(
    key: string,
  ): Promise<{ connectionId: string; version: number; result: Record<string, unknown> | null } | null> {
    const row = await this.db
      .selectFrom('lifeline_idempotency')
      .selectAll()
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    return row ? { connectionId: row.connection_id, version: row.version, result: row.result } : null;
  }

  async saveIdempotentResult(key: string, result: Record<string, unknown>): Promise<void> {
    await this.db
      .updateTable('lifeline_idempotency')
      .set({ result: JSON.stringify(result) })
      .where('idempotency_key', '=', key)
      .execute();
  }

  /** Stored projections in connection id order, a page at a time (keyset pagination). */
  async projections(
    after: string | null,
    limit: number,
    filter: { state?: string; integration?: string } = {},
  ): Promise<StoredProjection[]> {
    let query = this.db.selectFrom('lifeline_connections').selectAll().orderBy('connection_id').limit(limit);
    if (after !== null) query = query.where('connection_id', '>', after);
    if (filter.state) query = query.where('state', '=', filter.state);
    if (filter.integration) query = query.where('integration', '=', filter.integration);
    return (await query.execute()).map(toStoredProjection);
  }

  async countConnections(): Promise<number> {
    const row = await this.db
      .selectFrom('lifeline_connections')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Connections with log records but no projection row (a deleted projection). */
  async unprojectedConnectionIds(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('lifeline_events as e')
      .select('e.connection_id')
      .distinct()
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('lifeline_connections as c')
              .select('c.connection_id')
              .whereRef('c.connection_id', '=', 'e.connection_id'),
          ),
        ),
      )
      .execute();
    return rows.map((r) => r.connection_id);
  }
}
