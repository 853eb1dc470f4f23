import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { resolveEncryptionKey } from '../crypto/encryption-key.js';
import { createEngine, type Engine } from '../engine/create-engine.js';
import type { IntegrationConfig } from '../engine/engine-options.js';
import { InvalidCommandError } from '../errors.js';
import { EventStore } from '../store/event-store.js';
import { migrateToLatest } from '../store/migrate.js';
import { type Database, openDatabase, resolveDatabaseUrl } from '../store/open-database.js';
import { createRecordChain, type RecordChain } from '../store/record-chain.js';

/** Options every command takes. */
export interface GlobalOptions {
  database?: string;
  schema?: string;
  functions?: string;
  integrations?: string;
  json?: boolean;
}

/** `--data`-style values: inline JSON, or `@file` holding JSON. */
export function readJsonArgument(value: string, what: string): unknown {
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidCommandError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Opens the store the library would open, migrated; `close()` when done. */
export async function openCliStore(options: GlobalOptions): Promise<{
  database: Database;
  store: EventStore;
  chain: () => RecordChain;
  schema: string;
  close(): Promise<void>;
}> {
  const database = await openDatabase(resolveDatabaseUrl(options.database));
  const schema = options.schema ?? 'lifeline';
  try {
    await migrateToLatest(database.db as unknown as Kysely<unknown>, schema);
  } catch (error) {
    await database.close();
    throw error;
  }
  // The chain key derives from the credentials key: only commands that check hashes need it.
  let chain: RecordChain | undefined;
  const getChain = () => {
    chain ??= createRecordChain(resolveEncryptionKey(undefined, database));
    return chain;
  };
  return {
    database,
    store: new EventStore(database.db, schema, { hash: (prev, r) => getChain().hash(prev, r) }, database.prepared),
    chain: getChain,
    schema,
    close: () => database.close(),
  };
}

/** An engine for commands that run functions (`send`, `dryrun`). */
export async function openCliEngine(options: GlobalOptions, database: Database): Promise<Engine> {
  const folder = options.functions ?? './';
  const functions = options.functions !== undefined || existsSync(join(resolve(folder), 'index.ts')) ? folder : [];
  const integrations =
    (options.integrations ?? process.env.LIFELINE_INTEGRATIONS)
      ? (readJsonArgument(
          (options.integrations ?? process.env.LIFELINE_INTEGRATIONS) as string,
          '--integrations',
        ) as Record<string, IntegrationConfig>)
      : {};
  return createEngine({
    database,
    schema: options.schema ?? 'lifeline',
    functions,
    integrations,
    logger: pino({ level: process.env.LIFELINE_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  });
}
