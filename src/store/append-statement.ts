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

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The whole append as one statement: one round trip, atomic on its own. The projection write
 * comes first (an insert for a new connection, else an update guarded by the expected version),
 * and every other write selects from its result: when another writer got there first, nothing is
 * written and the statement returns `n = 0`. Optional writes take empty parameters (no key, no
 * services) instead of changing the text, so a schema has two statement texts in all, built once.
 */
function statementText(schema: string, creating: boolean): string {
  const table = (name: string) => `${quoted(schema)}.${quoted(name)}`;
  const projection = creating
    ? `insert into ${table('lifeline_connections')}
         (connection_id, integration, state, state_value, context, version, created_at, updated_at, last_hash)
       values ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9)
       on conflict (connection_id) do nothing
       returning connection_id`
    : `update ${table('lifeline_connections')}
       set integration = $2, state = $3, state_value = $4::jsonb, context = $5::jsonb, version = $6,
         created_at = $7, updated_at = $8, last_hash = $9
       where connection_id = $1 and version = $10
       returning connection_id`;
  return `with projection as (${projection}),
    appended as (
      insert into ${table('lifeline_events')}
        (connection_id, version, type, data, state_from, state_to, at, machine_version, prev_hash, hash)
      select r.connection_id, r.version, r.type, r.data, r.state_from, r.state_to, r.at, r.machine_version,
        r.prev_hash, r.hash
      from projection, jsonb_to_recordset($11::jsonb) as r(connection_id text, version integer, type text,
        data jsonb, state_from text, state_to text, at timestamptz, machine_version text, prev_hash text,
        hash text)),
    reserved as (
      insert into ${table('lifeline_idempotency')} (idempotency_key, connection_id, version)
      select $12::text, $1, $10::integer + 1 from projection where $12::text is not null),
    ended as (
      delete from ${table('lifeline_services')}
      where connection_id = $1 and service = any($13::text[]) and exists (select from projection)),
    started as (
      insert into ${table('lifeline_services')} (connection_id, service, owner, lease_until)
      select $1, service, $15::text, now() + $16::integer * interval '1 millisecond'
      from projection, unnest($14::text[]) as service
      on conflict (connection_id, service) do update set owner = excluded.owner, lease_until = excluded.lease_until)
    select count(*)::integer as n from projection`;
}

const texts = new Map<string, { name: string; text: string }>();

/**
 * The append of `rows` and `projection` (replacing the projection at `expectedVersion`, or
 * creating it when that is 0), ready to execute, with a name to prepare it under.
 *
 * @example
 * const { name, query } = appendStatement('lifeline', 'c1', 0, rows, projection, hash, effects);
 * const [{ n }] = await database.prepared(name, query); // 1, or 0 when another writer got there first
 */
export function appendStatement(
  schema: string,
  connectionId: string,
  expectedVersion: number,
  rows: EventRow[],
  projection: ConnectionProjection,
  lastHash: string,
  writes: AppendEffects,
): { name: string; query: CompiledQuery<{ n: number }> } {
  const creating = expectedVersion === 0;
  const key = `${creating}:${schema}`;
  let statement = texts.get(key);
  if (statement === undefined) {
    const text = statementText(schema, creating);
    // A prepared statement's name: the same text always gets the same one.
    statement = { name: `lifeline_append_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
    texts.set(key, statement);
  }
  // The services a batch both ends and starts stay leased (a row cannot be deleted and upserted
  // in one statement).
  const start = [...new Set(writes.start)];
  const end = writes.end.filter((service) => !start.includes(service));
  const query = CompiledQuery.raw(statement.text, [
    connectionId,
    projection.context.integration,
    projection.state,
    JSON.stringify(projection.stateValue),
    JSON.stringify(projection.context),
    projection.version,
    projection.createdAt,
    projection.updatedAt,
    lastHash,
    expectedVersion,
    JSON.stringify(rows),
    writes.idempotencyKey ?? null,
    end,
    start,
    writes.owner,
    writes.leaseMs,
  ]) as CompiledQuery<{ n: number }>;
  return { name: statement.name, query };
}
