/**
 * An engine in its own process, for crash and concurrency tests. Configured by one JSON argument:
 *
 * - `{ mode: 'hang', database, schema, key, at: 'validate' | 'setup' | 'cleanup' }`: drives
 *   connection `crash-<at>` until the function for `at` runs, prints `RUNNING <at>`, and hangs
 *   there (the test SIGKILLs it);
 * - `{ mode: 'load', database, schema, key, seed, commands, connections }`: sends random commands
 *   to overlapping connections and prints a JSON summary.
 */
import { pino } from 'pino';
import { type Command, createEngine, createOnEvent, type LoadedFunction } from '../../src/index.js';

const config = JSON.parse(process.argv[2] as string) as {
  mode: 'hang' | 'load';
  database: string;
  schema: string;
  key: string;
  at?: 'validate' | 'setup' | 'cleanup';
  seed?: number;
  commands?: number;
  connections?: number;
};

const hangAt = (at: string) => async () => {
  if (config.mode === 'hang' && config.at === at) {
    process.stdout.write(`RUNNING ${at}\n`);
    await new Promise(() => {});
  }
};
const functions: LoadedFunction[] = [
  {
    integration: 'sf',
    name: 'check',
    definition: createOnEvent({ event: 'validate-connection', exec: hangAt('validate') }),
  },
  {
    integration: 'sf',
    name: 'setup',
    definition: createOnEvent({ event: 'post-connection-creation', exec: hangAt('setup') }),
  },
  {
    integration: 'sf',
    name: 'cleanup',
    definition: createOnEvent({ event: 'pre-connection-deletion', exec: hangAt('cleanup') }),
  },
];

const engine = await createEngine({
  database: config.database,
  schema: config.schema,
  encryptionKey: config.key,
  functions,
  logger: pino({ level: 'silent' }),
  leaseMs: 1000,
  recoveryIntervalMs: 200,
  retry: { baseMs: 10, capMs: 50 },
});
const credentials = { type: 'API_KEY' as const, apiKey: 'key-crash-test' };

if (config.mode === 'hang') {
  const id = `crash-${config.at}`;
  await engine.send(id, { type: 'CONNECT', integration: 'sf', credentials });
  await engine.settled();
  await engine.send(id, { type: 'DELETE' });
} else {
  // A small deterministic PRNG, so a failing run can be repeated from its seed.
  let state = (config.seed ?? 1) >>> 0;
  const random = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < (config.commands ?? 100); i++) {
    const id = `load-${Math.floor(random() * (config.connections ?? 8))}`;
    const pick = random();
    const command: Command =
      pick < 0.3
        ? { type: 'CONNECT', integration: 'sf', credentials }
        : pick < 0.5
          ? { type: 'RECONNECT', credentials }
          : pick < 0.6
            ? { type: 'REFRESH_FAILED' }
            : pick < 0.85
              ? { type: 'DELETE' }
              : ({ type: 'METADATA' } as never);
    try {
      if ((command as { type: string }).type === 'METADATA') await engine.updateMetadata(id, { [`k${i % 5}`]: i });
      else await engine.send(id, command);
      outcomes.accepted = (outcomes.accepted ?? 0) + 1;
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'unexpected';
      outcomes[code] = (outcomes[code] ?? 0) + 1;
      if (!['command_refused', 'connection_not_found'].includes(code)) {
        process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
      }
    }
  }
  await engine.settled();
  await engine.close();
  process.stdout.write(`${JSON.stringify({ done: true, outcomes })}\n`);
}
