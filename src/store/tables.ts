import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of lifeline's tables (created by `migrations/`). */
export interface EventsTable {
  position: Generated<string>;
  connection_id: string;
  version: number;
  type: string;
  data: ColumnType<Record<string, unknown>, string, never>;
  state_from: string | null;
  state_to: string;
  at: ColumnType<Date, Date, never>;
  machine_version: string;
  prev_hash: string | null;
  hash: string | null;
}

export interface ConnectionsTable {
  connection_id: string;
  integration: string | null;
  state: string;
  state_value: ColumnType<unknown, string, string>;
  context: ColumnType<Record<string, unknown>, string, string>;
  version: number;
  created_at: Date | null;
  updated_at: Date | null;
  last_hash: string | null;
}

export interface ServicesTable {
  connection_id: string;
  service: string;
  owner: string;
  lease_until: Date;
  claims: Generated<number>;
}

export interface IdempotencyTable {
  idempotency_key: string;
  connection_id: string;
  version: number;
  result: ColumnType<Record<string, unknown> | null, string | null, string | null>;
}

export interface Tables {
  lifeline_services: ServicesTable;
  lifeline_idempotency: IdempotencyTable;
  lifeline_events: EventsTable;
  lifeline_connections: ConnectionsTable;
}
