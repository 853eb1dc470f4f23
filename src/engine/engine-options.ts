import type { LogLevel } from '../functions/context-types.js';
import type { LoadedFunction } from '../functions/load-functions.js';
import type { Isolation, WorkerLimits } from '../functions/worker-runner.js';
import type { HttpOptions } from '../http/http-settings.js';
import type { Logger } from '../logger.js';
import type { IntegrationSettings } from '../providers/provider-schema.js';
import type { Database } from '../store/open-database.js';

/**
 * One integration's settings (`integrations.<id>`): `provider` (a catalog name; default: the
 * integration id), any catalog field to override (`baseUrl`, `auth`, `headers`, `paginate`,
 * `retryHeader`, `decompress`, `authMode`, `displayName`), and `webhookUrl`, `webhookSecret`,
 * `clientId`, `clientSecret`, `scopes`, `allowedHosts`. See docs/reference/context.md.
 */
export type IntegrationConfig = IntegrationSettings;

/** Options of {@link createEngine}. The CLI takes the same as flags or `LIFELINE_*` variables. */
export interface EngineOptions {
  /** A folder holding `index.ts` (Nango layout), or already loaded functions. */
  functions?: string | LoadedFunction[];
  integrations?: Record<string, IntegrationConfig>;
  /** Shown to functions as `environmentName` (default `dev`). */
  environment?: string;
  environmentVariables?: Record<string, string>;
  /**
   * `postgres://…`, `pglite://<dir>` or `memory://`; default `LIFELINE_DATABASE_URL`, else
   * `pglite://./.lifeline/data`. An already open {@link Database} is used and left open.
   */
  database?: string | Database;
  /** PostgreSQL schema holding lifeline's tables (default `lifeline`). */
  schema?: string;
  /** Credentials key (32 bytes, hex or base64); default `LIFELINE_ENCRYPTION_KEY`. */
  encryptionKey?: string;
  logger?: Logger;
  /** Per function run, default 300000 (5 minutes). */
  functionTimeoutMs?: number;
  /** Provider HTTP: retry backoff, timeouts, response size, redirects, `uncontrolledFetch` allow-list. */
  http?: HttpOptions;
  /** Lowest level of a function's `log` lines kept with its run in the log (default `info`). */
  functionLogLevel?: LogLevel;
  /**
   * Retries of `post-connection-creation` and `pre-connection-deletion` functions (default 3
   * attempts, backoff from 1 s doubling up to 30 s). A function's own `retry` overrides it.
   */
  retry?: Partial<RetryPolicy>;
  /** Retries of `validate-connection` functions (default: 1 attempt, no retry). */
  validationRetry?: Partial<RetryPolicy>;
  /** How long a service (a lifecycle step's functions) stays claimed without a heartbeat (default 30000). */
  leaseMs?: number;
  /** How often to look for services whose engine stopped, to resume them (default 5000; 0 turns recovery off). */
  recoveryIntervalMs?: number;
  /** How long `close()` waits for running functions (default 30000). */
  closeTimeoutMs?: number;
  /** How long a command waits for a connection that is validating or deleting elsewhere (default: 2 × functionTimeoutMs + leaseMs). */
  commandWaitMs?: number;
  /**
   * Where folder-loaded functions run: `'worker'` (default) runs each run in a worker thread that
   * is terminated when the run times out (hard timeouts, a heap limit); `'inline'` runs them in the
   * engine's thread. Functions given in code always run inline. See docs/guides/writing-event-functions.md.
   */
  isolation?: Isolation;
  /** Resource limits of function workers (default heap `maxOldGenerationSizeMb: 256`). */
  workerLimits?: WorkerLimits;
}

/** A retry policy: attempts in all, and exponential backoff between them. */
export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  capMs: number;
}
