import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import type { Kysely } from 'kysely';
import pc from 'picocolors';
import { fold } from '../../machines/connection-fold.js';
import { type DiagramFormat, machineDiagram } from '../diagram/machine-diagram.js';
import { type ConnectionView, toView, verifyStore } from '../engine/create-engine.js';
import { isLifelineError } from '../errors.js';
import { startInspectorRelay } from '../inspect/inspector-relay.js';
import { createLogInspector } from '../inspect/log-inspector.js';
import { toFoldInput } from '../store/event-store.js';
import { migrateToLatest } from '../store/migrate.js';
import { openDatabase, resolveDatabaseUrl } from '../store/open-database.js';
import { type GlobalOptions, openCliEngine, openCliStore, readJsonArgument } from './cli-store.js';
import { formatTimeline, type Paint, plain } from './format-timeline.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, refused: 4, mismatch: 5, functionFailed: 6 } as const;

class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** lifeline's version, from the nearest package.json above this file (src/ or dist/src/). */
function version(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'lifeline') return pkg.version;
    } catch {
      // no package.json here: keep looking upwards
    }
  }
  return 'unknown';
}

const paint = (): Paint => (pc.createColors(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR) as Paint) ?? plain;
const print = (text: string) => process.stdout.write(`${text}\n`);
const json = (value: unknown) => print(JSON.stringify(value, null, 2));

function viewLines(view: ConnectionView, p: Paint): string[] {
  const lines = [
    `${p.bold(view.connectionId)}  ${view.state === 'active' ? p.green(view.state) : view.state === 'deleted' ? p.dim(view.state) : p.yellow(view.state)}  (${view.integration}, version ${view.version})`,
    `  credentials  ${view.credentialsType ?? 'none'}`,
    `  metadata     ${JSON.stringify(view.metadata)}`,
    `  config       ${JSON.stringify(view.connectionConfig)}`,
  ];
  if (view.error) {
    lines.push(
      `  error        ${p.red(`${view.error.type}${view.error.reason ? ` (${view.error.reason})` : ''}: ${view.error.message}`)}`,
    );
  }
  lines.push(
    `  created      ${view.createdAt?.toISOString() ?? '-'}`,
    `  updated      ${view.updatedAt?.toISOString() ?? '-'}`,
  );
  return lines;
}

/** Parses `--at`: a version number or an ISO time. */
function parseAt(at: string): { toVersion: number } | { at: Date } {
  if (/^\d+$/.test(at)) return { toVersion: Number(at) };
  const time = new Date(at);
  if (Number.isNaN(time.getTime())) throw new Exit(EXIT.usage, `--at takes a version or an ISO time, not ${at}`);
  return { at: time };
}

export function buildProgram(): Command {
  const program = new Command('lifeline')
    .description('Audit, replay and drive lifeline connections from the terminal.')
    .version(version(), '-v, --version')
    .option(
      '--database <url>',
      'postgres://…, pglite://<dir> or memory:// (default: LIFELINE_DATABASE_URL, else pglite://./.lifeline/data)',
    )
    .option('--schema <name>', "schema holding lifeline's tables", 'lifeline')
    .option('--functions <dir>', 'functions folder with index.ts (default: ./ when it has one)')
    .option('--integrations <json|@file>', 'integrations config as JSON (default: LIFELINE_INTEGRATIONS)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  /** Opens the store the options name for `work`, and closes it whatever happens. */
  const withStore = async (work: (opened: Awaited<ReturnType<typeof openCliStore>>) => Promise<void>) => {
    const opened = await openCliStore(globals());
    try {
      await work(opened);
    } finally {
      await opened.close();
    }
  };

  program
    .command('migrate')
    .description('apply migrations and print what ran')
    .action(async () => {
      const { schema = 'lifeline', database: url } = globals();
      const db = await openDatabase(resolveDatabaseUrl(url));
      try {
        const ran = await migrateToLatest(db.db as unknown as Kysely<unknown>, schema);
        if (globals().json) json({ database: db.url, schema, applied: ran });
        else if (ran.length === 0) print(`${db.url} (schema ${schema}) is up to date`);
        else for (const m of ran) print(`${m.status === 'Success' ? 'applied' : m.status} ${m.name}`);
      } finally {
        await db.close();
      }
    });

  program
    .command('connections')
    .description('a table of connections')
    .option('--state <state>', 'only this state')
    .option('--integration <id>', 'only this integration')
    .action(async (opts: { state?: string; integration?: string }) => {
      await withStore(async ({ store }) => {
        const rows: ConnectionView[] = [];
        let after: string | null = null;
        for (;;) {
          const page = await store.projections(after, 500, opts);
          if (page.length === 0) break;
          rows.push(...page.map(toView));
          after = page.at(-1)?.connectionId as string;
        }
        if (globals().json) {
          json(rows);
          return;
        }
        const table = [['CONNECTION', 'INTEGRATION', 'STATE', 'VERSION', 'UPDATED', 'ERROR']].concat(
          rows.map((r) => [
            r.connectionId,
            r.integration ?? '',
            r.state,
            String(r.version),
            r.updatedAt?.toISOString() ?? '',
            r.error?.message ?? '',
          ]),
        );
        const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
        for (const row of table)
          print(
            row
              .map((cell, i) => cell.padEnd(widths[i] ?? 0))
              .join('  ')
              .trimEnd(),
          );
        if (rows.length === 0) print(paint().dim('(no connections)'));
      });
    });

  program
    .command('show <connection-id>')
    .description('current state, metadata, error and credentials type (never the secret)')
    .action(async (id: string) => {
      await withStore(async ({ store }) => {
        const p = await store.load(id);
        if (!p) throw new Exit(EXIT.notFound, `no connection ${id}`);
        const view = toView(p);
        if (globals().json) json(view);
        else print(viewLines(view, paint()).join('\n'));
      });
    });

  program
    .command('history <connection-id>')
    .description('a timeline: commands, function runs with outcome and logs, state changes, metadata diffs')
    .action(async (id: string) => {
      await withStore(async ({ store }) => {
        const records = await store.history(id);
        if (records.length === 0) throw new Exit(EXIT.notFound, `no connection ${id}`);
        if (globals().json) json(records.map(({ connectionId: _, prevHash: __, ...r }) => r));
        else print(formatTimeline(records, paint()));
      });
    });

  program
    .command('replay <connection-id>')
    .description('the state as it was at a version or a time, rebuilt from the log')
    .option('--at <version|time>', 'a version number or an ISO time (default: now)')
    .action(async (id: string, opts: { at?: string }) => {
      await withStore(async ({ store }) => {
        const records = await store.history(id, opts.at ? parseAt(opts.at) : {});
        if (records.length === 0)
          throw new Exit(EXIT.notFound, `no connection ${id}${opts.at ? ` at ${opts.at}` : ''}`);
        const view = toView(fold(id, records.map(toFoldInput)));
        if (globals().json) json(view);
        else print(viewLines(view, paint()).join('\n'));
      });
    });

  program
    .command('verify [connection-ids...]')
    .description('replay every (or the named) connection; check it against the projection and the hash chain')
    .action(async (ids: string[]) => {
      await withStore(async ({ store, chain }) => {
        const total = ids.length > 0 ? ids.length : await store.countConnections();
        const bar =
          process.stderr.isTTY && !globals().json
            ? new SingleBar({
                format: 'verifying {bar} {value}/{total} connections',
                stream: process.stderr,
                hideCursor: true,
              })
            : null;
        bar?.start(total, 0);
        const report = await verifyStore(store, chain(), ids.length > 0 ? ids : undefined, {
          onProgress: (checked) => bar?.update(checked),
        });
        bar?.stop();
        if (globals().json) json(report);
        else {
          const p = paint();
          for (const m of report.mismatches) {
            print(
              p.red(`✗ ${m.connectionId}${m.version === undefined ? '' : ` v${m.version}`} ${m.problem}: ${m.message}`),
            );
          }
          const summary = `${report.connections} connections, ${report.records} records checked`;
          print(
            report.mismatches.length === 0
              ? p.green(`✓ ${summary}: the log is intact`)
              : p.red(`${summary}: ${report.mismatches.length} mismatches`),
          );
        }
        if (report.mismatches.length > 0) throw new Exit(EXIT.mismatch, '');
      });
    });

  program
    .command('send <connection-id> <type>')
    .description('send a command (CONNECT, RECONNECT, REFRESH_FAILED, DELETE), running the functions')
    .option('--data <json|@file>', "the command's fields as JSON, or @file")
    .action(async (id: string, type: string, opts: { data?: string }) => {
      const data = opts.data ? readJsonArgument(opts.data, '--data') : {};
      if (typeof data !== 'object' || data === null || Array.isArray(data))
        throw new Exit(EXIT.usage, '--data must be a JSON object');
      await withStore(async ({ database }) => {
        const engine = await openCliEngine(globals(), database);
        try {
          const result = await engine.send(id, { ...(data as object), type } as never);
          await engine.settled();
          if (globals().json) json(result);
          else
            print(
              `${result.connectionId} → ${result.state} (version ${result.version})${result.error ? `: ${result.error.message}` : ''}`,
            );
        } finally {
          await engine.close();
        }
      });
    });

  program
    .command('dryrun <function-name> <connection-id>')
    .description('run one function against an existing connection (real provider calls); stores nothing unless --save')
    .option('-e, --environment <name>', 'environmentName for the run')
    .option('--integration-id <id>', "the function's integration (default: the connection's)")
    .option('--metadata <json|@file>', 'start from this metadata instead of the stored one')
    .option('--save', "store the run's metadata writes")
    .action(
      async (
        name: string,
        id: string,
        opts: { environment?: string; integrationId?: string; metadata?: string; save?: boolean },
      ) => {
        const metadata = opts.metadata ? readJsonArgument(opts.metadata, '--metadata') : undefined;
        if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
          throw new Exit(EXIT.usage, '--metadata must be a JSON object');
        }
        await withStore(async ({ database }) => {
          const engine = await openCliEngine(globals(), database);
          try {
            const run = await engine.dryrun(name, id, {
              ...(opts.environment ? { environment: opts.environment } : {}),
              ...(opts.integrationId ? { integration: opts.integrationId } : {}),
              ...(metadata ? { metadata: metadata as Record<string, unknown> } : {}),
              ...(opts.save ? { save: true } : {}),
            });
            if (globals().json) json(run);
            else {
              const p = paint();
              print(
                `${p.bold(`${run.integration}/${run.function}`)} (${run.event}) on ${run.connectionId}${opts.save ? '' : p.dim(' — dry run, nothing stored')}`,
              );
              for (const l of run.logs) print(p.dim(`  │ ${l.level}: ${l.message}`));
              for (const c of run.calls) {
                print(
                  `  ${c.method} ${c.endpoint} → ${c.status ?? ''}${c.error ? p.red(` ${c.error}`) : ''} (${c.durationMs} ms)`,
                );
              }
              for (const w of run.metadataWrites) {
                print(
                  `  ${w.kind === 'set' ? 'setMetadata' : 'updateMetadata'} ${JSON.stringify(w.metadata)}${run.saved ? ' (saved)' : ''}`,
                );
              }
              print(
                run.error
                  ? p.red(`✗ ${run.outcome} after ${run.durationMs} ms: ${run.error.type}: ${run.error.message}`)
                  : p.green(`✓ succeeded in ${run.durationMs} ms`),
              );
            }
            if (run.error) throw new Exit(EXIT.functionFailed, '');
          } finally {
            await engine.close();
          }
        });
      },
    );

  program
    .command('diagram')
    .description('the connection machine as Mermaid, Graphviz DOT, or JSON for the Stately editor')
    .addOption(new Option('--format <format>', 'output format').choices(['mermaid', 'dot', 'json']).default('mermaid'))
    .action((opts: { format: DiagramFormat }) => {
      process.stdout.write(machineDiagram(opts.format));
    });

  program
    .command('inspect [connection-id]')
    .description('stream to the Stately inspector: a connection replayed step by step, or the live log')
    .option('--port <port>', 'loopback port of the inspector relay (default: any free port)', '0')
    .option('--delay <ms>', 'pause between replayed records', '500')
    .option('--interval <ms>', 'how often to poll the log when following', '500')
    .option('--ui-url <url>', 'the Stately inspector UI the relay page embeds')
    .action(async (id: string | undefined, opts: { port: string; delay: string; interval: string; uiUrl?: string }) => {
      const { store, close } = await openCliStore(globals());
      const relay = await startInspectorRelay({
        port: Number(opts.port),
        ...(opts.uiUrl ? { uiUrl: opts.uiUrl } : {}),
      });
      const inspector = createLogInspector(relay.url);
      print(`inspector relay ${relay.url} — open ${relay.pageUrl} in a browser (Ctrl-C to stop)`);
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      let stopped = false;
      void stop.then(() => {
        stopped = true;
      });
      const sleep = (ms: number) => Promise.race([new Promise((r) => setTimeout(r, ms)), stop]);
      try {
        if (id) {
          const records = await store.history(id);
          if (records.length === 0) throw new Exit(EXIT.notFound, `no connection ${id}`);
          for (const record of records) {
            if (stopped) break;
            inspector.feed(record);
            print(`v${record.version} ${record.type} → ${record.to}`);
            await sleep(Number(opts.delay));
          }
          print('replayed; the relay keeps serving until Ctrl-C');
          await stop;
        } else {
          let position = await store.headPosition();
          print(`following the log from position ${position}`);
          while (!stopped) {
            for (const record of await store.since(position, 500)) {
              if (!inspector.has(record.connectionId) && record.version > 1) {
                for (const earlier of await store.history(record.connectionId, { toVersion: record.version - 1 }))
                  inspector.feed(earlier);
              }
              inspector.feed(record);
              print(`${record.connectionId} v${record.version} ${record.type} → ${record.to}`);
              position = record.position;
            }
            await sleep(Number(opts.interval));
          }
        }
      } finally {
        await inspector.close();
        await relay.close();
        await close();
      }
    });

  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 || error.code === 'commander.version' || error.code === 'commander.helpDisplayed'
        ? EXIT.ok
        : EXIT.usage;
    }
    if (error instanceof Exit) {
      if (error.message) process.stderr.write(`lifeline: ${error.message}\n`);
      return error.code;
    }
    if (isLifelineError(error)) {
      process.stderr.write(`lifeline: ${error.message} [${error.code}]\n`);
      if (error.code === 'invalid_command' || error.code === 'invalid_configuration') return EXIT.usage;
      if (error.code === 'command_refused') return EXIT.refused;
      if (error.code === 'connection_not_found') return EXIT.notFound;
      return EXIT.failed;
    }
    process.stderr.write(`lifeline: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT.failed;
  }
}
