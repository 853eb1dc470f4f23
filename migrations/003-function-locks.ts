import { type Kysely, sql } from 'kysely';

/**
 * Locks taken by event functions (`nango.tryAcquireLock`), shared by every engine on the database.
 * One row per held lock: (environment, key) is unique; `owner` is the run that holds it until
 * `expires_at` (database time) or its release.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lifeline_function_locks')
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('connection_id', 'text')
    .addColumn('acquired_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('lifeline_function_locks_pkey', ['environment', 'key'])
    .execute();
  await db.schema.createIndex('lifeline_function_locks_owner').on('lifeline_function_locks').column('owner').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('lifeline_function_locks').execute();
}
