import { type Kysely, sql } from 'kysely';

/**
 * Locks that event functions take with `nango.tryAcquireLock`, kept in PostgreSQL
 * (`lifeline_function_locks`, migration 003) so every engine process on the database sees them.
 * A lock belongs to one run (its owner) until it is released, the run ends, or its TTL passes.
 * Times come from the database clock, so processes need not agree on theirs.
 *
 * @example
 * const locks = createLockStore(db, 'lifeline');
 * await locks.tryAcquire({ environment: 'dev', key: 'webhook', owner: runId, ttlMs: 60_000 }); // true
 */
export interface LockStore {
  /** Takes `key` for `owner`, or refreshes its TTL when `owner` holds it already. */
  tryAcquire(lock: {
    environment: string;
    key: string;
    owner: string;
    ttlMs: number;
    connectionId?: string;
  }): Promise<boolean>;
  release(lock: { environment: string; key: string; owner: string }): Promise<boolean>;
  /** Releases everything `owner` holds; resolves to how many. */
  releaseAll(owner: string): Promise<number>;
}

export function createLockStore(db: Kysely<any>, schema: string): LockStore {
  const table = sql.table(`${schema}.lifeline_function_locks`);
  return {
    async tryAcquire({ environment, key, owner, ttlMs, connectionId }) {
      const result = await sql<{ key: string }>`
        insert into ${table} as l (environment, key, owner, connection_id, acquired_at, expires_at)
        values (${environment}, ${key}, ${owner}, ${connectionId ?? null}, now(),
                now() + interval '1 millisecond' * ${ttlMs}::double precision)
        on conflict (environment, key) do update
          set owner = excluded.owner, connection_id = excluded.connection_id,
              acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
          where l.owner = excluded.owner or l.expires_at <= now()
        returning l.key`.execute(db);
      return result.rows.length > 0;
    },
    async release({ environment, key, owner }) {
      const result = await sql<{ key: string }>`
        delete from ${table} where environment = ${environment} and key = ${key} and owner = ${owner}
        returning key`.execute(db);
      return result.rows.length > 0;
    },
    async releaseAll(owner) {
      const result = await sql<{ key: string }>`delete from ${table} where owner = ${owner} returning key`.execute(db);
      return result.rows.length;
    },
  };
}
