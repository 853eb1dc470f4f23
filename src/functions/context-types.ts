import type { ActionError } from './action-error.js';

/** What an event function's `exec` receives (called `nango` in user code). */
export interface ProxyConfiguration {
  endpoint: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  params?: string | Record<string, string | number | boolean | Array<string | number>>;
  headers?: Record<string, string>;
  data?: unknown;
  retries?: number;
  retryOn?: number[];
  baseUrlOverride?: string;
  responseType?: 'json' | 'text';
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
  credentials: Record<string, unknown>;
  connection_config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  created_at: string | null;
  updated_at: string | null;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface OnEventContext<M = Record<string, unknown>> {
  readonly connectionId: string;
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
  getConnection(): Promise<NangoConnection>;
  getMetadata<T = M>(): Promise<T>;
  /** Replaces the whole metadata object (Nango semantics). */
  setMetadata(metadata: M): Promise<void>;
  /** Merges into the metadata (top-level keys). */
  updateMetadata(metadata: Partial<M>): Promise<void>;
  /** Logs; a last argument `{ level }` picks the level (default `info`). */
  log(...args: unknown[]): void;
}
