import { getShortestPaths, getStateNodes, type StatePath, toDirectedGraph } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import {
  type AnyMachineSnapshot,
  type AnyStateNode,
  type AnyTransitionDefinition,
  getMicrosteps,
  initialTransition,
  pathToStateValue,
  type StateValue,
} from 'xstate';
import type { ConnectionEvent, SealedCredentials } from '../../machines/connection-events.js';
import { accepts, type ConnectionProjection, emptyProjection, evolve } from '../../machines/connection-fold.js';
import { type ConnectionContext, connectionMachine } from '../../machines/connection-machine.js';

/**
 * Every transition of the connection machine is driven by at least one test.
 *
 * 1. The machine's edges are enumerated statically with @xstate/graph (`toDirectedGraph`: every
 *    `on` candidate, guarded alternatives included) plus every `always` edge of every state node.
 * 2. Reachable states are explored with @xstate/graph (`getShortestPaths`) from sample events
 *    (below, one entry per event type: a new event type does not compile until it has samples).
 * 3. Each edge gets a witness: the shortest path to a state where a sample event takes that edge.
 *    The test folds the path with the pure fold (`evolve`), applies the event and asserts that the
 *    machine lands in the edge's target.
 *
 * An edge with no witness fails its test: adding a transition to the machine without a sample
 * that reaches it breaks this file. Pure: no engine, no database.
 */

type Machine = typeof connectionMachine;
type Snapshot = ReturnType<Machine['transition']>;
type Path = StatePath<Snapshot, ConnectionEvent>;

const creds = (n: number): SealedCredentials => ({ type: 'OAUTH2', ciphertext: `v1:sealed-${n}` });
const runError = { type: 'execution_timeout' as const, message: 'timed out' };

/** Concrete events to try in a state; stale and unknown variants exercise the guards' false side. */
const SAMPLES: {
  [K in ConnectionEvent['type']]: (c: ConnectionContext) => Array<Extract<ConnectionEvent, { type: K }>>;
} = {
  CONNECT: () => [
    { type: 'CONNECT', integration: 'sf', credentials: creds(1), connectionConfig: {}, metadata: { plan: 'pro' } },
  ],
  RECONNECT: () => [{ type: 'RECONNECT', credentials: creds(2) }],
  REFRESH_FAILED: () => [{ type: 'REFRESH_FAILED', message: 'expired' }],
  DELETE: () => [{ type: 'DELETE' }],
  METADATA_SET: () => [{ type: 'METADATA_SET', metadata: { a: 1 }, writer: 'app' }],
  METADATA_UPDATED: () => [{ type: 'METADATA_UPDATED', metadata: { b: 2 }, writer: 'app' }],
  VALIDATION_STARTED: () => [{ type: 'VALIDATION_STARTED', functions: ['check'] }],
  VALIDATION_PASSED: (c) => [
    { type: 'VALIDATION_PASSED', validation: c.validation },
    { type: 'VALIDATION_PASSED', validation: c.validation - 1 },
  ],
  VALIDATION_FAILED: (c) =>
    [c.validation, c.validation - 1].map((validation) => ({
      type: 'VALIDATION_FAILED' as const,
      validation,
      error: { type: 'connection_validation_failed', message: 'nope', function: 'check' },
    })),
  SETUP_FINISHED: () => [{ type: 'SETUP_FINISHED', failed: [] }],
  CLEANUP_FINISHED: () => [{ type: 'CLEANUP_FINISHED', failed: [] }],
  // One run at a time keeps the explored state space finite.
  RUN_STARTED: (c) =>
    Object.keys(c.runs).length > 0
      ? []
      : [{ type: 'RUN_STARTED', runId: 'run-1', event: 'validate-connection', function: 'check', attempt: 1 }],
  RUN_SUCCEEDED: (c) =>
    runIds(c).map((runId) => ({ type: 'RUN_SUCCEEDED' as const, runId, function: 'check', durationMs: 1 })),
  RUN_FAILED: (c) =>
    runIds(c).map((runId) => ({
      type: 'RUN_FAILED' as const,
      runId,
      function: 'check',
      durationMs: 1,
      error: { type: 'script_internal_error' as const, message: 'boom' },
    })),
  RUN_TIMED_OUT: (c) =>
    runIds(c).map((runId) => ({
      type: 'RUN_TIMED_OUT' as const,
      runId,
      function: 'check',
      durationMs: 1,
      error: runError,
    })),
  RUN_ABANDONED: (c) =>
    runIds(c).map((runId) => ({ type: 'RUN_ABANDONED' as const, runId, function: 'check', reason: 'lease expired' })),
  OUTCOME_IGNORED: () => [
    { type: 'OUTCOME_IGNORED', ignored: { type: 'VALIDATION_PASSED', validation: 0 }, reason: 'superseded' },
  ],
};

/** The running run (if any) and one the machine never saw. */
function runIds(c: ConnectionContext): string[] {
  return [...Object.keys(c.runs), 'run-unknown'];
}

function samplesFor(snapshot: Snapshot): ConnectionEvent[] {
  const samplers = Object.values(SAMPLES) as Array<(c: ConnectionContext) => ConnectionEvent[]>;
  return samplers.flatMap((sample) => sample(snapshot.context));
}

/** What makes two states different for exploration: not metadata or counters, which grow forever. */
function abstractKey(snapshot: Snapshot): string {
  const c = snapshot.context;
  return JSON.stringify({
    value: snapshot.value,
    firstConnect: c.firstConnect,
    setupRunning: c.setupRunning,
    runs: Object.keys(c.runs).length,
    error: c.error?.type ?? null,
    credentials: c.credentials !== null,
    generation: Math.min(c.generation, 2),
  });
}

// ---- the machine's edges ------------------------------------------------------------------

interface Edge {
  id: string;
  source: AnyStateNode;
  eventType: string;
  /** The target state node; for a targetless transition, the source itself (the state stays). */
  target: AnyStateNode;
  targetless: boolean;
  guard: string | null;
  transition: AnyTransitionDefinition;
}

function guardName(t: AnyTransitionDefinition): string | null {
  const guard = t.guard as unknown;
  if (!guard) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String(guard.type);
  if (typeof guard === 'function') {
    // Built-in combinators (`and`, `not`…) keep their operands on the function.
    const g = guard as { check?: unknown; guards?: unknown[]; name?: string };
    if (Array.isArray(g.guards)) return `${g.name || 'guard'}(${g.guards.map(String).join(', ')})`;
    return g.name || 'inline guard';
  }
  return 'guard';
}

function describeEdge(e: Omit<Edge, 'id'>): string {
  const where = e.source.id.replace(/^connection\.?/, '') || '(any state)';
  const to = e.targetless ? '(stays)' : e.target.id.replace(/^connection\./, '');
  return `${where} --${e.eventType || 'always'}${e.guard ? ` [${e.guard}]` : ''}--> ${to}`;
}

function machineEdges(): Edge[] {
  const edges: Edge[] = [];
  const add = (e: Omit<Edge, 'id'>) => {
    let id = describeEdge(e);
    // Two candidates can only print alike if they differ in an unnamed guard: keep both.
    while (edges.some((x) => x.id === id)) id += "'";
    edges.push({ ...e, id });
  };
  const visit = (node: ReturnType<typeof toDirectedGraph>) => {
    for (const edge of node.edges) {
      const t = edge.transition;
      add({
        source: edge.source,
        eventType: t.eventType,
        target: edge.target,
        targetless: !t.target,
        guard: guardName(t),
        transition: t,
      });
    }
    for (const child of node.children) visit(child);
  };
  visit(toDirectedGraph(connectionMachine));
  for (const node of [connectionMachine.root, ...getStateNodes(connectionMachine.root)]) {
    for (const t of node.always ?? []) {
      add({
        source: node,
        eventType: '',
        target: t.target?.[0] ?? node,
        targetless: !t.target,
        guard: guardName(t),
        transition: t,
      });
    }
  }
  return edges;
}

const EDGES = machineEdges();
const byTransition = new Map<AnyTransitionDefinition, Edge>(EDGES.map((e) => [e.transition, e]));

// ---- which edges an event takes -------------------------------------------------------------

const ALL_NODES: AnyStateNode[] = [connectionMachine.root, ...getStateNodes(connectionMachine.root)];

/** The state nodes a snapshot is in (the root and every active ancestor), from its public `matches`. */
const activeNodes = (s: AnyMachineSnapshot): Set<AnyStateNode> =>
  new Set(ALL_NODES.filter((n) => n === connectionMachine.root || s.matches(pathToStateValue(n.path) as never)));

/**
 * The edges the machine takes for `event` in `snapshot`: the event's own transition, then any
 * eventless (`always`) transition of the microsteps that follow.
 */
function takenEdges(snapshot: Snapshot, event: ConnectionEvent): Edge[] {
  const taken: Edge[] = [];
  for (const t of connectionMachine.getTransitionData(snapshot, event)) {
    const edge = byTransition.get(t);
    if (edge) taken.push(edge);
  }
  if (taken.length === 0) return taken;
  const steps = getMicrosteps(connectionMachine, snapshot, event).map(([s]) => s);
  for (let i = 1; i < steps.length; i++) {
    const before = activeNodes(steps[i - 1] as Snapshot);
    const after = activeNodes(steps[i] as Snapshot);
    for (const edge of EDGES) {
      if (edge.eventType !== '' || !before.has(edge.source)) continue;
      if (edge.targetless || (after.has(edge.target) && !before.has(edge.target))) taken.push(edge);
    }
  }
  return taken;
}

// ---- witnesses: a reachable state and an event for every edge -------------------------------

interface Witness {
  path: Path;
  event: ConnectionEvent;
}

const PATHS: Path[] = getShortestPaths(connectionMachine, {
  events: samplesFor,
  serializeState: abstractKey,
  limit: 10_000,
}).sort((a, b) => a.steps.length - b.steps.length);

const witnesses = new Map<Edge, Witness>();
/** For every (source node, event type) whose candidates are all guarded: a case where none applies. */
const refusals = new Map<string, Witness>();
/** Root-level handlers, per atomic state that does not override them. */
const rootCoverage = new Map<string, Witness>();

const atomicStates = getStateNodes(connectionMachine.root).filter((n) => n.type === 'atomic');
const rootEdges = EDGES.filter((e) => e.source === connectionMachine.root && e.eventType !== '');
/** Whether an event of `type` in `atomic` falls through to the root's handler (no closer node handles it). */
function reachesRoot(atomic: AnyStateNode, type: string): boolean {
  for (let node: AnyStateNode | undefined = atomic; node && node !== connectionMachine.root; node = node.parent) {
    if (node.transitions.has(type)) return false;
  }
  return true;
}
const rootPairs = atomicStates.flatMap((atomic) =>
  rootEdges.filter((e) => reachesRoot(atomic, e.eventType)).map((e) => ({ edge: e, atomic })),
);
const pairKey = (edge: Edge, atomic: AnyStateNode) => `${edge.id} in ${atomic.id.replace(/^connection\./, '')}`;

const allGuardedGroups = new Map<string, Edge[]>();
for (const e of EDGES.filter((x) => x.eventType !== '')) {
  const key = `${e.source.id} ${e.eventType}`;
  allGuardedGroups.set(key, [...(allGuardedGroups.get(key) ?? []), e]);
}
for (const [key, group] of allGuardedGroups) if (group.some((e) => e.guard === null)) allGuardedGroups.delete(key);

for (const path of PATHS) {
  const snapshot = path.state;
  const atomic = [...activeNodes(snapshot)].filter((n) => n.type === 'atomic');
  for (const event of samplesFor(snapshot)) {
    const taken = takenEdges(snapshot, event);
    for (const edge of taken) if (!witnesses.has(edge)) witnesses.set(edge, { path, event });
    for (const edge of taken) {
      if (edge.source !== connectionMachine.root) continue;
      for (const a of atomic)
        if (!rootCoverage.has(pairKey(edge, a))) rootCoverage.set(pairKey(edge, a), { path, event });
    }
    if (taken.length === 0) {
      for (const node of activeNodes(snapshot)) {
        const key = `${node.id} ${event.type}`;
        if (allGuardedGroups.has(key) && !refusals.has(key)) refusals.set(key, { path, event });
      }
    }
  }
}

// ---- driving a witness with the pure fold -------------------------------------------------

const at = new Date('2026-01-01T00:00:00Z');

/** getShortestPaths starts every path with the initial state, reached by xstate's own init event. */
const isInit = (event: { type: string }) => event.type === 'xstate.init';

/** Folds the path's events from an empty connection, as the engine and replay do. */
function reach(path: Path): ConnectionProjection {
  let p = emptyProjection('c');
  for (const step of path.steps) {
    if (isInit(step.event)) continue;
    p = evolve(p, { version: p.version + 1, event: step.event, at }).projection;
  }
  expect(p.stateValue).toEqual(path.state.value);
  return p;
}

function snapshotOf(p: ConnectionProjection): Snapshot {
  return p.version === 0
    ? initialTransition(connectionMachine)[0]
    : connectionMachine.resolveState({ value: p.stateValue, context: p.context });
}

function matchesNode(value: StateValue, node: AnyStateNode): boolean {
  if (node === connectionMachine.root) return true;
  return connectionMachine
    .resolveState({ value, context: emptyProjection('c').context })
    .matches(pathToStateValue(node.path) as never);
}

function describeWitness(w: Witness): string {
  const steps = w.path.steps.filter((s) => !isInit(s.event)).map((s) => s.event.type);
  return `${steps.join(' → ') || '(new connection)'} ⇒ ${JSON.stringify(w.event)}`;
}

describe('the connection machine, edge by edge (@xstate/graph)', () => {
  it('has edges to cover, the eventless one and guarded alternatives included', () => {
    expect(EDGES.length).toBeGreaterThan(20);
    expect(EDGES.some((e) => e.eventType === '')).toBe(true);
    expect(EDGES.filter((e) => e.eventType === 'VALIDATION_PASSED')).toHaveLength(2);
    expect(PATHS.length).toBeGreaterThan(atomicStates.length);
  });

  it.each(EDGES.map((e) => [e.id, e] as const))('%s', (_id, edge) => {
    const witness = witnesses.get(edge);
    if (!witness) {
      throw new Error(
        `no test drives the edge ${edge.id}: no sample event in any reachable state takes it (add samples to SAMPLES)`,
      );
    }
    const before = reach(witness.path);
    const fromState = before.stateValue;
    expect(accepts(before, witness.event), describeWitness(witness)).toBe(true);
    // The event's own microstep lands in the edge's target; the fold lands where the machine does.
    const steps = getMicrosteps(connectionMachine, snapshotOf(before), witness.event);
    const index = edge.eventType === '' ? steps.findIndex(([s]) => !activeNodes(s).has(edge.source)) : 0;
    const landed = steps[index]?.[0] as Snapshot;
    const after = evolve(before, { version: before.version + 1, event: witness.event, at }).projection;
    expect(after.stateValue).toEqual(steps.at(-1)?.[0].value);
    if (edge.targetless) {
      expect(after.stateValue, describeWitness(witness)).toEqual(fromState);
    } else {
      expect(matchesNode(landed.value, edge.target), describeWitness(witness)).toBe(true);
      expect(matchesNode(after.stateValue, edge.target) || edge.target.always !== undefined).toBe(true);
    }
  });

  it.each(rootPairs.map(({ edge, atomic }) => [pairKey(edge, atomic), edge, atomic] as const))(
    'root handler %s',
    (key, _edge, atomic) => {
      const witness = rootCoverage.get(key);
      if (!witness) throw new Error(`no test drives ${key}`);
      const before = reach(witness.path);
      expect(matchesNode(before.stateValue, atomic)).toBe(true);
      const after = evolve(before, { version: before.version + 1, event: witness.event, at }).projection;
      // Recording a run's facts never moves the connection (except past a finished setup's wait).
      if (!matchesNode(before.stateValue, connectionMachine.getStateNodeById('connection.deleting.awaiting_setup'))) {
        expect(after.stateValue).toEqual(before.stateValue);
      }
    },
  );

  it.each([...allGuardedGroups.keys()].map((k) => [k] as const))('when no guard of %s holds, it is refused', (key) => {
    const witness = refusals.get(key);
    if (!witness) throw new Error(`no test shows ${key} refused when its guards fail`);
    const before = reach(witness.path);
    expect(accepts(before, witness.event)).toBe(false);
    expect(() => evolve(before, { version: before.version + 1, event: witness.event, at })).toThrow(/not accepted/);
  });

  it('names every uncovered edge (none)', () => {
    const uncovered = [
      ...EDGES.filter((e) => !witnesses.has(e)).map((e) => e.id),
      ...rootPairs.map(({ edge, atomic }) => pairKey(edge, atomic)).filter((k) => !rootCoverage.has(k)),
      ...[...allGuardedGroups.keys()].filter((k) => !refusals.has(k)).map((k) => `${k} (refusal)`),
    ];
    expect(uncovered).toEqual([]);
  });
});
