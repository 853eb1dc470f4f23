import type pg from 'pg';

/**
 * What the application sent to the database, counted at the client: each explicit transaction
 * (`begin` … `commit`) and each statement outside one (its own implicit transaction), split into
 * reads and writes. A durable append is a committed transaction that wrote.
 */
export interface StatementCounts {
  /** Explicit transactions committed. */
  commits: number;
  /**
   * Commits that wrote (durable appends): explicit transactions that held an INSERT/UPDATE/DELETE,
   * and writing statements outside one (each its own transaction).
   */
  writeCommits: number;
  /** Of those, the writing statements run outside a transaction (INSERT/UPDATE/DELETE, or WITH …). */
  autocommitWrites: number;
  /** Statements run outside a transaction that only read. */
  autocommitReads: number;
  /** Every statement sent, `begin` and `commit` included (round trips). */
  statements: number;
}

export function zeroCounts(): StatementCounts {
  return { commits: 0, writeCommits: 0, autocommitWrites: 0, autocommitReads: 0, statements: 0 };
}

export function diffCounts(after: StatementCounts, before: StatementCounts): StatementCounts {
  return {
    commits: after.commits - before.commits,
    writeCommits: after.writeCommits - before.writeCommits,
    autocommitWrites: after.autocommitWrites - before.autocommitWrites,
    autocommitReads: after.autocommitReads - before.autocommitReads,
    statements: after.statements - before.statements,
  };
}

const WRITE = /^\s*(insert|update|delete|with[\s\S]*\b(insert|update|delete)\b)/i;

/**
 * Counts the statements of every client `pool` hands out (patching each new client's `query`).
 * Returns the live counts object.
 */
export function countStatements(pool: pg.Pool): StatementCounts {
  const counts = zeroCounts();
  pool.on('connect', (client) => {
    let inTransaction = false;
    let wrote = false;
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
      counts.statements++;
      if (/^\s*begin/i.test(text)) {
        inTransaction = true;
        wrote = false;
      } else if (/^\s*(commit|rollback)/i.test(text)) {
        if (/^\s*commit/i.test(text)) {
          counts.commits++;
          if (wrote) counts.writeCommits++;
        }
        inTransaction = false;
      } else if (inTransaction) {
        if (WRITE.test(text)) wrote = true;
      } else if (WRITE.test(text)) {
        counts.autocommitWrites++;
        counts.writeCommits++;
      } else counts.autocommitReads++;
      return original(...args);
    };
  });
  return counts;
}
