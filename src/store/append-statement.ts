import { createHash } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import type { ConnectionProjection } from '../../machines/connection-fold.js';

/** A log row as the append statement sends it (as JSON, read back by `jsonb_to_recordset`). */
export interface EventRow {
  connection_id: string;
  version: number;
  type: string;
  data: Record<string, unknown>;
  state_from: string | null;
  state_to: string;
  at: Date;
  machine_version: string;
  prev_hash: string;
  hash: string;
}

/** What else an append does in its statement: service leases, an idempotency key. */
export interface AppendEffects {
  /** Services the records start (leased to `owner` for `leaseMs`) and end (their rows dropped). */
  start: string[];
  end: string[];
  owner: string;
  leaseMs: number;
  /** Reserved for the first record; a key already taken fails the append with IdempotencyKeyTaken. */
  idempotencyKey?: string;
}

/** One connection's part of an append: its records, its new projection and what else it writes. */
export interface AppendItem {
  connectionId: string;
  /** The projection's version the records follow (0: the connection is created). */
  expectedVersion: number;
  rows: EventRow[];
  projection: ConnectionProjection;
  /** The hash of the last record, kept with the projection. */
  lastHash: string;
  effects: AppendEffects;
}

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The append of any number of connections as one statement: one round trip and one commit,
 * atomic as a whole. Each connection's projection write comes first (an insert for a new
 * connection, else an update guarded by its expected version), and its other writes select from
 * that write's result: a connection another writer got to first writes nothing, and is missing
 * from the ids the statement returns. The items travel as one JSON parameter, so a schema has one
 * statement text, built once.
 */
function statementText(schema: string): string {
  const table = (name: string) => `${quoted(schema)}.${quoted(name)}`;
  return `with input as (
      select * from jsonb_to_recordset($1::jsonb) as p(connection_id text, expected integer, integration text,
        state text, state_value jsonb, context jsonb, version integer, created_at timestamptz,
        updated_at timestamptz, last_hash text, events jsonb, idempotency_key text, ended text[],
        started text[], owner text, lease_ms integer)),
    updated as (
      update ${table('lifeline_connections')} c
      set integration = p.integration, state = p.state, state_value = p.state_value, context = p.context,
        version = p.version, created_at = p.created_at, updated_at = p.updated_at, last_hash = p.last_hash
      from input p
      where p.expected > 0 and c.connection_id = p.connection_id and c.version = p.expected
      returning c.connection_id),
    created as (
      insert into ${table('lifeline_connections')}
        (connection_id, integration, state, state_value, context, version, created_at, updated_at, last_hash)
      select p.connection_id, p.integration, p.state, p.state_value, p.context, p.version, p.created_at,
        p.updated_at, p.last_hash
      from input p where p.expected = 0
      on conflict (connection_id) do nothing
      returning connection_id),
    projection as (select connection_id from updated union all select connection_id from created),
    written as (select p.* from input p join projection w on w.connection_id = p.connection_id),
    appended as (
      insert into ${table('lifeline_events')}
        (connection_id, version, type, data, state_from, state_to, at, machine_version, prev_hash, hash)
      select r.connection_id, r.version, r.type, r.data, r.state_from, r.state_to, r.at, r.machine_version,
        r.prev_hash, r.hash
      from written p, jsonb_to_recordset(p.events) as r(connection_id text, version integer, type text,
        data jsonb, state_from text, state_to text, at timestamptz, machine_version text, prev_hash text,
        hash text)),
    reserved as (
      insert into ${table('lifeline_idempotency')} (idempotency_key, connection_id, version)
      select p.idempotency_key, p.connection_id, p.expected + 1 from written p where p.idempotency_key is not null),
    ended as (
      delete from ${table('lifeline_services')} s using written p
      where s.connection_id = p.connection_id and s.service = any(p.ended)),
    started as (
      insert into ${table('lifeline_services')} (connection_id, service, owner, lease_until)
      select p.connection_id, service, p.owner, now() + p.lease_ms * interval '1 millisecond'
      from written p, unnest(p.started) as service
      on conflict (connection_id, service) do update set owner = excluded.owner, lease_until = excluded.lease_until)
    select connection_id from projection`;
}

const texts = new Map<string, { name: string; text: string }>();

/**
 * The append of `items` (each a different connection), ready to execute, with a name to prepare
 * it under. It returns the ids of the connections it wrote; the others were changed by another
 * writer since their expected version.
 *
 * @example
 * const { name, query } = appendStatement('lifeline', [{ connectionId: 'c1', expectedVersion: 0, … }]);
 * const written = await database.prepared(name, query); // [{ connection_id: 'c1' }]
 */
export function appendStatement(
  schema: string,
  items: AppendItem[],
): { name: string; query: CompiledQuery<{ connection_id: string }> } {
  let statement = texts.get(schema);
  if (statement === undefined) {
    const text = statementText(schema);
    // A prepared statement's name: the same text always gets the same one.
    statement = { name: `lifeline_append_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
    texts.set(schema, statement);
  }
  const input = items.map(({ connectionId, expectedVersion, rows, projection, lastHash, effects }) => {
    // The services a batch both ends and starts stay leased (a row cannot be deleted and upserted
    // in one statement).
    const started = [...new Set(effects.start)];
    return {
      connection_id: connectionId,
      expected: expectedVersion,
      integration: projection.context.integration,
      state: projection.state,
      state_value: projection.stateValue,
      context: projection.context,
      version: projection.version,
      created_at: projection.createdAt,
      updated_at: projection.updatedAt,
      last_hash: lastHash,
      events: rows,
      idempotency_key: effects.idempotencyKey ?? null,
      ended: effects.end.filter((service) => !started.includes(service)),
      started,
      owner: effects.owner,
      lease_ms: effects.leaseMs,
    };
  });
  const query = CompiledQuery.raw(statement.text, [JSON.stringify(input)]) as CompiledQuery<{ connection_id: string }>;
  return { name: statement.name, query };
}
