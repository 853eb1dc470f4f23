import type { Response } from 'undici';
import type { UncontrolledFetchOptions } from '../http/uncontrolled-fetch.js';
import type { PartialPaginationConfig } from '../providers/pagination-schema.js';
import type { RetryHeaderConfig } from '../providers/provider-schema.js';
import type { ActionError } from './action-error.js';

export type { UncontrolledFetchOptions };

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/** A call's `paginate` option: any of Nango's pagination fields, plus `on_page`. */
export type PaginateOption = PartialPaginationConfig & {
  /** Called after each page with the next cursor, link or offset and the raw response. */
  on_page?: (state: { nextPageParam?: string | number | undefined; response: ProxyResponse }) => Promise<void> | void;
};

/** What `nango.proxy` and its shorthands take (Nango's field names). */
export interface ProxyConfiguration {
  /** A path joined to the base URL, or an absolute URL on the base URL's origin. */
  endpoint: string;
  method?: HttpMethod | Lowercase<HttpMethod>;
  /** A query string, or a record whose arrays repeat the key. */
  params?: string | Record<string, string | number | boolean | Array<string | number | boolean>>;
  headers?: Record<string, string>;
  /** An object (sent as JSON), a string, a Buffer or typed array, or URLSearchParams (a form). */
  data?: unknown;
  /** Retries after the first attempt (default 0: no retry). */
  retries?: number;
  /** More statuses to retry besides 5xx and 429. */
  retryOn?: number[] | null;
  /** Rate-limit headers to honour: `at` (a time) and `after` (seconds). */
  retryHeader?: RetryHeaderConfig;
  /** Another base URL for this call (credentials are sent there too). */
  baseUrlOverride?: string;
  /** `json` (parsed; the default parses JSON when the answer is JSON), `text`, `arraybuffer` (a Buffer) or `stream` (a Readable). */
  responseType?: 'json' | 'text' | 'arraybuffer' | 'stream';
  /** Ask for and decode compressed answers (default true). */
  decompress?: boolean;
  /** For `paginate`: overrides the integration's pagination. */
  paginate?: PaginateOption;
  /** Accepted for Nango compatibility; an event function always targets its own connection. */
  providerConfigKey?: string;
  connectionId?: string;
}

export interface ProxyResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  data: T;
}

/** Nango's public connection shape, as `getConnection()` returns it. */
export interface NangoConnection {
  id: string;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  /** Plaintext, for the function's own use only. */
  credentials: Record<string, unknown>;
  connection_config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  errors: Array<{ type: string; log_id?: string }>;
  end_user: null;
  created_at: string | null;
  updated_at: string | null;
  last_fetched_at: string | null;
}

/** Nango's public integration shape, as `getIntegration()` returns it. */
export interface NangoIntegration {
  unique_key: string;
  display_name: string;
  provider: string;
  logo: string | null;
  created_at: string | null;
  updated_at: string | null;
  /** With `include: ['webhook']`. */
  webhook_url?: string | null;
  /** With `include: ['credentials']`; secrets are for the function's own use only. */
  credentials?: {
    type: string;
    client_id: string | null;
    client_secret: string | null;
    scopes: string | null;
    webhook_secret: string | null;
  } | null;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What `getToken()` resolves to: the OAuth access token, or the credentials object for other modes. */
export type TokenResult =
  | string
  | { type: 'API_KEY'; apiKey: string }
  | { type: 'BASIC'; username: string; password: string };

type NotAvailable = (...args: unknown[]) => never;

export interface OnEventContext<M = Record<string, unknown>> {
  readonly connectionId: string;
  /** The integration id. */
  readonly providerConfigKey: string;
  readonly provider: string;
  readonly environmentName: string;
  readonly ActionError: typeof ActionError;
  /** Aborted when the run times out; pass it to anything long-running. */
  readonly abortSignal: AbortSignal;
  proxy<T = any>(config: ProxyConfiguration): Promise<ProxyResponse<T>>;
  get<T = any>(config: ProxyConfiguration): Promise<ProxyResponse<T>>;
  post<T = any>(config: ProxyConfiguration): Promise<ProxyResponse<T>>;
  put<T = any>(config: ProxyConfiguration): Promise<ProxyResponse<T>>;
  patch<T = any>(config: ProxyConfiguration): Promise<ProxyResponse<T>>;
  delete<T = any>(config: ProxyConfiguration): Promise<ProxyResponse<T>>;
  /** Yields the records of each page (cursor, link or offset pagination). */
  paginate<T = any>(config: ProxyConfiguration): AsyncGenerator<T[], undefined, void>;
  getConnection(): Promise<NangoConnection>;
  getToken(): Promise<TokenResult>;
  getIntegration(config?: { include?: Array<'webhook' | 'credentials'> }): Promise<NangoIntegration>;
  /** The integration's webhook URL (`integrations.<id>.webhookUrl`), or null. */
  getWebhookURL(): Promise<string | null>;
  getMetadata<T = M>(): Promise<T>;
  /** Replaces the whole metadata object (Nango semantics). */
  setMetadata(metadata: M): Promise<void>;
  /** Merges into the metadata (top-level keys). */
  updateMetadata(metadata: Partial<M>): Promise<void>;
  /** Logs; a last argument `{ level }` picks the level (default `info`). */
  log(...args: unknown[]): void;
  /** The engine's `environmentVariables` as `[{ name, value }]`. */
  getEnvironmentVariables(): Promise<Array<{ name: string; value: string }>>;
  /** A fetch without credentials, to the base URL's host or an allow-listed host. */
  uncontrolledFetch(options: UncontrolledFetchOptions): Promise<Response>;
  /** True when this run now holds `key` (for `ttlMs`); shared by every engine on the database. */
  tryAcquireLock(options: { key: string; ttlMs: number }): Promise<boolean>;
  /** True when this run held `key` and released it. */
  releaseLock(options: { key: string }): Promise<boolean>;
  /** Releases every lock this run holds (done automatically when the run ends). */
  releaseAllLocks(): Promise<void>;

  /** @deprecated Not available in event functions (records belong to syncs). */
  batchSave: NotAvailable;
  /** @deprecated Not available in event functions (records belong to syncs). */
  batchUpdate: NotAvailable;
  /** @deprecated Not available in event functions (records belong to syncs). */
  batchDelete: NotAvailable;
  /** @deprecated Not available in event functions. */
  batchSend: NotAvailable;
  /** @deprecated Not available in event functions (records belong to syncs). */
  getRecordsByIds: NotAvailable;
  /** @deprecated Not available in event functions (records belong to syncs). */
  setMergingStrategy: NotAvailable;
  /** @deprecated Not available in event functions (records belong to syncs). */
  deleteRecordsFromPreviousExecutions: NotAvailable;
  /** @deprecated Not available in event functions (records belong to syncs). */
  trackDeletesStart: NotAvailable;
  /** @deprecated Not available in event functions (records belong to syncs). */
  trackDeletesEnd: NotAvailable;
  /** @deprecated Not available in event functions (checkpoints belong to syncs). */
  getCheckpoint: NotAvailable;
  /** @deprecated Not available in event functions (checkpoints belong to syncs). */
  saveCheckpoint: NotAvailable;
  /** @deprecated Not available in event functions (checkpoints belong to syncs). */
  clearCheckpoint: NotAvailable;
  /** @deprecated Not available in event functions (syncs are not part of lifeline). */
  startSync: NotAvailable;
  /** @deprecated Not available in event functions (syncs are not part of lifeline). */
  triggerSync: NotAvailable;
  /** @deprecated Not available in event functions (syncs are not part of lifeline). */
  pauseSync: NotAvailable;
  /** @deprecated Not available in event functions (actions are not part of lifeline). */
  triggerAction: NotAvailable;
  /** @deprecated Not available in event functions (syncs are not part of lifeline). */
  getFlowAttributes: NotAvailable;
  /** @deprecated Not available in event functions (syncs are not part of lifeline). */
  setLastSyncDate: NotAvailable;
  /** @deprecated Not available in event functions: a function sees only its own connection. */
  listConnections: NotAvailable;
  /** @deprecated Not available in event functions: connection config is set by CONNECT/RECONNECT. */
  updateConnectionConfig: NotAvailable;
}
