import type { Kysely } from 'kysely';

/**
 * The event log and the connection projection.
 * `lifeline_events` is append-only: (connection_id, version) is the optimistic lock.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lifeline_events')
    .addColumn('position', 'bigint', (c) => c.generatedAlwaysAsIdentity().notNull())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('state_from', 'text')
    .addColumn('state_to', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('machine_version', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('lifeline_events_pkey', ['connection_id', 'version'])
    .execute();
  await db.schema.createIndex('lifeline_events_position').on('lifeline_events').column('position').execute();

  await db.schema
    .createTable('lifeline_connections')
    .addColumn('connection_id', 'text', (c) => c.primaryKey())
    .addColumn('integration', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('state_value', 'jsonb', (c) => c.notNull())
    .addColumn('context', 'jsonb', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('lifeline_connections_state')
    .on('lifeline_connections')
    .columns(['state', 'integration'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lifeline_connections').execute();
  await db.schema.dropTable('lifeline_events').execute();
}
