import type { Kysely } from 'kysely';

/**
 * Tamper evidence: each record carries a keyed hash of its content and of the previous record of
 * its connection; the projection keeps the last one, so a removed tail is noticed too.
 * Records written before this migration have no hash and are reported by `verify`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('lifeline_events').addColumn('prev_hash', 'text').execute();
  await db.schema.alterTable('lifeline_events').addColumn('hash', 'text').execute();
  await db.schema.alterTable('lifeline_connections').addColumn('last_hash', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('lifeline_connections').dropColumn('last_hash').execute();
  await db.schema.alterTable('lifeline_events').dropColumn('hash').execute();
  await db.schema.alterTable('lifeline_events').dropColumn('prev_hash').execute();
}
