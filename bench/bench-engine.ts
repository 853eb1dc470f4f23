import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createEngine, createOnEvent, type Engine } from '../src/index.js';
import type { BenchDatabase } from './bench-database.js';

/** The integration every benchmark connection uses. */
export const BENCH_INTEGRATION = 'bench';

/** One fixed key per process, so the benchmark can verify what it wrote. */
export const BENCH_KEY = randomBytes(32).toString('base64');

/**
 * An engine on a fresh schema of `bench` with the lifecycle functions: one no-op
 * `validate-connection`, one no-op `post-connection-creation`, one no-op `pre-connection-deletion`.
 * Logging is silent so that the figures are the engine's, not the terminal's.
 */
export async function createBenchEngine(bench: BenchDatabase, label: string): Promise<Engine & { schema: string }> {
  const schema = bench.schema(label);
  const noop = (event: 'validate-connection' | 'post-connection-creation' | 'pre-connection-deletion') => ({
    integration: BENCH_INTEGRATION,
    name: `noop-${event}`,
    definition: createOnEvent({ event, exec: async () => {} }),
  });
  const engine = await createEngine({
    database: bench.database,
    schema,
    encryptionKey: BENCH_KEY,
    logger: pino({ level: 'silent' }),
    integrations: { [BENCH_INTEGRATION]: { baseUrl: 'http://127.0.0.1:9' } },
    functions: [noop('validate-connection'), noop('post-connection-creation'), noop('pre-connection-deletion')],
  });
  return Object.assign(engine, { schema });
}

/** CONNECT for a benchmark connection (an API key: no provider is called). */
export function connectCommand(i: number) {
  return {
    type: 'CONNECT' as const,
    integration: BENCH_INTEGRATION,
    credentials: { type: 'API_KEY' as const, apiKey: `bench-key-${i}` },
    metadata: { tenant: `t-${i % 100}` },
  };
}
