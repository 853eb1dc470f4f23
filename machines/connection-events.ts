/**
 * The inputs the connection machine consumes. Each one is exactly one record of the event log:
 * `{ type, ...data }`. Commands come from the app; the rest are facts the engine observed while
 * running event functions. Credentials arrive here already encrypted: the machine never sees a secret.
 */
export type FunctionEventName = 'validate-connection' | 'post-connection-creation' | 'pre-connection-deletion';

export type CredentialsType = 'OAUTH2' | 'API_KEY' | 'BASIC';

/** Credentials as the log and the projection hold them: AES-256-GCM ciphertext and the type. */
export interface SealedCredentials {
  type: CredentialsType;
  ciphertext: string;
}

export type JsonObject = Record<string, unknown>;

export interface ConnectionError {
  type: string;
  message: string;
  reason?: string;
  function?: string;
}

/** Who wrote a metadata key: `app`, or `function:<integration>/<name>`. */
export type MetadataWriter = string;

/** A function's failure in Nango's shape, as recorded with the run. */
export interface FunctionRunError {
  type: 'action_script_runtime_error' | 'script_http_error' | 'execution_timeout' | 'script_internal_error';
  message: string;
  payload?: JsonObject;
  status?: number;
  body?: unknown;
}

export type ConnectionEvent =
  | {
      type: 'CONNECT';
      integration: string;
      credentials: SealedCredentials;
      connectionConfig: JsonObject;
      metadata: JsonObject;
    }
  | { type: 'RECONNECT'; credentials: SealedCredentials; connectionConfig?: JsonObject }
  | { type: 'REFRESH_FAILED'; message?: string }
  | { type: 'DELETE' }
  | { type: 'METADATA_SET'; metadata: JsonObject; writer: MetadataWriter; dropped?: string[] }
  | { type: 'METADATA_UPDATED'; metadata: JsonObject; writer: MetadataWriter }
  | { type: 'VALIDATION_STARTED'; functions: string[] }
  | { type: 'VALIDATION_PASSED'; validation: number }
  | { type: 'VALIDATION_FAILED'; validation: number; error: ConnectionError }
  | { type: 'SETUP_FINISHED'; failed: string[] }
  | { type: 'CLEANUP_FINISHED'; failed: string[] }
  | { type: 'RUN_STARTED'; runId: string; event: FunctionEventName; function: string; attempt: number }
  | { type: 'RUN_SUCCEEDED'; runId: string; function: string; durationMs: number; logs?: unknown[] }
  | {
      type: 'RUN_FAILED';
      runId: string;
      function: string;
      durationMs: number;
      error: FunctionRunError;
      logs?: unknown[];
    }
  | {
      type: 'RUN_TIMED_OUT';
      runId: string;
      function: string;
      durationMs: number;
      error: FunctionRunError;
      logs?: unknown[];
    }
  /** A run whose engine stopped (crash, lost lease): recovery closes it before running the function again. */
  | { type: 'RUN_ABANDONED'; runId: string; function: string; reason: string }
  /** An outcome that arrived too late (its run or validation was superseded): recorded, changes nothing. */
  | { type: 'OUTCOME_IGNORED'; ignored: { type: string } & Record<string, unknown>; reason: string };

export type ConnectionEventType = ConnectionEvent['type'];

/** The commands an app may send; everything else is recorded by the engine itself. */
export const COMMAND_TYPES = ['CONNECT', 'RECONNECT', 'REFRESH_FAILED', 'DELETE'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];
