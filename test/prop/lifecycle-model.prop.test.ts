import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Command,
  type ConnectionView,
  type Engine,
  type HistoryEntry,
  isLifelineError,
  type OnEventContext,
} from '../../src/index.js';
import { type FakeProvider, startFakeProvider } from '../support/fake-provider.js';
import { fn } from '../support/functions.js';
import { engineFactory, type TestStore, testStores } from '../support/test-stores.js';

/**
 * Model-based test of the lifecycle (DESIGN §2–§3, issue 4): fast-check generates sequences of
 * commands for two connections — CONNECT, RECONNECT, REFRESH_FAILED, DELETE, app metadata writes,
 * and pauses that let background work finish — each with the outcome its event functions will
 * have: pass, throw an ActionError, time out, or fail at the provider (a real loopback HTTP call
 * answered 500 or 404). A third of the commands are left in flight (checked at the next pause), so
 * a DELETE often arrives while a slow setup still runs; a quarter go to a second engine on the same
 * database (another process). A small model predicts every result; after each step and at pauses
 * the engine is compared with it and the invariants below are checked.
 *
 * Invariants:
 * - replay of the log equals the projection; versions are contiguous per connection;
 * - `active` is only entered by a passing validation of the credentials stored at that time;
 * - a first-connect failure → `deleted` without cleanup (and without setup);
 * - a reconnect failure → `auth_error` with `refresh_exhausted`, metadata kept;
 * - after `deleted` only CONNECT is accepted;
 * - cleanup never runs concurrently with setup and runs after it (function instrumentation and the
 *   log), also when DELETE is sent while a slow setup still runs;
 * - a refused command is refused with a typed error and writes nothing;
 * - no plaintext credential in any table of the engine's schema.
 *
 * Timeouts without wall-clock assumptions: each lifecycle step has two functions. `a-*` (generous
 * timeout) does the work and decides; `b-*-deadline` (the engine's short `functionTimeoutMs`)
 * either returns synchronously — which always beats the timer — or hangs until it is aborted.
 *
 * `LIFELINE_PROPERTY_RUNS` scales the number of runs (default 25 per store).
 */

const RUNS = Number(process.env.LIFELINE_PROPERTY_RUNS ?? 25);
const IDS = ['c1', 'c2'] as const;
const DEADLINE_MS = 150;
const GENEROUS_MS = 30_000;
const RETRY = { maxAttempts: 2, baseMs: 5, capMs: 10 };
const DEFAULT_MESSAGE = 'Connection failed validation';

const VALIDATE = ['pass', 'provider-pass', 'throw', 'timeout', 'http-500', 'http-404'] as const;
const SETUP = ['pass', 'slow', 'throw', 'timeout', 'http-500'] as const;
const CLEANUP = ['pass', 'slow', 'throw', 'timeout', 'http-404'] as const;
type ValidateOutcome = (typeof VALIDATE)[number];
type SetupOutcome = (typeof SETUP)[number];
type CleanupOutcome = (typeof CLEANUP)[number];
type CredKind = 'OAUTH2' | 'API_KEY' | 'BASIC';
type Step = 'validate' | 'setup' | 'cleanup';

/** What the runs exercised, reported at the end. */
const stats = { deletesDuringSetup: 0, refused: 0, accepted: 0, timeouts: 0 };

// ---- the world the event functions see: plans set by the commands, and a trace of every run ----

interface Trace {
  conn: string;
  gen: number;
  step: Step;
  fn: string;
  start: number;
  end: number | null;
  /** The plaintext secret a validator saw (validators only). */
  secret?: string;
}

interface ValidationPlan {
  outcome: ValidateOutcome;
  secret: string;
  tag: string;
}

class World {
  private clock = 0;
  readonly traces: Trace[] = [];
  readonly violations: string[] = [];
  /** What the next validation of a connection is to do, and the secret it must see. */
  /** Per connection, the validations to come, in command order: what each is to do and must see. */
  private readonly validations = new Map<string, ValidationPlan[]>();
  readonly setup = new Map<string, SetupOutcome>();
  readonly cleanup = new Map<string, CleanupOutcome>();
  /** Set by `a-*` for the `b-*-deadline` function that runs right after it (same service). */
  readonly deadline = new Map<string, { hang: boolean; gen: number }>();

  planValidation(conn: string, plan: ValidationPlan) {
    this.validations.set(conn, [...(this.validations.get(conn) ?? []), plan]);
  }

  nextValidation(conn: string): ValidationPlan | undefined {
    return this.validations.get(conn)?.shift();
  }

  tick(): number {
    return ++this.clock;
  }

  begin(conn: string, gen: number, step: Step, name: string, start: number, secret?: string): Trace {
    const trace: Trace = { conn, gen, step, fn: name, start, end: null };
    if (secret !== undefined) trace.secret = secret;
    // A run of setup and a run of cleanup of one connection must never overlap.
    const other = step === 'setup' ? 'cleanup' : step === 'cleanup' ? 'setup' : null;
    const overlapping = this.traces.find((t) => t.conn === conn && t.step === other && t.end === null);
    if (overlapping) this.violations.push(`${step} ${name} of ${conn} started while ${overlapping.fn} was running`);
    this.traces.push(trace);
    return trace;
  }

  finish(trace: Trace) {
    trace.end = this.tick();
  }
}

const secretOf = (credentials: Record<string, unknown>) =>
  String(credentials.access_token ?? credentials.apiKey ?? credentials.password);

async function who(nango: OnEventContext) {
  const c = await nango.getConnection();
  return { gen: Number(c.connection_config.generation), secret: secretOf(c.credentials) };
}

/** Hangs until the engine aborts the run (its timeout), then ends like an abandoned call. */
function hangUntilAborted(nango: OnEventContext, world: World, trace: Trace): Promise<void> {
  return new Promise((_, reject) => {
    const stop = () => {
      stats.timeouts++;
      world.finish(trace);
      reject(nango.abortSignal.reason ?? new Error('aborted'));
    };
    if (nango.abortSignal.aborted) stop();
    else nango.abortSignal.addEventListener('abort', stop, { once: true });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function functionsFor(world: World) {
  const deadline = (step: Step, name: string) =>
    fn('sf', name, stepEvent[step], (nango) => {
      const d = world.deadline.get(`${step}:${nango.connectionId}`);
      if (!d?.hang) return; // synchronous: always beats the timer
      return hangUntilAborted(nango, world, world.begin(nango.connectionId, d.gen, step, name, world.tick()));
    });
  return [
    fn(
      'sf',
      'a-check',
      'validate-connection',
      async (nango) => {
        const start = world.tick();
        const { gen, secret } = await who(nango);
        const trace = world.begin(nango.connectionId, gen, 'validate', 'a-check', start, secret);
        try {
          const plan = world.nextValidation(nango.connectionId);
          if (!plan || plan.secret !== secret) {
            world.violations.push(`a-check of ${nango.connectionId} validated credentials that were not just stored`);
          }
          const outcome = plan?.outcome ?? 'pass';
          world.deadline.set(`validate:${nango.connectionId}`, { hang: outcome === 'timeout', gen });
          await nango.updateMetadata({ checked: plan?.tag ?? null });
          if (outcome === 'throw') throw new nango.ActionError({ message: `rejected ${plan?.tag}` });
          if (outcome === 'provider-pass') await nango.get({ endpoint: '/me' });
          if (outcome === 'http-500') await nango.get({ endpoint: '/status/500' });
          if (outcome === 'http-404') await nango.get({ endpoint: '/missing' });
        } finally {
          world.finish(trace);
        }
      },
      { timeoutMs: GENEROUS_MS },
    ),
    deadline('validate', 'b-check-deadline'),
    fn(
      'sf',
      'a-setup',
      'post-connection-creation',
      async (nango) => {
        const start = world.tick();
        const { gen } = await who(nango);
        const trace = world.begin(nango.connectionId, gen, 'setup', 'a-setup', start);
        try {
          const outcome = world.setup.get(`${nango.connectionId}#${gen}`) ?? 'pass';
          world.deadline.set(`setup:${nango.connectionId}`, { hang: outcome === 'timeout', gen });
          if (outcome === 'slow') await sleep(40);
          if (outcome === 'throw') throw new nango.ActionError({ message: 'webhook refused' });
          if (outcome === 'http-500') await nango.post({ endpoint: '/status/500', data: { url: 'hook' } });
        } finally {
          world.finish(trace);
        }
      },
      { timeoutMs: GENEROUS_MS },
    ),
    deadline('setup', 'b-setup-deadline'),
    fn(
      'sf',
      'a-cleanup',
      'pre-connection-deletion',
      async (nango) => {
        const start = world.tick();
        const { gen } = await who(nango);
        const trace = world.begin(nango.connectionId, gen, 'cleanup', 'a-cleanup', start);
        try {
          const outcome = world.cleanup.get(`${nango.connectionId}#${gen}`) ?? 'pass';
          world.deadline.set(`cleanup:${nango.connectionId}`, { hang: outcome === 'timeout', gen });
          if (outcome === 'slow') await sleep(40);
          if (outcome === 'throw') throw new nango.ActionError({ message: 'webhook not deleted' });
          if (outcome === 'http-404') await nango.delete({ endpoint: '/webhooks/gone' });
        } finally {
          world.finish(trace);
        }
      },
      { timeoutMs: GENEROUS_MS },
    ),
    deadline('cleanup', 'b-cleanup-deadline'),
  ];
}

const stepEvent = {
  validate: 'validate-connection',
  setup: 'post-connection-creation',
  cleanup: 'pre-connection-deletion',
} as const;

// ---- the model ---------------------------------------------------------------------------

type State = 'deleted' | 'active' | 'auth_error';

interface ConnModel {
  state: State;
  exists: boolean;
  gen: number;
  credentialsType: CredKind | null;
  metadata: Record<string, unknown>;
  error: Record<string, unknown> | null;
  /** Types of the app's records, in the order the log must hold them (refused commands: none). */
  appRecords: string[];
  /** Generations whose first validation failed: no setup, no cleanup. */
  rejectedGens: Set<number>;
  /** Generations that reached `active`: their setup ran, with this outcome. */
  setupGens: Map<number, SetupOutcome>;
  cleanupGens: Map<number, CleanupOutcome>;
}

interface Model {
  conns: Record<string, ConnModel>;
  counter: number;
  /** Commands run (generated ones the model skipped are not counted). */
  executed: number;
}

interface Real {
  /** Reads go to the first engine; commands to either (two processes sharing one database). */
  engine: Engine & { schema: string };
  engines: [Engine, Engine];
  /** The engine a connection's commands in flight were sent to: later ones follow them there. */
  inFlightVia: Map<string, 0 | 1>;
  world: World;
  /** DELETEs sent without waiting: awaited (and checked) at the next pause. */
  pending: Array<{ id: string; promise: Promise<void> }>;
  /** Runs share one schema (migrating a fresh one per run would dominate the time): ids are per run. */
  run: number;
  secrets: string[];
}

const newModel = (): Model => ({
  conns: Object.fromEntries(
    IDS.map((id) => [
      id,
      {
        state: 'deleted',
        exists: false,
        gen: 0,
        credentialsType: null,
        metadata: {},
        error: null,
        appRecords: [],
        rejectedGens: new Set(),
        setupGens: new Map(),
        cleanupGens: new Map(),
      } satisfies ConnModel,
    ]),
  ),
  counter: 0,
  executed: 0,
});

function credentials(kind: CredKind, secret: string): Extract<Command, { type: 'CONNECT' }>['credentials'] {
  if (kind === 'OAUTH2') return { type: 'OAUTH2', access_token: secret, refresh_token: `${secret}-refresh` };
  if (kind === 'API_KEY') return { type: 'API_KEY', apiKey: secret };
  return { type: 'BASIC', username: `user-${secret.slice(-6)}`, password: secret };
}

/** The secrets a credentials object carries, and the encodings a leak could take. */
function leakForms(kind: CredKind, secret: string): string[] {
  if (kind === 'OAUTH2') return [secret, `${secret}-refresh`];
  if (kind === 'API_KEY') return [secret];
  return [secret, Buffer.from(`user-${secret.slice(-6)}:${secret}`).toString('base64')];
}

function validationError(outcome: ValidateOutcome, tag: string, reconnect: boolean) {
  const error: Record<string, unknown> =
    outcome === 'throw'
      ? { type: 'connection_validation_failed', message: `rejected ${tag}`, function: 'a-check' }
      : outcome === 'timeout'
        ? { type: 'connection_validation_failed', message: DEFAULT_MESSAGE, function: 'b-check-deadline' }
        : { type: 'connection_validation_failed', message: DEFAULT_MESSAGE, function: 'a-check' };
  return reconnect ? { ...error, reason: 'refresh_exhausted' } : error;
}

const passes = (o: ValidateOutcome) => o === 'pass' || o === 'provider-pass';

// ---- checks ------------------------------------------------------------------------------

async function expectRefused(
  promise: Promise<unknown>,
  code: 'command_refused' | 'connection_not_found',
  secrets: readonly string[] = [],
) {
  stats.refused++;
  const error = await promise.then(
    (r) => new Error(`expected a refusal (${code}), got ${JSON.stringify(r)}`),
    (e: unknown) => e,
  );
  expect(isLifelineError(error, code), String(error)).toBe(true);
  // Typed and readable, and never carrying the credentials it refused.
  const text = `${String(error)} ${JSON.stringify((error as { details?: unknown }).details ?? null)}`;
  expect(text).toMatch(/not accepted|does not exist/);
  for (const secret of secrets) expect(text.includes(secret), 'a refusal shows a credential').toBe(false);
}

function expectView(view: ConnectionView | null, c: ConnModel, id: string) {
  if (!c.exists) {
    expect(view, `${id} never existed`).toBeNull();
    return;
  }
  expect(view, id).not.toBeNull();
  const v = view as ConnectionView;
  expect({ state: v.state, metadata: v.metadata, error: v.error ?? null, credentialsType: v.credentialsType }).toEqual({
    state: c.state,
    metadata: c.metadata,
    error: c.error,
    credentialsType: c.credentialsType,
  });
}

const isAppRecord = (h: HistoryEntry) =>
  ['CONNECT', 'RECONNECT', 'REFRESH_FAILED', 'DELETE'].includes(h.type) ||
  ((h.type === 'METADATA_SET' || h.type === 'METADATA_UPDATED') && h.data.writer === 'app');

/** The invariants one connection's log must satisfy, at rest (nothing running). */
function checkLog(id: string, history: HistoryEntry[], c: ConnModel) {
  const at = (i: number) => `${id} v${history[i]?.version} ${history[i]?.type}`;
  // Versions contiguous from 1; each record starts where the previous one ended.
  expect(
    history.map((h) => h.version),
    `${id}: versions`,
  ).toEqual(history.map((_, i) => i + 1));
  history.forEach((h, i) => {
    expect(h.from, at(i)).toBe(i === 0 ? null : history[i - 1]?.to);
  });
  // Refused commands wrote nothing; accepted ones exactly one record each, in order.
  expect(
    history.filter(isAppRecord).map((h) => h.type),
    `${id}: the app's records`,
  ).toEqual(c.appRecords);
  // Nothing was superseded or abandoned: no crash, no lease lost.
  expect(history.filter((h) => h.type === 'OUTCOME_IGNORED' || h.type === 'RUN_ABANDONED').map((h) => h.type)).toEqual(
    [],
  );

  let credentialsChanged = -1;
  let enteredValidating = -1;
  history.forEach((h, i) => {
    if (h.type === 'CONNECT' || h.type === 'RECONNECT') credentialsChanged = i;
    if (h.to === 'validating' && h.from !== 'validating') enteredValidating = i;
    if (h.to === 'active' && h.from !== 'active') {
      // `active` only after a passing validation of the credentials stored now.
      expect(h.type, at(i)).toBe('VALIDATION_PASSED');
      expect(enteredValidating, `${at(i)}: credentials changed during the validation`).toBeGreaterThanOrEqual(
        credentialsChanged,
      );
      const window = history.slice(enteredValidating, i);
      const validators = window.filter((r) => r.type === 'RUN_STARTED' && r.data.event === 'validate-connection');
      expect(
        validators.map((r) => r.data.function),
        at(i),
      ).toEqual(['a-check', 'b-check-deadline']);
      for (const run of validators) {
        expect(
          window.some((r) => r.type === 'RUN_SUCCEEDED' && r.data.runId === run.data.runId),
          `${at(i)}: ${run.data.function} did not succeed`,
        ).toBe(true);
      }
    }
  });

  // One generation per CONNECT: setup before cleanup; a rejected first connect has neither.
  const starts = history.flatMap((h, i) => (h.type === 'CONNECT' ? [i] : []));
  starts.forEach((from, g) => {
    const gen = history.slice(0, from + 1).filter((h) => h.type === 'CONNECT').length;
    const segment = history.slice(from, starts[g + 1] ?? history.length);
    const runsOf = (event: string) =>
      segment.filter((r) => r.type === 'RUN_STARTED' && r.data.event === event).map((r) => r.data.runId);
    const setupRuns = new Set(runsOf('post-connection-creation'));
    const cleanupRuns = new Set(runsOf('pre-connection-deletion'));
    const where = `${id} generation ${gen}`;
    if (c.rejectedGens.has(gen)) {
      expect(segment.at(-1), where).toMatchObject({ type: 'VALIDATION_FAILED', from: 'validating', to: 'deleted' });
      expect(setupRuns.size + cleanupRuns.size, `${where}: setup or cleanup after a rejected connect`).toBe(0);
      return;
    }
    const lastSetup = segment.findLastIndex(
      (r) => r.type === 'SETUP_FINISHED' || (r.data.runId !== undefined && setupRuns.has(r.data.runId)),
    );
    const firstCleanup = segment.findIndex((r) => r.data.runId !== undefined && cleanupRuns.has(r.data.runId));
    if (firstCleanup >= 0) {
      expect(lastSetup, `${where}: cleanup started before setup ended`).toBeLessThan(firstCleanup);
    }
    const setup = c.setupGens.get(gen);
    if (setup !== undefined) {
      const finished = segment.find((r) => r.type === 'SETUP_FINISHED');
      expect(finished?.data.failed, `${where}: setup ${setup}`).toEqual(
        setup === 'throw' || setup === 'http-500' ? ['a-setup'] : setup === 'timeout' ? ['b-setup-deadline'] : [],
      );
      // A failing setup function is retried by policy, every attempt recorded.
      const attempts = (name: string) =>
        segment.filter((r) => r.type === 'RUN_STARTED' && setupRuns.has(r.data.runId) && r.data.function === name)
          .length;
      expect(attempts('a-setup'), where).toBe(setup === 'throw' || setup === 'http-500' ? RETRY.maxAttempts : 1);
    }
    const cleanup = c.cleanupGens.get(gen);
    if (cleanup !== undefined) {
      const finished = segment.find((r) => r.type === 'CLEANUP_FINISHED');
      expect(finished, `${where}: cleanup ${cleanup}`).toMatchObject({ from: 'deleting', to: 'deleted' });
      expect(finished?.data.failed, `${where}: cleanup ${cleanup}`).toEqual(
        cleanup === 'throw' || cleanup === 'http-404'
          ? ['a-cleanup']
          : cleanup === 'timeout'
            ? ['b-cleanup-deadline']
            : [],
      );
    }
  });
}

/** Cleanup ran after setup and never alongside it, as the functions themselves saw it. */
function checkTraces(real: Real, model: Model) {
  const { world } = real;
  expect(world.violations).toEqual([]);
  for (const id of IDS) {
    const c = model.conns[id] as ConnModel;
    const mine = world.traces.filter((t) => t.conn === rid(real, id));
    expect(
      mine.filter((t) => t.end === null).map((t) => t.fn),
      `${id}: runs still going at rest`,
    ).toEqual([]);
    for (const gen of c.rejectedGens) {
      expect(
        mine.filter((t) => t.gen === gen && t.step !== 'validate').map((t) => t.fn),
        `${id} generation ${gen}: rejected on first connect`,
      ).toEqual([]);
    }
    for (const s of mine.filter((t) => t.step === 'setup')) {
      for (const k of mine.filter((t) => t.step === 'cleanup')) {
        const overlap = s.start < (k.end ?? Infinity) && k.start < (s.end ?? Infinity);
        expect(overlap, `${id}: ${s.fn} (gen ${s.gen}) overlaps ${k.fn} (gen ${k.gen})`).toBe(false);
        if (s.gen === k.gen) expect(s.end ?? Infinity, `${id}: cleanup before setup ended`).toBeLessThan(k.start);
      }
    }
    for (const gen of c.cleanupGens.keys()) {
      expect(
        mine.some((t) => t.gen === gen && t.fn === 'a-cleanup'),
        `${id} generation ${gen}: no cleanup ran`,
      ).toBe(true);
    }
    for (const gen of c.setupGens.keys()) {
      expect(
        mine.some((t) => t.gen === gen && t.fn === 'a-setup'),
        `${id} generation ${gen}: no setup ran`,
      ).toBe(true);
    }
  }
}

/** Waits for commands sent without waiting (checking them) and for background work, then checks everything. */
async function settleAndCheck(model: Model, real: Real) {
  for (const p of real.pending.splice(0)) await p.promise;
  real.inFlightVia.clear();
  // An engine's background work may end in the other's (cleanup after a setup): settle twice.
  for (let i = 0; i < 2; i++) for (const engine of real.engines) await engine.settled();
  for (const id of IDS) {
    const c = model.conns[id] as ConnModel;
    const view = await real.engine.getConnection(rid(real, id));
    expectView(view, c, id);
    if (!c.exists) continue;
    expect(await real.engine.replay(rid(real, id)), `${id}: replay equals the projection`).toEqual(view);
    const history = await real.engine.history(rid(real, id));
    expect(view?.version, id).toBe(history.length);
    checkLog(id, history, c);
  }
  checkTraces(real, model);
}

/** How many DELETEs of the run were recorded before their generation's setup had finished. */
async function countDeletesDuringSetup(real: Real) {
  for (const id of IDS) {
    const history = await real.engine.history(rid(real, id));
    history.forEach((h, i) => {
      if (h.type !== 'DELETE') return;
      const next = history.slice(i + 1);
      const setupEnd = next.findIndex((r) => r.type === 'SETUP_FINISHED');
      const nextConnect = next.findIndex((r) => r.type === 'CONNECT');
      if (setupEnd >= 0 && (nextConnect < 0 || setupEnd < nextConnect)) stats.deletesDuringSetup++;
    });
  }
}

/** Every table of the engine's schema, as text; versions per connection straight from the table. */
async function scanTables(store: TestStore, real: Real, model: Model) {
  const { db } = await store.open();
  const any = db as unknown as Kysely<any>;
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = ${real.engine.schema}`.execute(db);
  expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['lifeline_events', 'lifeline_connections']));
  const dump: string[] = [];
  for (const { table_name } of rows) {
    dump.push(JSON.stringify(await any.withSchema(real.engine.schema).selectFrom(table_name).selectAll().execute()));
  }
  const text = dump.join('\n');
  if (IDS.some((i) => model.conns[i]?.exists)) expect(text).toContain('"ciphertext":"v1:');
  for (const secret of real.secrets) expect(text.includes(secret), 'a plaintext credential is stored').toBe(false);
  for (const id of IDS) {
    if (!(model.conns[id] as ConnModel).exists) continue;
    const versions = await any
      .withSchema(real.engine.schema)
      .selectFrom('lifeline_events')
      .select('version')
      .where('connection_id', '=', rid(real, id))
      .orderBy('position')
      .execute();
    expect(
      versions.map((v) => Number(v.version)),
      `${id}: versions in the table`,
    ).toEqual(versions.map((_, i) => i + 1));
  }
}

// ---- commands ----------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<Model, Real>;

const conn = (model: Model, id: string) => model.conns[id] as ConnModel;
/** The connection id the engine sees for the model's `id` in this run. */
const rid = (real: Real, id: string) => `r${real.run}-${id}`;

/**
 * Runs a step's check now, or — for a command sent without waiting — at the next pause. The
 * command itself is sent before this returns, so commands reach the engine in step order.
 */
async function dispatch(real: Real, id: string, wait: boolean, check: Promise<void>, via: 0 | 1) {
  if (wait) return check;
  real.inFlightVia.set(id, via);
  check.catch(() => {}); // awaited (and rethrown) at the next pause
  real.pending.push({ id, promise: check });
}

const settledId = (real: Real, id: string) => !real.pending.some((p) => p.id === id);

/** Sends a command the model predicts; checks the result, or the refusal. */
function sendChecked(
  model: Model,
  real: Real,
  id: string,
  command: Command,
  accepted: boolean,
  wait: boolean,
  via: 0 | 1,
  apply: (c: ConnModel) => void,
) {
  const c = conn(model, id);
  const engine = engineFor(real, id, via);
  const sent = real.engines[engine].send(rid(real, id), command);
  if (!accepted) return dispatch(real, id, wait, expectRefused(sent, 'command_refused', real.secrets), engine);
  stats.accepted++;
  c.appRecords.push(command.type);
  apply(c);
  const expected = { state: c.state, error: c.error };
  const quiet = wait && settledId(real, id);
  return dispatch(
    real,
    id,
    wait,
    sent.then(async (r) => {
      expect({ state: r.state, error: r.error ?? null }, `${id} after ${command.type}`).toEqual(expected);
      if (quiet) expectView(await real.engine.getConnection(rid(real, id)), c, id);
    }),
    engine,
  );
}

/** The engine to send to: `via`, unless commands of this connection are in flight elsewhere (order). */
const engineFor = (real: Real, id: string, via: 0 | 1): 0 | 1 =>
  settledId(real, id) ? via : (real.inFlightVia.get(id) ?? via);

const waitNote = (wait: boolean, via: 0 | 1) => `${wait ? '' : ', not awaited'}${via === 1 ? ', via engine B' : ''}`;

class Connect implements Cmd {
  constructor(
    readonly id: string,
    readonly kind: CredKind,
    readonly validate: ValidateOutcome,
    readonly setup: SetupOutcome,
    readonly metadata: Record<string, unknown> | undefined,
    readonly nonce: string,
    readonly wait: boolean,
    readonly refusable: boolean,
    readonly via: 0 | 1,
  ) {}
  check(model: Model) {
    return this.refusable || conn(model, this.id).state === 'deleted';
  }
  async run(model: Model, real: Real) {
    model.executed++;
    const c = conn(model, this.id);
    const tag = `t${++model.counter}`;
    const secret = `sk-${this.nonce}-${tag}`;
    real.secrets.push(...leakForms(this.kind, secret));
    const accepted = c.state === 'deleted';
    const gen = c.gen + 1;
    if (accepted) {
      real.world.planValidation(rid(real, this.id), { outcome: this.validate, secret, tag });
      real.world.setup.set(`${rid(real, this.id)}#${gen}`, this.setup);
    }
    const command: Command = {
      type: 'CONNECT',
      integration: 'sf',
      credentials: credentials(this.kind, secret),
      connectionConfig: { generation: gen },
      ...(this.metadata ? { metadata: this.metadata } : {}),
    };
    await sendChecked(model, real, this.id, command, accepted, this.wait, this.via, (m) => {
      m.exists = true;
      m.gen = gen;
      m.metadata = { ...(this.metadata ?? {}), checked: tag };
      if (passes(this.validate)) {
        m.state = 'active';
        m.error = null;
        m.credentialsType = this.kind;
        m.setupGens.set(gen, this.setup);
      } else {
        m.state = 'deleted';
        m.error = validationError(this.validate, tag, false);
        m.credentialsType = null;
        m.rejectedGens.add(gen);
      }
    });
  }
  toString() {
    const md = this.metadata ? `, metadata=${JSON.stringify(this.metadata)}` : '';
    return `CONNECT(${this.id}, ${this.kind}, validate=${this.validate}, setup=${this.setup}${md}${waitNote(this.wait, this.via)})`;
  }
}

class Reconnect implements Cmd {
  constructor(
    readonly id: string,
    readonly kind: CredKind,
    readonly validate: ValidateOutcome,
    readonly nonce: string,
    readonly wait: boolean,
    readonly refusable: boolean,
    readonly via: 0 | 1,
  ) {}
  check(model: Model) {
    return this.refusable || conn(model, this.id).state !== 'deleted';
  }
  async run(model: Model, real: Real) {
    model.executed++;
    const c = conn(model, this.id);
    const tag = `t${++model.counter}`;
    const secret = `sk-${this.nonce}-${tag}`;
    real.secrets.push(...leakForms(this.kind, secret));
    const accepted = c.state === 'active' || c.state === 'auth_error';
    if (accepted) real.world.planValidation(rid(real, this.id), { outcome: this.validate, secret, tag });
    const command: Command = { type: 'RECONNECT', credentials: credentials(this.kind, secret) };
    await sendChecked(model, real, this.id, command, accepted, this.wait, this.via, (m) => {
      m.credentialsType = this.kind; // stored first, kept when rejected
      m.metadata = { ...m.metadata, checked: tag };
      if (passes(this.validate)) {
        m.state = 'active';
        m.error = null;
      } else {
        m.state = 'auth_error';
        m.error = validationError(this.validate, tag, true);
      }
    });
  }
  toString() {
    return `RECONNECT(${this.id}, ${this.kind}, validate=${this.validate}${waitNote(this.wait, this.via)})`;
  }
}

class RefreshFailed implements Cmd {
  constructor(
    readonly id: string,
    readonly message: string | undefined,
    readonly wait: boolean,
    readonly refusable: boolean,
    readonly via: 0 | 1,
  ) {}
  check(model: Model) {
    return this.refusable || conn(model, this.id).state === 'active';
  }
  async run(model: Model, real: Real) {
    model.executed++;
    const c = conn(model, this.id);
    const command: Command =
      this.message === undefined ? { type: 'REFRESH_FAILED' } : { type: 'REFRESH_FAILED', message: this.message };
    await sendChecked(model, real, this.id, command, c.state === 'active', this.wait, this.via, (m) => {
      m.state = 'auth_error';
      m.error = {
        type: 'refresh_failed',
        reason: 'refresh_exhausted',
        message: this.message ?? 'The credentials could not be refreshed',
      };
    });
  }
  toString() {
    const message = this.message === undefined ? '' : `, ${JSON.stringify(this.message)}`;
    return `REFRESH_FAILED(${this.id}${message}${waitNote(this.wait, this.via)})`;
  }
}

class Delete implements Cmd {
  constructor(
    readonly id: string,
    readonly cleanup: CleanupOutcome,
    readonly wait: boolean,
    readonly refusable: boolean,
    readonly via: 0 | 1,
  ) {}
  check(model: Model) {
    return this.refusable || conn(model, this.id).state !== 'deleted';
  }
  async run(model: Model, real: Real) {
    model.executed++;
    const c = conn(model, this.id);
    const accepted = c.state === 'active' || c.state === 'auth_error';
    if (accepted) real.world.cleanup.set(`${rid(real, this.id)}#${c.gen}`, this.cleanup);
    // Not awaited, it may be sent while a slow setup still runs; later commands queue behind it.
    await sendChecked(model, real, this.id, { type: 'DELETE' }, accepted, this.wait, this.via, (m) => {
      m.cleanupGens.set(m.gen, this.cleanup);
      m.state = 'deleted';
      m.credentialsType = null; // metadata and error are kept
    });
  }
  toString() {
    return `DELETE(${this.id}, cleanup=${this.cleanup}${waitNote(this.wait, this.via)})`;
  }
}

class AppMetadata implements Cmd {
  constructor(
    readonly id: string,
    readonly kind: 'set' | 'update',
    readonly metadata: Record<string, unknown>,
    readonly wait: boolean,
    readonly refusable: boolean,
    readonly via: 0 | 1,
  ) {}
  check(model: Model) {
    return this.refusable || conn(model, this.id).state !== 'deleted';
  }
  async run(model: Model, real: Real) {
    model.executed++;
    const c = conn(model, this.id);
    const via = engineFor(real, this.id, this.via);
    const engine = real.engines[via];
    const write =
      this.kind === 'set'
        ? engine.setMetadata(rid(real, this.id), this.metadata)
        : engine.updateMetadata(rid(real, this.id), this.metadata);
    if (!c.exists || c.state === 'deleted') {
      const code = c.exists ? 'command_refused' : 'connection_not_found';
      return dispatch(real, this.id, this.wait, expectRefused(write, code), via);
    }
    stats.accepted++;
    c.appRecords.push(this.kind === 'set' ? 'METADATA_SET' : 'METADATA_UPDATED');
    c.metadata = this.kind === 'set' ? { ...this.metadata } : { ...c.metadata, ...this.metadata };
    const state = c.state;
    const quiet = this.wait && settledId(real, this.id);
    return dispatch(
      real,
      this.id,
      this.wait,
      write.then(async (r) => {
        expect(r.state, `${this.id} after ${this.kind}Metadata`).toBe(state);
        if (quiet) expectView(await real.engine.getConnection(rid(real, this.id)), c, this.id);
      }),
      via,
    );
  }
  toString() {
    return `${this.kind}Metadata(${this.id}, ${JSON.stringify(this.metadata)}${waitNote(this.wait, this.via)})`;
  }
}

class Settle implements Cmd {
  check = () => true;
  async run(model: Model, real: Real) {
    model.executed++;
    await settleAndCheck(model, real);
  }
  toString() {
    return 'settle';
  }
}

const id = fc.constantFrom(...IDS);
const kind = fc.constantFrom<CredKind>('OAUTH2', 'API_KEY', 'BASIC');
const nonce = fc.stringMatching(/^[0-9a-f]{12}$/);
const metadata = fc.dictionary(fc.constantFrom('a', 'b', 'checked'), fc.integer({ min: 0, max: 9 }), { maxKeys: 2 });
// Outcomes are weighted towards passing so that sequences get past CONNECT often enough.
const validate = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<ValidateOutcome>('pass', 'provider-pass') },
  { weight: 3, arbitrary: fc.constantFrom<ValidateOutcome>('throw', 'timeout', 'http-500', 'http-404') },
);

// Most commands are generated only where the model accepts them; about one in four may be refused.
const refusable = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);
// Two in three commands are awaited; the others are left in flight (checked at the next pause).
const wait = fc.integer({ min: 0, max: 2 }).map((n) => n > 0);
// One in four commands goes to a second engine on the same database (another process).
const via = fc.integer({ min: 0, max: 3 }).map((n): 0 | 1 => (n === 0 ? 1 : 0));

const connect = fc
  .tuple(
    id,
    kind,
    validate,
    fc.constantFrom(...SETUP),
    fc.option(metadata, { nil: undefined }),
    nonce,
    wait,
    refusable,
    via,
  )
  .map(([i, k, v, s, m, n, w, r, e]) => new Connect(i, k, v, s, m, n, w, r, e));
const commandArbs = [
  connect,
  connect,
  fc
    .tuple(id, kind, validate, nonce, wait, refusable, via)
    .map(([i, k, v, n, w, r, e]) => new Reconnect(i, k, v, n, w, r, e)),
  fc
    .tuple(
      id,
      fc.option(fc.constantFrom('token revoked', 'refresh token expired'), { nil: undefined }),
      wait,
      refusable,
      via,
    )
    .map(([i, m, w, r, e]) => new RefreshFailed(i, m, w, r, e)),
  fc.tuple(id, fc.constantFrom(...CLEANUP), wait, refusable, via).map(([i, k, w, r, e]) => new Delete(i, k, w, r, e)),
  fc
    .tuple(id, fc.constantFrom<'set' | 'update'>('set', 'update'), metadata, wait, refusable, via)
    .map(([i, k, m, w, r, e]) => new AppMetadata(i, k, m, w, r, e)),
  fc.constant(new Settle()),
];

describe.each(testStores)('lifecycle model on $name', (store) => {
  const newEngine = engineFactory(store);
  let provider: FakeProvider;
  beforeAll(async () => {
    provider = await startFakeProvider();
    provider.script('GET /me', { json: { id: 'me' } });
    provider.script('/status/500', { status: 500, json: { error: 'down' } });
  });
  afterAll(() => provider.close());

  it('random command sequences with random function outcomes keep every lifecycle invariant', async () => {
    Object.assign(stats, { deletesDuringSetup: 0, refused: 0, accepted: 0, timeouts: 0 });
    let sequences = 0;
    let executed = 0;
    let schema: string | undefined;
    let run = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.commands(commandArbs, { maxCommands: 40, size: 'max' }), async (cmds) => {
        const world = new World();
        const options = {
          functions: functionsFor(world),
          integrations: { sf: { baseUrl: provider.baseUrl } },
          functionTimeoutMs: DEADLINE_MS,
          retry: RETRY,
          closeTimeoutMs: 10_000,
        };
        const engine = await newEngine({ ...options, ...(schema ? { schema } : {}) });
        schema = engine.schema;
        const other = await newEngine({ ...options, schema });
        const model = newModel();
        const real: Real = {
          engine,
          engines: [engine, other],
          inFlightVia: new Map(),
          world,
          pending: [],
          secrets: [],
          run: ++run,
        };
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          await settleAndCheck(model, real);
          const ids = IDS.filter((i) => model.conns[i]?.exists).map((i) => rid(real, i));
          expect((await engine.verify(ids)).mismatches).toEqual([]);
          await scanTables(store, real, model);
          await countDeletesDuringSetup(real);
          sequences++;
          executed += model.executed;
        } finally {
          await Promise.allSettled(real.pending.map((p) => p.promise));
          await Promise.all(real.engines.map((e) => e.close()));
        }
      }),
      { numRuns: RUNS },
    );
    console.info(
      `[lifecycle model on ${store.name}] ${sequences} sequences, ${executed} commands run ` +
        `(${stats.accepted} accepted, ${stats.refused} refused, the rest pauses), ${stats.timeouts} function timeouts, ` +
        `${stats.deletesDuringSetup} DELETEs recorded while a setup was running, ${Date.now() - started} ms`,
    );
  }, 900_000);
});
