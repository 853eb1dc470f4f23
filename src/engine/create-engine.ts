import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import type { Kysely } from 'kysely';
import { Agent } from 'undici';
import type {
  ConnectionError,
  ConnectionEvent,
  FunctionEventName,
  FunctionRunError,
  MetadataWriter,
} from '../../machines/connection-events.js';
import { type ConnectionProjection, fold, type ServiceRequest, tryEvolve } from '../../machines/connection-fold.js';
import type { ConnectionState } from '../../machines/connection-machine.js';
import { type CredentialsCipher, createCredentialsCipher } from '../crypto/credentials-cipher.js';
import { resolveEncryptionKey } from '../crypto/encryption-key.js';
import { createRedactor, type Redactor } from '../crypto/secret-redactor.js';
import { describeZodIssues } from '../describe-zod-issues.js';
import {
  CommandRefusedError,
  ConfigurationError,
  InvalidCommandError,
  isLifelineError,
  LifelineError,
} from '../errors.js';
import type { LogLevel, OnEventContext } from '../functions/context-types.js';
import { createFunctionContext, type RunHost } from '../functions/function-context.js';
import { createLockStore, type LockStore } from '../functions/function-locks.js';
import { checkDefinition, type LoadedFunction, loadFunctions } from '../functions/load-functions.js';
import { atLeast, isLogLevel } from '../functions/log-arguments.js';
import { ExecutionTimeoutError, toRunError } from '../functions/run-error.js';
import { runSecrets } from '../functions/run-secrets.js';
import { createFunctionRunner, type FunctionRunner } from '../functions/worker-runner.js';
import { type HttpSettings, resolveHttpSettings } from '../http/http-settings.js';
import { createDefaultLogger, type Logger } from '../logger.js';
import { resolveIntegration } from '../providers/resolve-integration.js';
import {
  type AppendEffects,
  EventStore,
  emptyStoredProjection,
  IdempotencyKeyTaken,
  type LogRecord,
  type PendingRecord,
  type StoredProjection,
  toFoldInput,
} from '../store/event-store.js';
import { migrateToLatest } from '../store/migrate.js';
import { type Database, openDatabase, resolveDatabaseUrl } from '../store/open-database.js';
import { createRecordChain, type RecordChain } from '../store/record-chain.js';
import { type Mismatch, verifyConnection } from '../store/verify-connection.js';
import { type Command, commandSchema, connectionIdSchema, metadataSchema } from './command-schemas.js';
import type { EngineOptions, IntegrationConfig, RetryPolicy } from './engine-options.js';
import { jsonProblem, toJsonSafe } from './json-safe.js';
import { KeyedMutex } from './keyed-mutex.js';
import { type RecordedCall, recordCalls } from './record-calls.js';
import { resolveDurability } from './resolve-durability.js';
import { WorkingSet } from './working-set.js';

/** What `send` resolves to once the command's own work is done. */
export interface SendResult {
  connectionId: string;
  state: ConnectionState;
  version: number;
  error?: ConnectionError;
}

/** A connection as `getConnection` and `replay` show it. Credentials are never shown. */
export interface ConnectionView {
  connectionId: string;
  integration: string | null;
  state: ConnectionState;
  metadata: Record<string, unknown>;
  connectionConfig: Record<string, unknown>;
  credentialsType: string | null;
  error?: ConnectionError;
  version: number;
  createdAt: Date | null;
  updatedAt: Date | null;
}

/** One record of a connection's log, as `history` returns it. */
export interface HistoryEntry {
  version: number;
  type: string;
  at: Date;
  from: ConnectionState | null;
  to: ConnectionState;
  data: Record<string, unknown>;
}

/** What `verify` checked and what it found. An empty `mismatches` means the log is intact. */
export interface VerifyReport {
  connections: number;
  records: number;
  mismatches: Mismatch[];
}

export interface VerifyOptions {
  /** Called after each connection with how many were checked (and the total, when known). */
  onProgress?: (checked: number, total: number | null) => void;
  /** Whole-store verify: connections read per round trip, projections then records (default 250). */
  pageSize?: number;
}

/** Options of {@link Engine.dryrun}. */
export interface DryrunOptions {
  /** Run the function of this integration (default: the connection's). */
  integration?: string;
  /** Start the run from this metadata instead of the stored one. */
  metadata?: Record<string, unknown>;
  /** `environmentName` for the run (default: the engine's). */
  environment?: string;
  /** Store the run's metadata writes (recorded with writer `dryrun:<integration>/<name>`). */
  save?: boolean;
}

/** What a dry run did: its outcome, log lines, provider calls and metadata writes. */
export interface DryrunResult {
  connectionId: string;
  integration: string;
  function: string;
  event: string;
  outcome: 'succeeded' | 'failed' | 'timed_out';
  error?: FunctionRunError;
  durationMs: number;
  logs: Array<{ level: LogLevel; message: string; at: string }>;
  calls: RecordedCall[];
  metadataWrites: Array<{ kind: 'set' | 'update'; metadata: Record<string, unknown> }>;
  /** The metadata as the run left it (stored only with `save`). */
  metadata: Record<string, unknown>;
  saved: boolean;
}

/** Options of {@link Engine.send}. */
export interface SendOptions {
  /** A command sent again with the same key returns the first result and appends nothing more. */
  idempotencyKey?: string;
}

/** Durability settings, resolved from the engine options. */
export interface Durability {
  leaseMs: number;
  recoveryIntervalMs: number;
  closeTimeoutMs: number;
  commandWaitMs: number;
  retry: RetryPolicy;
  validationRetry: RetryPolicy;
}

const TRANSITIONAL = new Set<string>(['pending', 'validating', 'deleting']);

/** The record that ends each service (its lease is dropped in the same transaction). */
const SERVICE_ENDED_BY: Partial<Record<string, FunctionEventName>> = {
  VALIDATION_PASSED: 'validate-connection',
  VALIDATION_FAILED: 'validate-connection',
  SETUP_FINISHED: 'post-connection-creation',
  CLEANUP_FINISHED: 'pre-connection-deletion',
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** A service a commit started; its first function's run is already recorded as started. */
type StartedService = ServiceRequest & { firstRunId?: string };

/** A run recorded as started, and the projection that record led to. */
interface StartedRun {
  runId: string;
  projection: ConnectionProjection;
}

/** Where a run's reads and metadata writes go: the log for a real run, memory for a dry run. */
interface RunSink {
  environment: string;
  read: RunHost['read'];
  writeMetadata(kind: 'set' | 'update', metadata: Record<string, unknown>): Promise<void>;
  observe?: (context: OnEventContext) => OnEventContext;
}

export interface Engine {
  send(connectionId: string, command: Command, options?: SendOptions): Promise<SendResult>;
  getConnection(connectionId: string): Promise<ConnectionView | null>;
  history(connectionId: string): Promise<HistoryEntry[]>;
  replay(connectionId: string, options?: { toVersion?: number; at?: Date | string }): Promise<ConnectionView | null>;
  verify(connectionIds?: string[], options?: VerifyOptions): Promise<VerifyReport>;
  setMetadata(connectionId: string, metadata: Record<string, unknown>): Promise<SendResult>;
  updateMetadata(connectionId: string, metadata: Record<string, unknown>): Promise<SendResult>;
  /**
   * Runs one function against an existing connection — real provider calls — and reports its
   * logs, provider calls and metadata writes. Nothing is stored unless `save` is set.
   */
  dryrun(functionName: string, connectionId: string, options?: DryrunOptions): Promise<DryrunResult>;
  settled(): Promise<void>;
  close(): Promise<void>;
}

const ACCEPTED_IN: Record<string, string> = {
  CONNECT: 'no connection yet, or deleted',
  RECONNECT: 'active, auth_error',
  REFRESH_FAILED: 'active',
  DELETE: 'pending, active, auth_error',
  METADATA_SET: 'any state but deleted',
  METADATA_UPDATED: 'any state but deleted',
};

const MAX_LOG_LINES = 200;

/** Connections `verify` reads per round trip (their projections, then their records). */
const VERIFY_PAGE = 250;

export function toView(p: ConnectionProjection): ConnectionView {
  const view: ConnectionView = {
    connectionId: p.connectionId,
    integration: p.context.integration,
    state: p.state,
    metadata: p.context.metadata,
    connectionConfig: p.context.connectionConfig,
    credentialsType: p.context.credentials?.type ?? null,
    version: p.version,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
  if (p.context.error) view.error = p.context.error;
  return view;
}

/** Refuses what the log could not store as given; returns it as the log will hold it. */
function storable<T>(value: T, what: string): T {
  const problem = jsonProblem(value);
  if (problem) throw new InvalidCommandError(`invalid ${what}: ${problem}`);
  return JSON.parse(JSON.stringify(value)) as T;
}

function result(p: ConnectionProjection): SendResult {
  const r: SendResult = { connectionId: p.connectionId, state: p.state, version: p.version };
  if (p.context.error) r.error = p.context.error;
  return r;
}

function parseOrThrow<T>(
  schema: { safeParse(v: unknown): { success: boolean; data?: T; error?: unknown } },
  value: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as T;
  const issues = (parsed.error as { issues: Array<{ path: PropertyKey[]; message: string }> }).issues;
  // Messages name paths and expectations only, never the values given (they may be secrets).
  throw new InvalidCommandError(`invalid ${what}: ${describeZodIssues(parsed.error)}`, {
    issues: issues.map((i) => ({ path: i.path.map(String), message: i.message })),
  });
}

class LifelineEngine implements Engine {
  private readonly commandQueue = new KeyedMutex();
  private readonly appendQueue = new KeyedMutex();
  private readonly working = new WorkingSet();
  private readonly background = new Map<string, Set<Promise<unknown>>>();
  /** Commands and app metadata writes accepted and not yet finished; `close()` waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  /** This engine instance, as the owner of the services (leases) it runs. */
  private readonly owner = randomUUID();
  private recoveryTimer: NodeJS.Timeout | undefined;
  private readonly heartbeats = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: EventStore,
    private readonly database: Database,
    private readonly ownsDatabase: boolean,
    private readonly cipher: CredentialsCipher,
    private readonly chain: RecordChain,
    private readonly functions: LoadedFunction[],
    private readonly integrations: Record<string, IntegrationConfig>,
    private readonly logger: Logger,
    private readonly dispatcher: Agent,
    private readonly options: {
      environment: string;
      functionTimeoutMs: number;
      http: HttpSettings;
      functionLogLevel: LogLevel;
      environmentVariables: Record<string, string>;
      locks: LockStore;
      durability: Durability;
      /** Calls a function's exec in a worker thread or inline (`isolation`). */
      runExec: FunctionRunner;
    },
  ) {
    const { recoveryIntervalMs } = options.durability;
    if (recoveryIntervalMs > 0) {
      this.recoveryTimer = setInterval(() => void this.recoverOnce(), recoveryIntervalMs);
      this.recoveryTimer.unref();
      void this.recoverOnce();
    }
  }

  // ---- public API -------------------------------------------------------------------------

  async send(connectionId: string, command: Command, options: SendOptions = {}): Promise<SendResult> {
    this.assertOpen();
    const id = parseOrThrow<string>(connectionIdSchema, connectionId, 'connection id');
    const cmd = storable(parseOrThrow<Command>(commandSchema, command, 'command'), 'command');
    const key = options.idempotencyKey;
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 255)) {
      throw new InvalidCommandError('idempotencyKey must be a string of 1 to 255 characters');
    }
    if (cmd.type === 'CONNECT' && !this.knows(cmd.integration)) {
      throw new InvalidCommandError(
        `unknown integration ${cmd.integration}: it is neither configured in integrations nor has functions`,
      );
    }
    if (key !== undefined) {
      const earlier = await this.idempotentResult(id, key);
      if (earlier) return earlier;
    }
    return this.enqueue(id, async () => {
      let committed: Awaited<ReturnType<LifelineEngine['commit']>>;
      try {
        committed = await this.commitWhenSettled(id, cmd.type, () => this.commandEvents(id, cmd), {
          ...(key !== undefined ? { idempotencyKey: key } : {}),
          assumeNew: cmd.type === 'CONNECT',
        });
      } catch (error) {
        if (error instanceof IdempotencyKeyTaken) return (await this.idempotentResult(id, error.key)) as SendResult;
        // Refused because the same command, sent earlier with this key, already changed the state.
        if (key !== undefined && isLifelineError(error, 'command_refused')) {
          const earlier = await this.idempotentResult(id, key);
          if (earlier) return earlier;
        }
        throw error;
      }
      let last = await this.runServices(id, committed.services, committed.projection);
      if (cmd.type === 'DELETE') {
        await this.drain(id);
        // Cleanup ran here, or after the setup it waited for (drained above), or in another engine.
        if (last.state === 'deleting') last = this.working.get(id) ?? last;
        if (last.state === 'deleting') last = await this.waitWhileTransitional(id, 'deleting');
      }
      const sent = result(last);
      if (key !== undefined) await this.store.saveIdempotentResult(key, { ...sent });
      return sent;
    });
  }

  /**
   * The result a command sent with `key` had, waiting for it if that command is still running
   * (possibly in another process); null when the key is new.
   */
  private async idempotentResult(id: string, key: string): Promise<SendResult | null> {
    const deadline = Date.now() + this.options.durability.commandWaitMs;
    for (;;) {
      const known = await this.store.idempotent(key);
      if (!known) return null;
      if (known.connectionId !== id) {
        throw new InvalidCommandError(
          `idempotency key ${key} was used for connection ${known.connectionId}, not ${id}`,
        );
      }
      if (known.result) return known.result as unknown as SendResult;
      // The command that took the key is still running, or its process stopped before saving the
      // result: after commandWaitMs, answer with the connection as it is.
      if (Date.now() > deadline) return result(await this.store.loadOrEmpty(id));
      await sleep(50);
    }
  }

  /**
   * Commits a command; when the connection is mid-validation or mid-deletion (another process is
   * working on it, or recovery will), waits its turn instead of refusing it.
   */
  private async commitWhenSettled(
    id: string,
    type: string,
    build: (current: ConnectionProjection) => ConnectionEvent[],
    options: { idempotencyKey?: string; assumeNew?: boolean },
  ) {
    const deadline = Date.now() + this.options.durability.commandWaitMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commit(id, build, attempt === 1 ? options : { ...options, assumeNew: false });
      } catch (error) {
        const state = (error as { details?: { state?: string } }).details?.state;
        if (!isLifelineError(error, 'command_refused') || !state || !TRANSITIONAL.has(state)) throw error;
        if (Date.now() > deadline) {
          throw new CommandRefusedError(
            `${type} waited ${this.options.durability.commandWaitMs} ms for connection ${id} to leave ${state}; try again later`,
            { connectionId: id, state, type },
          );
        }
        await this.waitWhileTransitional(id, state, deadline);
      }
    }
  }

  /** Polls until the connection leaves `state` (or the deadline passes); returns it as it is then. */
  private async waitWhileTransitional(
    id: string,
    state: string,
    deadline = Date.now() + this.options.durability.commandWaitMs,
  ) {
    for (;;) {
      const now = await this.store.loadOrEmpty(id);
      if (now.state !== state || Date.now() > deadline || this.closed) return now;
      await sleep(50);
    }
  }

  async getConnection(connectionId: string): Promise<ConnectionView | null> {
    const p = await this.store.load(connectionId);
    return p ? toView(p) : null;
  }

  async history(connectionId: string): Promise<HistoryEntry[]> {
    return (await this.store.history(connectionId)).map((r) => ({
      version: r.version,
      type: r.type,
      at: r.at,
      from: r.from,
      to: r.to,
      data: r.data,
    }));
  }

  async replay(
    connectionId: string,
    options: { toVersion?: number; at?: Date | string } = {},
  ): Promise<ConnectionView | null> {
    const upTo: { toVersion?: number; at?: Date } = {};
    if (options.toVersion !== undefined) upTo.toVersion = options.toVersion;
    if (options.at !== undefined) {
      const at = new Date(options.at);
      if (Number.isNaN(at.getTime())) throw new InvalidCommandError(`replay: ${String(options.at)} is not a time`);
      upTo.at = at;
    }
    const records = await this.store.history(connectionId, upTo);
    if (records.length === 0) return null;
    return toView(fold(connectionId, records.map(toFoldInput)));
  }

  async verify(connectionIds?: string[], options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyStore(this.store, this.chain, connectionIds, options);
  }

  setMetadata(connectionId: string, metadata: Record<string, unknown>): Promise<SendResult> {
    return this.appMetadata(connectionId, 'set', metadata);
  }

  updateMetadata(connectionId: string, metadata: Record<string, unknown>): Promise<SendResult> {
    return this.appMetadata(connectionId, 'update', metadata);
  }

  async settled(): Promise<void> {
    for (;;) {
      const pending = [...this.background.values()].flatMap((set) => [...set]);
      if (pending.length === 0) return;
      await Promise.allSettled(pending);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.recoveryTimer);
    // Commands already accepted finish (their outcomes are recorded) and background runs end,
    // up to closeTimeoutMs; new commands are refused.
    const bounded = sleep(this.options.durability.closeTimeoutMs).then(() => 'timeout' as const);
    const drained = (async () => {
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      await this.settled();
    })();
    if ((await Promise.race([drained, bounded])) === 'timeout') {
      this.logger.warn('close: functions still running after closeTimeoutMs; other engines will take them over');
    }
    for (const timer of this.heartbeats) clearInterval(timer);
    // Hand what this engine still holds to other engines now rather than after the lease.
    await this.store.expireLeases(this.owner).catch(() => {});
    await this.dispatcher.close();
    if (this.ownsDatabase) await this.database.close();
  }

  // ---- commands ---------------------------------------------------------------------------

  private commandEvents(id: string, cmd: Command): ConnectionEvent[] {
    switch (cmd.type) {
      case 'CONNECT':
        return [
          {
            type: 'CONNECT',
            integration: cmd.integration,
            credentials: this.cipher.seal(id, cmd.credentials),
            connectionConfig: cmd.connectionConfig ?? {},
            metadata: cmd.metadata ?? {},
          },
          {
            type: 'VALIDATION_STARTED',
            functions: this.functionsFor(cmd.integration, 'validate-connection').map((f) => f.name),
          },
        ];
      case 'RECONNECT': {
        const event: ConnectionEvent = { type: 'RECONNECT', credentials: this.cipher.seal(id, cmd.credentials) };
        if (cmd.connectionConfig) event.connectionConfig = cmd.connectionConfig;
        return [event];
      }
      case 'REFRESH_FAILED':
        return [
          cmd.message === undefined ? { type: 'REFRESH_FAILED' } : { type: 'REFRESH_FAILED', message: cmd.message },
        ];
      case 'DELETE':
        return [{ type: 'DELETE' }];
    }
  }

  private async appMetadata(connectionId: string, kind: 'set' | 'update', metadata: Record<string, unknown>) {
    this.assertOpen();
    const id = parseOrThrow<string>(connectionIdSchema, connectionId, 'connection id');
    const value = storable(parseOrThrow<Record<string, unknown>>(metadataSchema, metadata, 'metadata'), 'metadata');
    // In line with the connection's commands: a write sent after a command applies after it.
    return this.enqueue(id, async () => result((await this.writeMetadata(id, kind, value, 'app')).projection));
  }

  /** Runs `work` in the connection's command queue, tracked so that `close()` can wait for it. */
  private enqueue<T>(id: string, work: () => Promise<T>): Promise<T> {
    this.working.enter(id);
    const done = this.commandQueue.run(id, work);
    const tracked = done.then(
      () => this.working.leave(id),
      () => this.working.leave(id),
    );
    this.inFlight.add(tracked);
    void tracked.then(() => this.inFlight.delete(tracked));
    return done;
  }

  private async writeMetadata(
    id: string,
    kind: 'set' | 'update',
    metadata: Record<string, unknown>,
    writer: MetadataWriter,
  ) {
    let dropped: string[] = [];
    let previousWriters: Record<string, string> = {};
    const committed = await this.commit(id, (current) => {
      if (current.version === 0) {
        throw new LifelineError('connection_not_found', `connection ${id} does not exist`);
      }
      if (kind === 'update') return [{ type: 'METADATA_UPDATED', metadata, writer }];
      previousWriters = current.context.metadataWriters;
      dropped = Object.keys(current.context.metadata).filter(
        (key) => !(key in metadata) && (previousWriters[key] ?? 'app') !== writer,
      );
      return [
        dropped.length > 0
          ? { type: 'METADATA_SET', metadata, writer, dropped }
          : { type: 'METADATA_SET', metadata, writer },
      ];
    });
    if (dropped.length > 0) {
      const owners = [...new Set(dropped.map((key) => previousWriters[key] ?? 'app'))];
      this.logger.warn(
        { connectionId: id, writer, droppedKeys: dropped, writtenBy: owners },
        `setMetadata by ${writer} dropped metadata keys [${dropped.join(', ')}] written by ${owners.join(', ')}: setMetadata replaces the whole object; use updateMetadata to merge`,
      );
    }
    return committed;
  }

  // ---- the append path: decide with the machine, then append -----------------------------

  /**
   * Folds `build(projection)` through the machine and appends the records with the new projection
   * in one statement. Starts from the projection this engine last wrote while it works on the
   * connection (see WorkingSet), else reads it. Retries when another writer got there first.
   */
  private commit(
    id: string,
    build: (current: ConnectionProjection) => ConnectionEvent[],
    options: {
      idempotencyKey?: string;
      /** Start from "no connection yet" rather than read it (a CONNECT usually names a new id). */
      assumeNew?: boolean;
      ifRefused?: (event: ConnectionEvent, state: ConnectionProjection) => ConnectionEvent;
    } = {},
  ): Promise<{ projection: ConnectionProjection; services: StartedService[] }> {
    const { idempotencyKey, ifRefused } = options;
    return this.appendQueue.run(id, async () => {
      let guess: StoredProjection | undefined = options.assumeNew ? emptyStoredProjection(id) : undefined;
      for (let attempt = 1; ; attempt++) {
        // Unread: the projection this engine last wrote, or the guess. The append's version check
        // (and a re-read before any refusal) catches either being wrong.
        const remembered = this.working.get(id) ?? guess;
        guess = undefined;
        const before = remembered ?? (await this.store.loadOrEmpty(id));
        let decided: ReturnType<LifelineEngine['decide']>;
        try {
          decided = this.decide(id, before, build(before), ifRefused);
        } catch (error) {
          // A refusal must rest on the stored state, not on a remembered one that may be stale.
          if (remembered === undefined) throw error;
          this.working.forget(id);
          continue;
        }
        const { records, projection, services, ended } = decided;
        const effects: AppendEffects = {
          start: services.map((s) => s.src),
          end: ended,
          owner: this.owner,
          leaseMs: this.options.durability.leaseMs,
          ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
        };
        try {
          const stored = await this.store.append(id, before, records, projection, effects);
          this.working.remember(stored);
          return { projection: stored, services };
        } catch (error) {
          this.working.forget(id);
          if (!isLifelineError(error, 'concurrent_modification') || attempt >= 10) throw error;
        }
      }
    });
  }

  /**
   * The records `events` make from `before`, and the projection they lead to. An event the machine
   * does not accept is replaced by `ifRefused(event)`, or refused with CommandRefusedError. Every
   * service the events start gets its first function's RUN_STARTED in the same records: the run
   * is in the log before it runs, at no extra commit.
   */
  private decide(
    id: string,
    before: ConnectionProjection,
    events: ConnectionEvent[],
    ifRefused?: (event: ConnectionEvent, state: ConnectionProjection) => ConnectionEvent,
  ) {
    let projection = before;
    const records: PendingRecord[] = [];
    const services: StartedService[] = [];
    const recorded: ConnectionEvent[] = [];
    const at = new Date();
    const apply = (given: ConnectionEvent) => {
      const version = projection.version + 1;
      let event = given;
      let next = tryEvolve(projection, { version, event, at });
      if (!next && ifRefused) {
        event = ifRefused(given, projection);
        next = tryEvolve(projection, { version, event, at });
      }
      if (!next) {
        const stateName = projection.version === 0 ? 'does not exist' : `is ${projection.state}`;
        throw new CommandRefusedError(
          `${event.type} is not accepted: connection ${id} ${stateName}` +
            (ACCEPTED_IN[event.type] ? ` (accepted in: ${ACCEPTED_IN[event.type]})` : ''),
          { connectionId: id, state: projection.version === 0 ? null : projection.state, type: event.type },
        );
      }
      recorded.push(event);
      records.push({
        version: next.projection.version,
        event,
        at,
        from: projection.version === 0 ? null : projection.state,
        to: next.projection.state,
      });
      projection = next.projection;
      return next.services;
    };
    // Copies: the machine's service requests are shared, and these get their first run's id.
    for (const event of events) services.push(...apply(event).map((service) => ({ ...service })));
    const ended = recorded.map((e) => SERVICE_ENDED_BY[e.type]).filter((s): s is FunctionEventName => s !== undefined);
    for (const service of services) {
      const event = service.src as FunctionEventName;
      const [first] = this.functionsFor(projection.context.integration as string, event);
      if (!first) continue;
      service.firstRunId = randomUUID();
      apply({ type: 'RUN_STARTED', runId: service.firstRunId, event, function: first.name, attempt: 1 });
    }
    return { records, projection, services, ended };
  }

  /**
   * Records what happened to a function run. A failed write is retried (a database blip must not
   * leave a connection waiting for an outcome that was already decided).
   */
  private async commitOutcome(id: string, events: ConnectionEvent[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        // An outcome the machine no longer accepts (its run was abandoned, its validation
        // superseded) is recorded as ignored: it never changes state.
        return await this.commit(id, () => events, {
          ifRefused: (event, current) => ({
            type: 'OUTCOME_IGNORED',
            ignored: event,
            reason: `not accepted in ${JSON.stringify(current.stateValue)}: its run or validation was superseded`,
          }),
        });
      } catch (error) {
        if (isLifelineError(error) || attempt >= 4) throw error;
        this.logger.warn({ connectionId: id, err: error, attempt }, 'recording a function outcome failed; retrying');
        await new Promise((r) => setTimeout(r, 100 * 4 ** (attempt - 1)));
      }
    }
  }

  // ---- services: the event functions the machine asked for ---------------------------------

  /** Starts the services; waits for all but `post-connection-creation`, which runs in the background. */
  private async runServices(id: string, services: StartedService[], projection: ConnectionProjection) {
    let last = projection;
    for (const service of services) {
      const event = service.src as FunctionEventName;
      const run = () => this.runService(id, event, projection, service.firstRunId);
      if (event === 'post-connection-creation') this.track(id, this.withLease(id, event, run));
      else last = await this.withLease(id, event, run);
    }
    return last;
  }

  /** Keeps this engine's lease on a service alive while `work` runs. */
  private async withLease<T>(id: string, service: string, work: () => Promise<T>): Promise<T> {
    const { leaseMs } = this.options.durability;
    const timer = setInterval(
      () => {
        this.store.renewLease(id, service, this.owner, leaseMs).then(
          (held) => {
            if (!held)
              this.logger.warn(
                { connectionId: id, service },
                'lost the lease on a running service; its outcome may be ignored',
              );
          },
          (error) => this.logger.warn({ connectionId: id, service, err: error }, 'renewing a lease failed'),
        );
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    this.heartbeats.add(timer);
    try {
      return await work();
    } finally {
      clearInterval(timer);
      this.heartbeats.delete(timer);
    }
  }

  /**
   * One pass of crash recovery: claims services whose engine stopped (lease expired), closes their
   * orphaned runs as RUN_ABANDONED and runs the service again from the start (at-least-once).
   */
  async recoverOnce(): Promise<number> {
    if (this.closed) return 0;
    let claimed: Awaited<ReturnType<EventStore['claimExpired']>>;
    try {
      claimed = await this.store.claimExpired(this.owner, this.options.durability.leaseMs, 10);
    } catch (error) {
      this.logger.warn({ err: error }, 'crash recovery could not claim services');
      return 0;
    }
    for (const { connectionId, service } of claimed) {
      this.logger.info({ connectionId, service }, 'recovering a service whose engine stopped');
      this.track(
        connectionId,
        this.withLease(connectionId, service, () => this.resume(connectionId, service as FunctionEventName)),
      );
    }
    return claimed.length;
  }

  private async resume(id: string, service: FunctionEventName): Promise<ConnectionProjection> {
    let current: ConnectionProjection = await this.store.loadOrEmpty(id);
    const orphans = Object.entries(current.context.runs).filter(([, run]) => run.event === service);
    if (orphans.length > 0) {
      ({ projection: current } = await this.commitOutcome(
        id,
        orphans.map(([runId, run]) => ({
          type: 'RUN_ABANDONED' as const,
          runId,
          function: run.function,
          reason: 'the engine running it stopped (its lease expired); running it again',
        })),
      ));
    }
    const due =
      service === 'validate-connection'
        ? current.state === 'validating'
        : service === 'post-connection-creation'
          ? current.context.setupRunning
          : JSON.stringify(current.stateValue) === JSON.stringify({ deleting: 'cleaning' });
    if (!due) {
      await this.store.endService(id, service, this.owner);
      return current;
    }
    return this.runService(id, service, current);
  }

  private track(id: string, work: Promise<unknown>) {
    let set = this.background.get(id);
    if (!set) {
      set = new Set();
      this.background.set(id, set);
    }
    this.working.enter(id);
    const entry = work
      .catch((error) => this.logger.error({ connectionId: id, err: error }, 'background function run failed'))
      .finally(() => {
        this.working.leave(id);
        set.delete(entry);
        if (set.size === 0 && this.background.get(id) === set) this.background.delete(id);
      });
    set.add(entry);
  }

  private async drain(id: string) {
    for (;;) {
      const set = this.background.get(id);
      if (!set || set.size === 0) return;
      await Promise.allSettled([...set]);
    }
  }

  private async runService(
    id: string,
    event: FunctionEventName,
    started: ConnectionProjection,
    firstRunId?: string,
  ): Promise<ConnectionProjection> {
    const integration = started.context.integration as string;
    const functions = this.functionsFor(integration, event);
    // A run's outcome is appended with the next record (the next run's start, or the step's
    // outcome): one commit fewer per run, and still recorded before anything acts on it.
    const pending: ConnectionEvent[] = [];
    // The first function's first attempt was recorded as started with the step (see `decide`).
    const firstRun = firstRunId === undefined ? undefined : { runId: firstRunId, projection: started };
    let outcome: ConnectionEvent;
    if (event === 'validate-connection') {
      const validation = started.context.validation;
      outcome = { type: 'VALIDATION_PASSED', validation };
      for (const [i, fn] of functions.entries()) {
        const error = await this.runWithRetries(id, fn, event, pending, i === 0 ? firstRun : undefined);
        if (error) {
          outcome = {
            type: 'VALIDATION_FAILED',
            validation,
            error: { type: 'connection_validation_failed', message: error.message, function: fn.name },
          };
          break;
        }
      }
    } else {
      const failed: string[] = [];
      for (const [i, fn] of functions.entries()) {
        if (await this.runWithRetries(id, fn, event, pending, i === 0 ? firstRun : undefined)) failed.push(fn.name);
      }
      outcome = { type: event === 'post-connection-creation' ? 'SETUP_FINISHED' : 'CLEANUP_FINISHED', failed };
    }
    const { projection, services } = await this.commitOutcome(id, [...pending.splice(0), outcome]);
    return this.runServices(id, services, projection);
  }

  /**
   * Runs a function up to its retry policy's attempts (setup and cleanup: `retry.maxAttempts`,
   * validation: `validationRetry.maxAttempts`, or the function's own `retry`), with exponential
   * backoff between attempts. Every attempt is in the log. Returns the last error, if any.
   */
  private async runWithRetries(
    id: string,
    fn: LoadedFunction,
    event: FunctionEventName,
    pending: ConnectionEvent[],
    firstRun?: StartedRun,
  ): Promise<FunctionRunError | null> {
    const policy = {
      ...(event === 'validate-connection' ? this.options.durability.validationRetry : this.options.durability.retry),
      ...(fn.definition.retry ?? {}),
    };
    for (let attempt = 1; ; attempt++) {
      const error = await this.runFunction(id, fn, event, attempt, pending, attempt === 1 ? firstRun : undefined);
      if (!error || attempt >= policy.maxAttempts || this.closed) return error;
      await sleep(Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
    }
  }

  /**
   * Runs one function: records its start (with the outcomes still `pending`) unless it is
   * `started` already, runs it under a timeout, and leaves its outcome in `pending` for the
   * caller's next commit.
   */
  private async runFunction(
    id: string,
    fn: LoadedFunction,
    event: FunctionEventName,
    attempt: number,
    pending: ConnectionEvent[],
    started?: StartedRun,
  ): Promise<FunctionRunError | null> {
    const { runId, projection } = started ?? (await this.startRun(id, fn, event, attempt, pending));
    const run = await this.execute(id, fn, runId, projection, {
      environment: this.options.environment,
      read: () => this.readConnection(id),
      writeMetadata: async (kind, metadata) => {
        await this.writeMetadata(id, kind, metadata, `function:${fn.integration}/${fn.name}`);
      },
    });
    const base = {
      runId,
      function: fn.name,
      durationMs: run.durationMs,
      ...(run.logs.length > 0 ? { logs: run.logs } : {}),
    };
    pending.push(
      run.error
        ? { type: run.timedOut ? 'RUN_TIMED_OUT' : 'RUN_FAILED', ...base, error: run.error }
        : { type: 'RUN_SUCCEEDED', ...base },
    );
    return run.error;
  }

  /** Records a run as started, with the outcomes still `pending`. */
  private async startRun(
    id: string,
    fn: LoadedFunction,
    event: FunctionEventName,
    attempt: number,
    pending: ConnectionEvent[],
  ): Promise<StartedRun> {
    const runId = randomUUID();
    const { projection } = await this.commitOutcome(id, [
      ...pending.splice(0),
      { type: 'RUN_STARTED', runId, event, function: fn.name, attempt },
    ]);
    return { runId, projection };
  }

  async dryrun(functionName: string, connectionId: string, options: DryrunOptions = {}): Promise<DryrunResult> {
    this.assertOpen();
    const id = parseOrThrow<string>(connectionIdSchema, connectionId, 'connection id');
    const projection = await this.store.load(id);
    if (!projection) throw new LifelineError('connection_not_found', `connection ${id} does not exist`);
    const integration = options.integration ?? (projection.context.integration as string);
    const fn = this.functions.find((f) => f.integration === integration && f.name === functionName);
    if (!fn) {
      const known = this.functions.filter((f) => f.integration === integration).map((f) => f.name);
      throw new InvalidCommandError(
        `no function ${functionName} for integration ${integration}${known.length ? ` (it has: ${known.join(', ')})` : ''}`,
      );
    }
    const overrides = options.metadata === undefined ? undefined : storable(options.metadata, 'metadata');
    let metadata = overrides ?? projection.context.metadata;
    const metadataWrites: DryrunResult['metadataWrites'] = [];
    const calls: DryrunResult['calls'] = [];
    const runId = randomUUID();
    const run = await this.execute(id, fn, runId, projection, {
      environment: options.environment ?? this.options.environment,
      read: async () => {
        const now = await this.readConnection(id);
        return { ...now, metadata };
      },
      writeMetadata: async (kind, written) => {
        metadataWrites.push({ kind, metadata: written });
        metadata = kind === 'set' ? written : { ...metadata, ...written };
        if (options.save) await this.writeMetadata(id, kind, written, `dryrun:${fn.integration}/${fn.name}`);
      },
      observe: (context) => recordCalls(context, calls),
    });
    const result: DryrunResult = {
      connectionId: id,
      integration,
      function: fn.name,
      event: fn.definition.event,
      outcome: run.error ? (run.timedOut ? 'timed_out' : 'failed') : 'succeeded',
      durationMs: run.durationMs,
      logs: run.logs,
      calls,
      metadataWrites,
      metadata,
      saved: Boolean(options.save) && metadataWrites.length > 0,
    };
    if (run.error) result.error = run.error;
    return result;
  }

  private async readConnection(id: string) {
    const p = await this.store.loadOrEmpty(id);
    return {
      metadata: p.context.metadata,
      connectionConfig: p.context.connectionConfig,
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
    };
  }

  /**
   * Runs a function's `exec` under its timeout with a context whose reads and metadata writes go
   * through `sink`. Returns what happened, ready to record; records nothing itself.
   */
  private async execute(
    id: string,
    fn: LoadedFunction,
    runId: string,
    projection: ConnectionProjection,
    sink: RunSink,
  ) {
    const started = Date.now();
    const sealed = projection.context.credentials;
    const integration = fn.integration;
    const logs: Array<{ level: LogLevel; message: string; at: string }> = [];
    const log = this.logger.child({ connectionId: id, integration, function: fn.name, runId });
    let redact: Redactor = createRedactor([]);
    const controller = new AbortController();
    const timeoutMs = fn.definition.timeoutMs ?? this.options.functionTimeoutMs;
    let finished = false;
    let triedLock = false;
    let error: FunctionRunError | null = null;
    let timedOut = false;
    try {
      if (!sealed) throw new ConfigurationError(`connection ${id} holds no credentials`);
      const credentials = this.cipher.open(id, sealed);
      const resolved = resolveIntegration(integration, this.integrations[integration]);
      redact = createRedactor(runSecrets(credentials, resolved, this.options.environmentVariables));
      const { environment } = sink;
      const { locks } = this.options;
      const context = createFunctionContext({
        connectionId: id,
        integration: resolved,
        environmentName: environment,
        credentials,
        connectionConfig: projection.context.connectionConfig,
        dispatcher: this.dispatcher,
        signal: controller.signal,
        http: this.options.http,
        metadataSchema: fn.definition.metadata,
        environmentVariables: this.options.environmentVariables,
        locks: {
          tryAcquire: async (key, ttlMs) => {
            if (finished) throw new LifelineError('command_refused', `${fn.name} took a lock after its run had ended`);
            triedLock = true;
            return locks.tryAcquire({ environment, key, owner: runId, ttlMs, connectionId: id });
          },
          release: (key) => locks.release({ environment, key, owner: runId }),
          releaseAll: () => locks.releaseAll(runId),
        },
        read: sink.read,
        writeMetadata: async (kind, metadata) => {
          if (finished) throw new LifelineError('command_refused', `${fn.name} wrote metadata after its run had ended`);
          const problem = jsonProblem(metadata);
          if (problem) throw new LifelineError('invalid_metadata', `${kind}Metadata: ${problem}`);
          await sink.writeMetadata(kind, redact(JSON.parse(JSON.stringify(metadata))));
        },
        log: (level, args) => {
          const message = toJsonSafe<string>(format(...(redact(args) as unknown[])));
          log[level](message);
          if (atLeast(level, this.options.functionLogLevel) && logs.length < MAX_LOG_LINES) {
            logs.push({ level, message, at: new Date().toISOString() });
          }
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const reason = new ExecutionTimeoutError(timeoutMs);
          controller.abort(reason);
          reject(reason);
        }, timeoutMs);
      });
      try {
        const observed = sink.observe ? sink.observe(context) : context;
        await Promise.race([
          Promise.resolve().then(() => this.options.runExec(fn, observed, controller.signal)),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    } catch (thrown) {
      timedOut = thrown instanceof ExecutionTimeoutError;
      try {
        error = toJsonSafe(redact(toRunError(thrown, redact)));
      } catch (unrecordable) {
        // Whatever was thrown, the run's outcome must be recorded.
        error = {
          type: 'script_internal_error',
          message: 'Connection failed validation',
          payload: { name: 'UnrecordableError', message: toJsonSafe<string>(redact(String(unrecordable))) },
        };
      }
    } finally {
      finished = true;
    }
    // A run's locks end with it (a crash leaves them to their TTL).
    if (triedLock) {
      await this.options.locks
        .releaseAll(runId)
        .catch((failure) => log.warn({ err: failure }, `${fn.name}: its locks could not be released`));
    }
    const durationMs = Date.now() - started;
    if (error) log.warn({ error: error.type, durationMs }, `${fn.name} failed: ${error.message}`);
    return { error, timedOut, logs, durationMs };
  }

  // ---- helpers ----------------------------------------------------------------------------

  private functionsFor(integration: string, event: FunctionEventName): LoadedFunction[] {
    return this.functions
      .filter((f) => f.integration === integration && f.definition.event === event)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private knows(integration: string): boolean {
    return integration in this.integrations || this.functions.some((f) => f.integration === integration);
  }

  private assertOpen() {
    if (this.closed) throw new LifelineError('engine_closed', 'the engine is closed');
  }
}

/**
 * Opens the store (running migrations), loads the event functions and returns an engine.
 *
 * @example
 * const engine = await createEngine({
 *   functions: './integrations',
 *   integrations: { salesforce: { baseUrl: 'http://127.0.0.1:4010' } },
 *   database: 'memory://',
 * });
 * const r = await engine.send('conn-1', { type: 'CONNECT', integration: 'salesforce',
 *   credentials: { type: 'OAUTH2', access_token: '…' } });
 * r.state; // 'active' (or 'deleted' when validation failed)
 */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const functions =
    typeof options.functions === 'string'
      ? await loadFunctions(options.functions)
      : (options.functions ?? []).map((f) => ({
          ...f,
          definition: checkDefinition(f.definition, `${f.integration}/${f.name}`),
        }));
  const schema = options.schema ?? 'lifeline';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new ConfigurationError(`schema must be a lower-case SQL identifier, not ${JSON.stringify(schema)}`);
  }
  const timeout = options.functionTimeoutMs ?? 300_000;
  if (!Number.isInteger(timeout) || timeout <= 0)
    throw new ConfigurationError('functionTimeoutMs must be a positive integer');

  const http = resolveHttpSettings(options.http);
  const durability = resolveDurability(options, timeout);
  const functionLogLevel = options.functionLogLevel ?? 'info';
  if (!isLogLevel(functionLogLevel))
    throw new ConfigurationError('functionLogLevel must be debug, info, warn or error');
  for (const [integrationId, config] of Object.entries(options.integrations ?? {})) {
    resolveIntegration(integrationId, config);
  }
  const environmentVariables = options.environmentVariables ?? {};
  if (Object.values(environmentVariables).some((v) => typeof v !== 'string')) {
    throw new ConfigurationError('environmentVariables must map names to string values');
  }

  const owns = typeof options.database !== 'object';
  const database =
    typeof options.database === 'object' ? options.database : await openDatabase(resolveDatabaseUrl(options.database));
  try {
    const key = resolveEncryptionKey(options.encryptionKey, database);
    await migrateToLatest(database.db as unknown as Kysely<unknown>, schema);
    const chain = createRecordChain(key);
    return new LifelineEngine(
      new EventStore(database.db, schema, chain, database.prepared),
      database,
      owns,
      createCredentialsCipher(key),
      chain,
      functions,
      options.integrations ?? {},
      options.logger ?? createDefaultLogger(),
      new Agent({
        keepAliveTimeout: 10_000,
        connectTimeout: http.connectTimeoutMs,
        headersTimeout: http.headersTimeoutMs,
        bodyTimeout: http.bodyTimeoutMs,
      }),
      {
        environment: options.environment ?? 'dev',
        functionTimeoutMs: timeout,
        http,
        functionLogLevel,
        environmentVariables,
        locks: createLockStore(database.db, schema),
        durability,
        runExec: createFunctionRunner(options, functions),
      },
    );
  } catch (error) {
    if (owns) await database.close();
    throw error;
  }
}

/** Verifies the named connections, or every connection in the store, page by page. */
export async function verifyStore(
  store: EventStore,
  chain: RecordChain,
  connectionIds: string[] | undefined,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const report: VerifyReport = { connections: 0, records: 0, mismatches: [] };
  const check = (id: string, records: LogRecord[], stored: StoredProjection | null) => {
    if (records.length === 0 && !stored) {
      report.mismatches.push({ connectionId: id, problem: 'no_projection', message: `no connection ${id}` });
    } else {
      report.mismatches.push(...verifyConnection(id, records, stored, chain));
    }
    report.connections++;
    report.records += records.length;
  };
  if (connectionIds) {
    for (const id of connectionIds) {
      check(id, await store.history(id), await store.load(id));
      options.onProgress?.(report.connections, connectionIds.length);
    }
    return report;
  }
  for (const id of await store.unprojectedConnectionIds()) check(id, await store.history(id), null);
  for await (const page of store.pages(options.pageSize ?? VERIFY_PAGE)) {
    for (const { projection, records } of page) {
      check(projection.connectionId, records, projection);
      options.onProgress?.(report.connections, null);
    }
  }
  return report;
}

export type { LogRecord, Mismatch };
