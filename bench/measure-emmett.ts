import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { inFlight } from './stats.js';

/** One run of the peer: Emmett appending lifecycle-shaped streams. */
export interface EmmettRun {
  streams: number;
  concurrency: number;
  eventsPerStream: number;
  appendsPerStream: number;
  elapsedMs: number;
  streamsPerSecond: number;
  appendsPerSecond: number;
  eventsPerSecond: number;
}

/** `events` spread over `appends` appends as evenly as a lifecycle spreads them (12 in 5: 3, 3, 2, 2, 2). */
export function lifecycleShape(events: number, appends: number): number[] {
  const n = Math.max(1, appends);
  return Array.from({ length: n }, (_, i) => Math.floor(events / n) + (i < events % n ? 1 : 0));
}

/**
 * The peer event store on the same PostgreSQL: `@event-driven-io/emmett-postgresql` appends to
 * `streams` streams, each receiving the lifecycle's events in the lifecycle's number of appends,
 * each append with its expected stream version (the same optimistic lock lifeline takes), with
 * `concurrency` streams in flight. Emmett's tables live in their own schema (via `search_path`),
 * dropped after.
 */
export async function measureEmmett(
  url: string,
  schema: string,
  streams: number,
  concurrency: number,
  shape: number[],
): Promise<EmmettRun> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const separator = url.includes('?') ? '&' : '?';
  const store = getPostgreSQLEventStore(`${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`);
  try {
    // Schema creation (Emmett migrates on first use) stays out of the timing.
    await store.appendToStream('warm-up', [{ type: 'WarmedUp', data: {} }]);
    const eventsPerStream = shape.reduce((a, b) => a + b, 0);
    const started = performance.now();
    await inFlight(streams, concurrency, async (i) => {
      const stream = `conn-${concurrency}-${i}`;
      let version = 0n;
      let n = 0;
      for (const size of shape) {
        const events = Array.from({ length: size }, () => ({
          type: 'RunSucceeded',
          data: { runId: `${stream}-${n}`, function: 'noop', durationMs: 0, step: n++ },
        }));
        const result = await store.appendToStream(stream, events, {
          expectedStreamVersion: version === 0n ? 'STREAM_DOES_NOT_EXIST' : version,
        });
        version = result.nextExpectedStreamVersion;
      }
    });
    const elapsedMs = performance.now() - started;
    const perSecond = (n: number) => (n / elapsedMs) * 1000;
    return {
      streams,
      concurrency,
      eventsPerStream,
      appendsPerStream: shape.length,
      elapsedMs,
      streamsPerSecond: perSecond(streams),
      appendsPerSecond: perSecond(streams * shape.length),
      eventsPerSecond: perSecond(streams * eventsPerStream),
    };
  } finally {
    await store.close();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}
