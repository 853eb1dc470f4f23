import type { LoadedFunction } from '../functions/load-functions.js';
import type { AuthInjection } from '../http/provider-request.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/open-database.js';

/** One integration's settings (`integrations.<id>`). */
export interface IntegrationConfig {
  /** Provider name shown to functions (default: the integration id). */
  provider?: string;
  /** Base URL of the provider's API; proxy calls go only there. */
  baseUrl?: string;
  webhookUrl?: string;
  webhookSecret?: string;
  auth?: AuthInjection;
}

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
}
