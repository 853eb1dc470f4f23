#!/usr/bin/env node
/**
 * The `lifeline` command line: read a store's connections and their logs from a terminal.
 *
 *   lifeline migrate                 apply migrations, print what ran
 *   lifeline show <connection-id>    current state, metadata, error, credentials type
 *   lifeline history <connection-id> the connection's log as a timeline
 *
 * Options: --database <url> (else LIFELINE_DATABASE_URL, else the embedded default),
 * --schema <name> (default lifeline), --json. Exit codes: 0 done, 1 failed, 2 usage, 3 not found.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { fold } from '../machines/connection-fold.js';
import { formatTimeline } from './cli/format-timeline.js';
import { toView } from './engine/create-engine.js';
import { isLifelineError } from './errors.js';
import { EventStore, toFoldInput } from './store/event-store.js';
import { migrateToLatest } from './store/migrate.js';
import { openDatabase, resolveDatabaseUrl } from './store/open-database.js';

const USAGE = `usage: lifeline <command> [options]

commands:
  migrate                   apply migrations and print what ran
  show <connection-id>      a connection's state, metadata, error and credentials type
  history <connection-id>   a connection's log, one record per line

options:
  --database <url>   postgres://…, pglite://<dir> or memory:// (default: LIFELINE_DATABASE_URL, else pglite://./.lifeline/data)
  --schema <name>    schema holding lifeline's tables (default: lifeline)
  --json             machine-readable output
  -h, --help         this help
  -v, --version      lifeline's version`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: {
        database: { type: 'string' };
        schema: { type: 'string' };
        json: { type: 'boolean' };
        help: { type: 'boolean'; short: 'h' };
        version: { type: 'boolean'; short: 'v' };
      };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        database: { type: 'string' },
        schema: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    console.log(version());
    return 0;
  }
  const [command, id] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (!['migrate', 'show', 'history'].includes(command) || (command !== 'migrate' && !id)) {
    console.error(
      command === 'migrate' || ['show', 'history'].includes(command)
        ? `${command} needs a connection id\n\n${USAGE}`
        : `unknown command ${command}\n\n${USAGE}`,
    );
    return 2;
  }
  const schema = values.schema ?? 'lifeline';
  const database = await openDatabase(resolveDatabaseUrl(values.database));
  try {
    const ran = await migrateToLatest(database.db as unknown as Kysely<unknown>, schema);
    if (command === 'migrate') {
      if (values.json) console.log(JSON.stringify({ database: database.url, schema, applied: ran }));
      else if (ran.length === 0) console.log(`${database.url} (schema ${schema}) is up to date`);
      else for (const m of ran) console.log(`${m.status === 'Success' ? 'applied' : m.status} ${m.name}`);
      return 0;
    }
    const store = new EventStore(database.db, schema);
    const records = await store.history(id as string);
    if (records.length === 0) {
      console.error(`no connection ${id} in ${database.url} (schema ${schema})`);
      return 3;
    }
    if (command === 'history') {
      if (values.json)
        console.log(
          JSON.stringify(
            records.map(({ connectionId: _, ...r }) => r),
            null,
            2,
          ),
        );
      else console.log(formatTimeline(records));
      return 0;
    }
    const view = toView((await store.load(id as string)) ?? fold(id as string, records.map(toFoldInput)));
    if (values.json) console.log(JSON.stringify(view, null, 2));
    else {
      console.log(`${view.connectionId}  ${view.state}  (${view.integration}, version ${view.version})`);
      console.log(`  credentials  ${view.credentialsType ?? 'none'}`);
      console.log(`  metadata     ${JSON.stringify(view.metadata)}`);
      console.log(`  config       ${JSON.stringify(view.connectionConfig)}`);
      if (view.error)
        console.log(
          `  error        ${view.error.type}${view.error.reason ? ` (${view.error.reason})` : ''}: ${view.error.message}`,
        );
      console.log(
        `  created      ${view.createdAt?.toISOString() ?? '-'}   updated ${view.updatedAt?.toISOString() ?? '-'}`,
      );
    }
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(isLifelineError(error) ? `lifeline: ${error.message} [${error.code}]` : error);
    process.exitCode = 1;
  },
);
