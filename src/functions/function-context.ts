import type { Dispatcher } from 'undici';
import type { Credentials } from '../engine/command-schemas.js';
import { LifelineError } from '../errors.js';
import { type AuthInjection, providerRequest } from '../http/provider-request.js';
import { ActionError } from './action-error.js';
import type { LogLevel, NangoConnection, OnEventContext, ProxyConfiguration } from './context-types.js';
import type { MetadataSchema } from './create-on-event.js';

/** What the engine gives a run: everything the context does I/O through. */
export interface RunHost {
  connectionId: string;
  integration: string;
  provider: string;
  environmentName: string;
  baseUrl: string | undefined;
  auth: AuthInjection | undefined;
  credentials: Credentials;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  metadataSchema: MetadataSchema | undefined;
  /** The connection as stored now (metadata and config read fresh on every call). */
  read(): Promise<{
    metadata: Record<string, unknown>;
    connectionConfig: Record<string, unknown>;
    createdAt: Date | null;
    updatedAt: Date | null;
  }>;
  /** Records a metadata write in the log (METADATA_SET / METADATA_UPDATED). */
  writeMetadata(kind: 'set' | 'update', metadata: Record<string, unknown>): Promise<void>;
  log(level: LogLevel, args: unknown[]): void;
}

const LEVELS = new Set<LogLevel>(['debug', 'info', 'warn', 'error']);

function checkPlainObject(value: unknown, what: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LifelineError('invalid_metadata', `${what} expects a plain object`);
  }
}

function describeIssues(error: unknown): string {
  const issues = (error as { issues?: Array<{ path?: PropertyKey[]; message: string }> }).issues;
  if (!Array.isArray(issues)) return String(error);
  return issues.map((i) => `${(i.path ?? []).map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Builds the `nango` object an event function receives. Everything it does goes through `host`,
 * so the engine records metadata writes before they take effect.
 */
export function createFunctionContext(host: RunHost): OnEventContext {
  const checkSchema = (value: Record<string, unknown>, what: string) => {
    if (!host.metadataSchema) return;
    const result = host.metadataSchema.safeParse(value);
    if (!result.success) {
      throw new LifelineError(
        'invalid_metadata',
        `${what}: the metadata does not match the function's schema: ${describeIssues(result.error)}`,
      );
    }
  };
  const call = (method: ProxyConfiguration['method']) => (config: ProxyConfiguration) => {
    if (!host.baseUrl && !config.baseUrlOverride) {
      throw new LifelineError(
        'invalid_configuration',
        `integration ${host.integration} has no baseUrl: set integrations.${host.integration}.baseUrl`,
      );
    }
    return providerRequest(
      { baseUrl: host.baseUrl ?? (config.baseUrlOverride as string), credentials: host.credentials, auth: host.auth },
      { ...config, method: method ?? config.method },
      { dispatcher: host.dispatcher, signal: host.signal },
    );
  };
  return {
    connectionId: host.connectionId,
    providerConfigKey: host.integration,
    provider: host.provider,
    environmentName: host.environmentName,
    ActionError,
    abortSignal: host.signal,
    proxy: call(undefined),
    get: call('GET'),
    post: call('POST'),
    put: call('PUT'),
    patch: call('PATCH'),
    delete: call('DELETE'),
    async getConnection(): Promise<NangoConnection> {
      const current = await host.read();
      return {
        id: host.connectionId,
        connection_id: host.connectionId,
        provider_config_key: host.integration,
        provider: host.provider,
        credentials: { ...host.credentials },
        connection_config: current.connectionConfig,
        metadata: current.metadata,
        created_at: current.createdAt?.toISOString() ?? null,
        updated_at: current.updatedAt?.toISOString() ?? null,
      };
    },
    async getMetadata<T>() {
      return (await host.read()).metadata as T;
    },
    async setMetadata(metadata) {
      checkPlainObject(metadata, 'setMetadata');
      checkSchema(metadata, 'setMetadata');
      await host.writeMetadata('set', metadata);
    },
    async updateMetadata(metadata) {
      checkPlainObject(metadata, 'updateMetadata');
      const current = await host.read();
      checkSchema({ ...current.metadata, ...metadata }, 'updateMetadata');
      await host.writeMetadata('update', metadata);
    },
    log(...args: unknown[]) {
      const last = args.at(-1);
      if (
        args.length > 1 &&
        typeof last === 'object' &&
        last !== null &&
        Object.keys(last).length === 1 &&
        LEVELS.has((last as { level?: LogLevel }).level as LogLevel)
      ) {
        host.log((last as { level: LogLevel }).level, args.slice(0, -1));
      } else {
        host.log('info', args);
      }
    },
  };
}
