import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import * as eventLog from '../../migrations/001-event-log.js';
import * as tamperEvidence from '../../migrations/002-tamper-evidence.js';
import * as functionLocks from '../../migrations/003-function-locks.js';
import * as serviceLeases from '../../migrations/004-service-leases.js';

/** Every migration, in order. Adding one means adding a file in `migrations/` and a line here. */
export const migrations: Record<string, Migration> = {
  '001-event-log': eventLog,
  '002-tamper-evidence': tamperEvidence,
  '003-function-locks': functionLocks,
  '004-service-leases': serviceLeases,
};

export interface MigrationOutcome {
  name: string;
  status: 'Success' | 'Error' | 'NotExecuted';
}

// 3F000: Kysely's migrator lists the tables of every schema, and fails when another process
// drops a schema while it reads the catalog.
const RACE_CODES = new Set(['23505', '42P06', '42P07', '3F000']);

/**
 * Brings `schema` up to date. Idempotent. Safe when several processes start at once: Kysely's
 * migration lock serialises the migrations themselves, and the races it leaves (creating the
 * schema and the bookkeeping tables the first time, another schema dropped while the migrator
 * reads the catalog) are retried.
 */
export async function migrateToLatest(db: Kysely<unknown>, schema: string): Promise<MigrationOutcome[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
      const migrator = new Migrator({
        db: db.withSchema(schema),
        migrationTableSchema: schema,
        provider: { getMigrations: async () => migrations },
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error;
      return (results ?? []).map((r) => ({ name: r.migrationName, status: r.status }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 5 || !code || !RACE_CODES.has(code)) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
