import { describe, expect, it } from 'vitest';
import {
  type AnyStateMachine,
  and,
  assign,
  type EventObject,
  fromPromise,
  initialTransition,
  not,
  or,
  raise,
  setup,
  spawnChild,
  stateIn,
  transition,
} from 'xstate';
import { compiledConnectionMachine, compileMachine } from '../../machines/compiled-machine.js';
import type { ConnectionEvent, SealedCredentials } from '../../machines/connection-events.js';
import { emptyProjection, type FoldInput, fold } from '../../machines/connection-fold.js';
import { xstateEvolve as evolve } from '../../machines/xstate-evolve.js';

const creds = (n: number): SealedCredentials => ({ type: 'OAUTH2', ciphertext: `v1:sealed-${n}` });
const CONNECT: ConnectionEvent = {
  type: 'CONNECT',
  integration: 'sf',
  credentials: creds(1),
  connectionConfig: {},
  metadata: { plan: 'pro' },
};
const STARTED: ConnectionEvent = { type: 'VALIDATION_STARTED', functions: ['check'] };

/** The records, numbered from 1, one second apart. */
const records = (...events: ConnectionEvent[]): FoldInput[] =>
  events.map((event, i) => ({ version: i + 1, event, at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)) }));

/** Steps the compiled connection machine through `events` (all of which must be accepted). */
function given(...events: ConnectionEvent[]) {
  const { initial, step } = compiledConnectionMachine;
  let at = { state: initial.state, context: initial.context };
  for (const event of events) {
    const next = step(at.state, at.context, event);
    if (!next) throw new Error(`${event.type} not accepted in ${JSON.stringify(at.state.value)}`);
    at = next;
  }
  return at;
}

describe('the compiled connection machine', () => {
  it('Given a connection that never existed, When CONNECT, Then it is pending with generation 1 and the app its metadata writer', () => {
    const { state, context } = given();
    const then = compiledConnectionMachine.step(state, context, CONNECT);
    expect(then?.state.value).toBe('pending');
    expect(then?.context).toMatchObject({ generation: 1, metadata: { plan: 'pro' }, metadataWriters: { plan: 'app' } });
    expect(then?.services).toEqual([]);
    expect(then?.taken.map((t) => t.key)).toEqual(['deleted CONNECT#0']);
  });

  it('Given a pending connection, When its validation starts, Then the entry action counts it and validate-connection is invoked', () => {
    const { state, context } = given(CONNECT);
    const then = compiledConnectionMachine.step(state, context, STARTED);
    expect(then?.state.value).toBe('validating');
    expect(then?.context.validation).toBe(1);
    expect(then?.services).toEqual([{ src: 'validate-connection', id: 'validation' }]);
  });

  it('Given a first validation, When it passes, Then the first guarded candidate wins: active, setup spawned and running', () => {
    const { state, context } = given(CONNECT, STARTED);
    const then = compiledConnectionMachine.step(state, context, { type: 'VALIDATION_PASSED', validation: 1 });
    expect(then?.state.value).toBe('active');
    expect(then?.context.setupRunning).toBe(true);
    expect(then?.services).toEqual([{ src: 'post-connection-creation', id: 'setup' }]);
    expect(then?.taken.map((t) => t.key)).toEqual(['validating VALIDATION_PASSED#0']);
  });

  it('Given a validation in progress, When a stale outcome arrives, Then it is not accepted', () => {
    const { state, context } = given(CONNECT, STARTED);
    expect(
      compiledConnectionMachine.step(state, context, { type: 'VALIDATION_PASSED', validation: 0 }),
    ).toBeUndefined();
  });

  it('Given a delete while setup runs, When setup finishes, Then the eventless transition moves on to cleaning and starts cleanup', () => {
    const { state, context } = given(
      CONNECT,
      STARTED,
      { type: 'VALIDATION_PASSED', validation: 1 },
      { type: 'DELETE' },
    );
    expect(state.value).toEqual({ deleting: 'awaiting_setup' });
    const then = compiledConnectionMachine.step(state, context, { type: 'SETUP_FINISHED', failed: [] });
    expect(then?.state.value).toEqual({ deleting: 'cleaning' });
    expect(then?.context.setupRunning).toBe(false);
    expect(then?.services).toEqual([{ src: 'pre-connection-deletion', id: 'cleanup' }]);
    expect(then?.taken.map((t) => t.key)).toEqual([
      'deleting.awaiting_setup SETUP_FINISHED#0',
      'deleting.awaiting_setup always#0',
    ]);
  });

  it('Given any state, When a run is recorded, Then the root-level handler records it without a change of state', () => {
    const { state, context } = given(CONNECT, STARTED);
    const then = compiledConnectionMachine.step(state, context, {
      type: 'RUN_STARTED',
      runId: 'r1',
      event: 'validate-connection',
      function: 'check',
      attempt: 1,
    });
    expect(then?.state).toBe(state);
    expect(then?.context.runs).toEqual({ r1: { event: 'validate-connection', function: 'check', attempt: 1 } });
  });
});

describe('fold through the compiled machine', () => {
  it('Given a lifecycle, When folded, Then the projection is what evolve gives record by record', () => {
    const log = records(
      CONNECT,
      STARTED,
      { type: 'VALIDATION_PASSED', validation: 1 },
      { type: 'METADATA_UPDATED', metadata: { org: 'A' }, writer: 'function:sf/setup' },
      { type: 'DELETE' },
      { type: 'SETUP_FINISHED', failed: [] },
      { type: 'CLEANUP_FINISHED', failed: [] },
      { ...CONNECT, metadata: {} } as ConnectionEvent,
    );
    const expected = log.reduce((p, input) => evolve(p, input).projection, emptyProjection('c1'));
    expect(fold('c1', log)).toStrictEqual(expected);
    expect(fold('c1', log).createdAt).toEqual(log[7]?.at);
  });

  it('Given a record the machine does not accept, When folded, Then it fails with the same error as evolve', () => {
    const log = records(CONNECT, { type: 'CLEANUP_FINISHED', failed: [] });
    const first = evolve(emptyProjection('c1'), log[0] as FoldInput).projection;
    expect(() => evolve(first, log[1] as FoldInput)).toThrow(
      'record 2 (CLEANUP_FINISHED) is not accepted in state "pending"',
    );
    expect(() => fold('c1', log)).toThrow('record 2 (CLEANUP_FINISHED) is not accepted in state "pending"');
  });

  it('Given a tampered log with a record numbered 0, When folded, Then it restarts where evolve restarts', () => {
    const log = records(CONNECT, STARTED, CONNECT).map((input, i) => (i === 1 ? { ...input, version: 0 } : input));
    const expected = log.reduce((p, input) => evolve(p, input).projection, emptyProjection('c1'));
    expect(expected.context.generation).toBe(1);
    expect(fold('c1', log)).toStrictEqual(expected);
  });

  it('Given no records, When folded, Then the projection is the empty one', () => {
    expect(fold('c1', [])).toStrictEqual(emptyProjection('c1'));
  });
});

/** Steps `machine` through `events` with XState and with its compiled table: both must agree at every step. */
function expectSameAsXState(machine: AnyStateMachine, events: EventObject[]) {
  const table = compileMachine(machine);
  let [snapshot] = initialTransition(machine);
  let at = table.initial;
  expect(at.state.value).toEqual(snapshot.value);
  expect(at.context).toStrictEqual(snapshot.context);
  for (const event of events) {
    const next = table.step(at.state, at.context, event);
    expect(next !== undefined, `${event.type} in ${JSON.stringify(snapshot.value)}`).toBe(snapshot.can(event));
    if (!next) continue;
    [snapshot] = transition(machine, snapshot, event);
    expect(next.state.value).toEqual(snapshot.value);
    expect(next.context).toStrictEqual(snapshot.context);
    at = next;
  }
  return at;
}

describe('compiling another machine', () => {
  type Context = { trace: string[]; n: number };
  type Event = { type: 'GO' | 'BACK' | 'NOTE' | 'NOTHING' | 'RESET' };
  /** An assign that appends `entry` to the trace, to see which actions ran in which order. */
  const log = (entry: string) =>
    assign<Context, Event, undefined, Event, never>(({ context }) => ({ trace: [...context.trace, entry] }));
  const machine = setup({
    types: {
      context: {} as Context,
      events: {} as Event,
    },
    actors: { worker: fromPromise(async () => {}) },
    guards: { small: ({ context }) => context.n < 2, big: ({ context }) => context.n > 5 },
    actions: { count: assign({ n: ({ context }) => context.n + 1 }), noted: () => {} },
  }).createMachine({
    context: { trace: [], n: 0 },
    initial: 'outer',
    on: { NOTE: { actions: 'noted' }, RESET: { target: '.outer', actions: log('reset') } },
    states: {
      outer: {
        initial: 'a',
        entry: log('enter outer'),
        exit: log('exit outer'),
        on: { BACK: { target: 'outer', actions: log('back') } },
        states: {
          a: {
            entry: log('enter a'),
            exit: log('exit a'),
            on: {
              GO: [
                { guard: or(['big', not('small')]), target: '#done' },
                { guard: and(['small', not('big')]), target: 'b', actions: ['count', log('go')] },
              ],
              NOTHING: {},
            },
          },
          b: { entry: log('enter b'), always: { guard: 'small', target: 'a', actions: log('bounce') } },
        },
      },
      done: { id: 'done', entry: [log('enter done'), spawnChild('worker', { id: 'w' })] },
    },
  });

  it('Given entry, exit and transition actions, guards, eventless and root transitions, When stepped, Then it agrees with XState at every step', () => {
    const end = expectSameAsXState(machine, [
      { type: 'GO' },
      { type: 'NOTE' },
      { type: 'NOTHING' },
      { type: 'BACK' },
      { type: 'GO' },
      { type: 'GO' },
      { type: 'RESET' },
      { type: 'GO' },
      { type: 'BACK' },
      { type: 'RESET' },
    ]);
    expect(end.state.value).toEqual({ outer: 'a' });
    expect(end.context.trace).toContain('enter done');
  });

  it('Given a selected transition with neither target nor actions, When stepped, Then it is not accepted (as snapshot.can says)', () => {
    const table = compileMachine(machine);
    expect(table.step(table.initial.state, table.initial.context, { type: 'NOTHING' })).toBeUndefined();
  });
});

describe('constructs the compiler does not reproduce', () => {
  const base = setup({
    types: { events: {} as { type: 'GO' } },
    actors: { job: fromPromise(async () => {}) },
    guards: { yes: () => true },
  });
  const cases: Array<[string, () => AnyStateMachine, RegExp]> = [
    [
      'a parallel state',
      () => base.createMachine({ initial: 'p', states: { p: { type: 'parallel', states: { x: {}, y: {} } } } }),
      /parallel state/,
    ],
    [
      'a history state',
      () =>
        base.createMachine({
          initial: 'a',
          states: { a: { initial: 'x', states: { x: {}, h: { type: 'history' } } }, b: { on: { GO: 'a.h' } } },
        }),
      /history state/,
    ],
    [
      'a final state',
      () => base.createMachine({ initial: 'a', states: { a: { on: { GO: 'f' } }, f: { type: 'final' } } }),
      /final state/,
    ],
    [
      'a delayed transition',
      () => base.createMachine({ initial: 'a', states: { a: { after: { 10: 'b' } }, b: {} } }),
      /delayed/,
    ],
    [
      'a wildcard event',
      () => base.createMachine({ initial: 'a', states: { a: { on: { '*': 'b' } }, b: {} } }),
      /'\*'/,
    ],
    [
      'a re-entering transition',
      () => base.createMachine({ initial: 'a', states: { a: { on: { GO: { target: 'a', reenter: true } } } } }),
      /reenter/,
    ],
    [
      'a raised event',
      () => base.createMachine({ initial: 'a', states: { a: { on: { GO: { actions: raise({ type: 'GO' }) } } } } }),
      /xstate.raise/,
    ],
    [
      'a stateIn guard',
      () =>
        base.createMachine({
          initial: 'a',
          states: { a: { on: { GO: { guard: stateIn('a'), target: 'b' } } }, b: {} },
        }),
      /built-in guard/,
    ],
    [
      'a targetless eventless transition',
      () => base.createMachine({ initial: 'a', states: { a: { always: { guard: 'yes', actions: () => {} } } } }),
      /targetless 'always'/,
    ],
    [
      'a parameterised guard',
      () =>
        base.createMachine({
          initial: 'a',
          states: { a: { on: { GO: { guard: { type: 'yes', params: {} }, target: 'b' } } }, b: {} },
        }),
      /guard/,
    ],
    [
      'an invoke with onDone',
      () => base.createMachine({ initial: 'a', states: { a: { invoke: { src: 'job', onDone: 'b' } }, b: {} } }),
      /invoke/,
    ],
  ];

  it.each(cases)('Given a machine with %s, When compiled, Then the compiler throws', (_, build, message) => {
    expect(() => compileMachine(build())).toThrow(message);
  });
});
