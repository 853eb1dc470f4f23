import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compiledConnectionMachine } from '../../machines/compiled-machine.js';
import type { ConnectionEvent, FunctionEventName } from '../../machines/connection-events.js';
import { type ConnectionProjection, emptyProjection, type FoldInput, fold } from '../../machines/connection-fold.js';
import type { ConnectionContext } from '../../machines/connection-machine.js';
import { xstateAccepts as accepts, xstateEvolve as evolve } from '../../machines/xstate-evolve.js';

/**
 * The compiled table (`machines/compiled-machine.ts`) against XState itself: random event
 * sequences are stepped through `xstateEvolve` (XState's `transition()`) and through the compiled
 * machine. They must agree on whether each event is accepted, and after each accepted one on the
 * state, the context and the services started; `fold` over the log so far (the compiled replay)
 * must equal `xstateEvolve`'s projection, and fail with its error on an event it does not accept.
 *
 * Events are generated from the state reached: most are among those XState accepts there (so the
 * runs go deep: reconnects, deletes during setup, cleanup), the rest are any event, often stale —
 * an old validation number, an unknown run id. Every cell of the table — (leaf state, event type,
 * candidate), eventless transitions included — must be taken at least once over the runs, so the
 * property cannot hold vacuously.
 *
 * Pure: no engine, no database. `LIFELINE_PROPERTY_RUNS` scales the runs (12 per unit, at least 300).
 */

// Never fewer than 300 runs: fewer would not take every cell of the table reliably.
const RUNS = Math.max(300, Number(process.env.LIFELINE_PROPERTY_RUNS ?? 25) * 12);

const TYPES = [
  'CONNECT',
  'RECONNECT',
  'REFRESH_FAILED',
  'DELETE',
  'METADATA_SET',
  'METADATA_UPDATED',
  'VALIDATION_STARTED',
  'VALIDATION_PASSED',
  'VALIDATION_FAILED',
  'SETUP_FINISHED',
  'CLEANUP_FINISHED',
  'RUN_STARTED',
  'RUN_SUCCEEDED',
  'RUN_FAILED',
  'RUN_TIMED_OUT',
  'RUN_ABANDONED',
  'OUTCOME_IGNORED',
] as const satisfies readonly ConnectionEvent['type'][];

const RUN_IDS = ['run-1', 'run-2', 'run-3'];
const FUNCTION_EVENTS: FunctionEventName[] = [
  'validate-connection',
  'post-connection-creation',
  'pre-connection-deletion',
];
const runError = { type: 'execution_timeout' as const, message: 'timed out' };

/** An event of `type` for a connection with `context`; `variant` picks among current and stale forms. */
function eventOf(type: (typeof TYPES)[number], context: ConnectionContext, variant: number): ConnectionEvent {
  const pick = <T>(options: readonly T[]): T => options[variant % options.length] as T;
  const credentials = { type: pick(['OAUTH2', 'API_KEY', 'BASIC'] as const), ciphertext: `v1:sealed-${variant}` };
  const metadata = pick([{}, { plan: variant % 5 }, { a: variant, b: [variant] }, { nested: { x: variant } }]);
  // Mostly a run that was started (its outcome is accepted), else any (perhaps unknown).
  const known = Object.keys(context.runs);
  const runId = known.length > 0 && variant % 4 !== 0 ? pick(known) : pick(RUN_IDS);
  // Current, stale or not yet started: only the current one is accepted.
  const validation = context.validation + pick([0, 0, -1, 1]);
  switch (type) {
    case 'CONNECT':
      return {
        type,
        integration: pick(['sf', 'hubspot']),
        credentials,
        connectionConfig: pick([{}, { region: 'eu' }]),
        metadata,
      };
    case 'RECONNECT':
      return variant % 2 ? { type, credentials } : { type, credentials, connectionConfig: { region: `r${variant}` } };
    case 'REFRESH_FAILED':
      return variant % 2 ? { type } : { type, message: `expired ${variant}` };
    case 'DELETE':
      return { type };
    case 'METADATA_SET':
      return { type, metadata, writer: pick(['app', 'function:sf/check']), ...(variant % 3 ? {} : { dropped: ['x'] }) };
    case 'METADATA_UPDATED':
      return { type, metadata, writer: pick(['app', 'function:sf/setup', 'function:sf/check']) };
    case 'VALIDATION_STARTED':
      return { type, functions: ['check'] };
    case 'VALIDATION_PASSED':
      return { type, validation };
    case 'VALIDATION_FAILED':
      return { type, validation, error: { type: 'action_script_runtime_error', message: 'no', function: 'check' } };
    case 'SETUP_FINISHED':
    case 'CLEANUP_FINISHED':
      return { type, failed: variant % 2 ? [] : ['hook'] };
    case 'RUN_STARTED':
      return { type, runId, event: pick(FUNCTION_EVENTS), function: 'check', attempt: 1 + (variant % 2) };
    case 'RUN_SUCCEEDED':
      return { type, runId, function: 'check', durationMs: variant };
    case 'RUN_FAILED':
    case 'RUN_TIMED_OUT':
      return { type, runId, function: 'check', durationMs: variant, error: runError };
    case 'RUN_ABANDONED':
      return { type, runId, function: 'check', reason: 'lease lost' };
    case 'OUTCOME_IGNORED':
      return { type, ignored: { type: 'VALIDATION_PASSED', validation }, reason: 'superseded' };
  }
}

/**
 * Which kind of event a step sends: a lifecycle one (commands, validation and cleanup outcomes),
 * a run's record, or another fact (metadata, setup finished, ignored outcomes). Runs and facts
 * mostly leave the state as it is, so a sequence stays a while in each state it reaches.
 */
const KIND_OF = (type: string) =>
  type.startsWith('RUN_')
    ? 'run'
    : ['METADATA_SET', 'METADATA_UPDATED', 'SETUP_FINISHED', 'OUTCOME_IGNORED'].includes(type)
      ? 'fact'
      : 'lifecycle';

/** One generated step: an event XState accepts in the state reached (most of the time), or any. */
const choice = fc.record({
  acceptedOnly: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
  kind: fc.constantFrom('lifecycle', 'run', 'fact'),
  type: fc.nat(),
  variant: fc.nat({ max: 1000 }),
});
type Choice = { acceptedOnly: boolean; kind: string; type: number; variant: number };

/** Cells of the table taken over all runs. */
const taken = new Map<string, number>();
const counts = { accepted: 0, refused: 0 };

function run(choices: Choice[]) {
  const { step, initial } = compiledConnectionMachine;
  let projection: ConnectionProjection = emptyProjection('conn');
  let state = initial.state;
  let context = initial.context;
  const log: FoldInput[] = [];
  for (const [i, c] of choices.entries()) {
    const candidates = TYPES.map((type) => eventOf(type, projection.context, c.variant));
    const acceptable = (events: ConnectionEvent[]) =>
      c.acceptedOnly ? events.filter((e) => accepts(projection, e)) : events;
    const ofKind = acceptable(candidates.filter((e) => KIND_OF(e.type) === c.kind));
    const pool = ofKind.length > 0 ? ofKind : acceptable(candidates);
    const event = pool[c.type % pool.length] as ConnectionEvent;
    const input: FoldInput = { version: log.length + 1, event, at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)) };

    const compiled = step(state, context, event);
    const accepted = accepts(projection, event);
    expect(compiled !== undefined, `${event.type} in ${JSON.stringify(state.value)}`).toBe(accepted);
    if (!compiled) {
      counts.refused++;
      const xstateError = catchError(() => evolve(projection, input));
      expect(xstateError).toMatch(/is not accepted in state/);
      expect(catchError(() => fold('conn', [...log, input]))).toBe(xstateError);
      continue;
    }
    counts.accepted++;
    const next = evolve(projection, input);
    expect(compiled.state.value).toStrictEqual(next.projection.stateValue);
    expect(compiled.context).toStrictEqual(next.projection.context);
    expect(compiled.services).toStrictEqual(next.services);
    for (const t of compiled.taken) taken.set(t.key, (taken.get(t.key) ?? 0) + 1);
    projection = next.projection;
    ({ state, context } = compiled);
    log.push(input);
    expect(fold('conn', log)).toStrictEqual(projection);
  }
}

function catchError(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('compiled replay equals XState', () => {
  it('agrees with XState on acceptance, state, context, services and the folded projection, taking every cell of the table', () => {
    fc.assert(
      fc.property(fc.array(choice, { minLength: 1, maxLength: 120, size: 'max' }), (choices) => run(choices)),
      { numRuns: RUNS },
    );
    expect(counts.refused, 'stale and unexpected events were tried').toBeGreaterThan(RUNS);
    const missing = compiledConnectionMachine.transitions.map((t) => t.key).filter((key) => !taken.has(key));
    expect(missing, 'cells of the table never taken').toEqual([]);
  }, 120_000);

  it('folds the empty log to the empty projection', () => {
    expect(fold('conn', [])).toStrictEqual(emptyProjection('conn'));
  });
});
