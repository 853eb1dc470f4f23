import type { Kysely } from 'kysely';

/**
 * Durable function runs and idempotent commands.
 *
 * `lifeline_services`: one row per service (the event functions of one lifecycle step) that a
 * connection is waiting on, written in the same transaction as the record that started it and
 * removed with the record of its outcome. The engine running it renews `lease_until`; when a lease
 * expires (the engine died), another engine claims the row and resumes the lifecycle.
 *
 * `lifeline_idempotency`: an idempotency key, reserved in the transaction of the command it names,
 * with the command's result once known.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lifeline_services')
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('lease_until', 'timestamptz', (c) => c.notNull())
    .addColumn('claims', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('lifeline_services_pkey', ['connection_id', 'service'])
    .execute();
  await db.schema.createIndex('lifeline_services_lease').on('lifeline_services').column('lease_until').execute();

  await db.schema
    .createTable('lifeline_idempotency')
    .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('result', 'jsonb')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lifeline_idempotency').execute();
  await db.schema.dropTable('lifeline_services').execute();
}
