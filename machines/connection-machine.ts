import { and, assign, fromPromise, not, setup, spawnChild } from 'xstate';
import type {
  ConnectionError,
  ConnectionEvent,
  FunctionEventName,
  JsonObject,
  MetadataWriter,
  SealedCredentials,
} from './connection-events.js';

/**
 * The connection lifecycle (DESIGN §2) as a pure XState v5 machine.
 *
 * - Event functions are invoked as services by name (`validate-connection`,
 *   `post-connection-creation`, `pre-connection-deletion`). The machine is never run as a live
 *   actor: the engine folds log records through `transition()` and starts the services named in
 *   the returned actions; replay starts none.
 * - No I/O, no clock, no randomness: the next state is a function of the state and the record.
 * - A connection that has never existed is `deleted` at generation 0: only `CONNECT` is accepted.
 *
 * @example
 * import { initialTransition, transition } from 'xstate';
 * let [snapshot] = initialTransition(connectionMachine);
 * [snapshot] = transition(connectionMachine, snapshot, { type: 'CONNECT', ... });
 * snapshot.value; // 'pending'
 */
export const MACHINE_VERSION = 'connection@1';

export interface ConnectionContext {
  /** Increments on every CONNECT: a re-created connection is a new generation of the same id. */
  generation: number;
  integration: string | null;
  credentials: SealedCredentials | null;
  connectionConfig: JsonObject;
  metadata: JsonObject;
  /** Which writer last wrote each metadata key (to warn when `setMetadata` drops another's keys). */
  metadataWriters: Record<string, MetadataWriter>;
  error: ConnectionError | null;
  /** Counts validations; outcomes name the validation they belong to, stale ones are not accepted. */
  validation: number;
  /** Whether the current validation is the first connect of this generation. */
  firstConnect: boolean;
  /** A `post-connection-creation` service is running; cleanup waits for it. */
  setupRunning: boolean;
  /** Function runs started and not yet finished, by run id. */
  runs: Record<string, { event: FunctionEventName; function: string; attempt: number }>;
}

export const initialContext: ConnectionContext = {
  generation: 0,
  integration: null,
  credentials: null,
  connectionConfig: {},
  metadata: {},
  metadataWriters: {},
  error: null,
  validation: 0,
  firstConnect: false,
  setupRunning: false,
  runs: {},
};

type E<T extends ConnectionEvent['type']> = Extract<ConnectionEvent, { type: T }>;

/** `writers` (a copy) with every key of `metadata` set to `writer`. A loop: replay runs it per record. */
const writersFor = (
  metadata: JsonObject,
  writer: MetadataWriter,
  writers: Record<string, MetadataWriter> = {},
): Record<string, MetadataWriter> => {
  const next = { ...writers };
  for (const key of Object.keys(metadata)) next[key] = writer;
  return next;
};

const metadataHandlers = {
  METADATA_SET: { actions: 'setMetadata' },
  METADATA_UPDATED: { actions: 'updateMetadata' },
} as const;

/**
 * The services, by name. The machine only names them; the engine runs the functions and records
 * their outcomes. These placeholders exist for typing and fail loudly if anything starts them.
 */
const engineProvided = (name: string) =>
  fromPromise<void>(() => Promise.reject(new Error(`${name} is run by the lifeline engine, not by the machine`)));

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
  },
  actors: {
    'validate-connection': engineProvided('validate-connection'),
    'post-connection-creation': engineProvided('post-connection-creation'),
    'pre-connection-deletion': engineProvided('pre-connection-deletion'),
  },
  guards: {
    currentValidation: ({ context, event }) =>
      (event.type === 'VALIDATION_PASSED' || event.type === 'VALIDATION_FAILED') &&
      event.validation === context.validation,
    firstConnect: ({ context }) => context.firstConnect,
    setupRunning: ({ context }) => context.setupRunning,
    knownRun: ({ context, event }) => 'runId' in event && event.runId in context.runs,
  },
  actions: {
    connect: assign(({ context, event }) => {
      const e = event as E<'CONNECT'>;
      return {
        ...initialContext,
        generation: context.generation + 1,
        validation: context.validation,
        integration: e.integration,
        credentials: e.credentials,
        connectionConfig: e.connectionConfig,
        metadata: e.metadata,
        metadataWriters: writersFor(e.metadata, 'app'),
        firstConnect: true,
      };
    }),
    reconnect: assign(({ context, event }) => {
      const e = event as E<'RECONNECT'>;
      return {
        credentials: e.credentials,
        connectionConfig: e.connectionConfig ?? context.connectionConfig,
        firstConnect: false,
      };
    }),
    beginValidation: assign(({ context }) => ({ validation: context.validation + 1 })),
    clearError: assign({ error: null }),
    rejectFirstConnect: assign(({ event }) => ({
      error: { ...(event as E<'VALIDATION_FAILED'>).error, type: 'connection_validation_failed' },
      credentials: null,
    })),
    rejectReconnect: assign(({ event }) => ({
      error: {
        ...(event as E<'VALIDATION_FAILED'>).error,
        type: 'connection_validation_failed',
        reason: 'refresh_exhausted',
      },
    })),
    refreshFailed: assign(({ event }) => ({
      error: {
        type: 'refresh_failed',
        reason: 'refresh_exhausted',
        message: (event as E<'REFRESH_FAILED'>).message ?? 'The credentials could not be refreshed',
      },
    })),
    setMetadata: assign(({ event }) => {
      const e = event as E<'METADATA_SET'>;
      return { metadata: e.metadata, metadataWriters: writersFor(e.metadata, e.writer) };
    }),
    updateMetadata: assign(({ context, event }) => {
      const e = event as E<'METADATA_UPDATED'>;
      return {
        metadata: { ...context.metadata, ...e.metadata },
        metadataWriters: writersFor(e.metadata, e.writer, context.metadataWriters),
      };
    }),
    startRun: assign(({ context, event }) => {
      const e = event as E<'RUN_STARTED'>;
      return { runs: { ...context.runs, [e.runId]: { event: e.event, function: e.function, attempt: e.attempt } } };
    }),
    endRun: assign(({ context, event }) => {
      const { [(event as E<'RUN_SUCCEEDED'>).runId]: _ended, ...runs } = context.runs;
      return { runs };
    }),
    // Stale outcomes change nothing; the record itself is the trace.
    noteIgnored: () => {},
    startSetup: assign({ setupRunning: true }),
    finishSetup: assign({ setupRunning: false }),
    forgetCredentials: assign({ credentials: null }),
  },
}).createMachine({
  id: 'connection',
  initial: 'deleted',
  context: initialContext,
  on: {
    // Facts about function runs are recorded in any state; the outcome events below decide.
    RUN_STARTED: { actions: 'startRun' },
    RUN_SUCCEEDED: { guard: 'knownRun', actions: 'endRun' },
    RUN_FAILED: { guard: 'knownRun', actions: 'endRun' },
    RUN_TIMED_OUT: { guard: 'knownRun', actions: 'endRun' },
    RUN_ABANDONED: { guard: 'knownRun', actions: 'endRun' },
    OUTCOME_IGNORED: { actions: 'noteIgnored' },
    SETUP_FINISHED: { actions: 'finishSetup' },
  },
  states: {
    deleted: {
      on: { CONNECT: { target: 'pending', actions: 'connect' } },
    },
    pending: {
      on: {
        VALIDATION_STARTED: 'validating',
        DELETE: 'deleting',
        ...metadataHandlers,
      },
    },
    validating: {
      entry: 'beginValidation',
      invoke: { id: 'validation', src: 'validate-connection' },
      on: {
        VALIDATION_PASSED: [
          {
            guard: and(['currentValidation', 'firstConnect']),
            target: 'active',
            actions: ['clearError', 'startSetup', spawnChild('post-connection-creation', { id: 'setup' })],
          },
          { guard: 'currentValidation', target: 'active', actions: 'clearError' },
        ],
        VALIDATION_FAILED: [
          { guard: and(['currentValidation', 'firstConnect']), target: 'deleted', actions: 'rejectFirstConnect' },
          { guard: 'currentValidation', target: 'auth_error', actions: 'rejectReconnect' },
        ],
        ...metadataHandlers,
      },
    },
    active: {
      on: {
        RECONNECT: { target: 'validating', actions: 'reconnect' },
        REFRESH_FAILED: { target: 'auth_error', actions: 'refreshFailed' },
        DELETE: 'deleting',
        ...metadataHandlers,
      },
    },
    auth_error: {
      on: {
        RECONNECT: { target: 'validating', actions: 'reconnect' },
        DELETE: 'deleting',
        ...metadataHandlers,
      },
    },
    deleting: {
      initial: 'awaiting_setup',
      on: { ...metadataHandlers },
      states: {
        // Cleanup cannot race setup: it starts only once no post-connection-creation is running.
        awaiting_setup: {
          always: { guard: not('setupRunning'), target: 'cleaning' },
        },
        cleaning: {
          invoke: { id: 'cleanup', src: 'pre-connection-deletion' },
          on: { CLEANUP_FINISHED: { target: '#connection.deleted', actions: 'forgetCredentials' } },
        },
      },
    },
  },
});

export type ConnectionMachine = typeof connectionMachine;

/** Top-level state names, as the projection and the API show them. */
export type ConnectionState = 'pending' | 'validating' | 'active' | 'auth_error' | 'deleting' | 'deleted';
