import type { Dispatcher } from 'undici';
import { describeZodIssues } from '../describe-zod-issues.js';
import type { Credentials } from '../engine/command-schemas.js';
import { LifelineError } from '../errors.js';
import type { HttpSettings } from '../http/http-settings.js';
import { paginate } from '../http/paginate.js';
import { providerRequest, resolveUrl } from '../http/provider-request.js';
import { uncontrolledFetch } from '../http/uncontrolled-fetch.js';
import { baseUrlFor, headersFor, type ResolvedIntegration } from '../providers/resolve-integration.js';
import { ActionError } from './action-error.js';
import type {
  LogLevel,
  NangoConnection,
  NangoIntegration,
  OnEventContext,
  ProxyConfiguration,
  TokenResult,
} from './context-types.js';
import type { MetadataSchema } from './create-on-event.js';
import { splitLogArguments } from './log-arguments.js';
import { notAvailableMethods } from './not-available.js';

/** What the engine gives a run: everything the context does I/O through. */
export interface RunHost {
  connectionId: string;
  integration: ResolvedIntegration;
  environmentName: string;
  credentials: Credentials;
  /** The connection's config when the run started (fills `${connectionConfig.*}` in the base URL). */
  connectionConfig: Record<string, unknown>;
  dispatcher: Dispatcher;
  /** Aborted when the run times out. */
  signal: AbortSignal;
  http: HttpSettings;
  metadataSchema: MetadataSchema | undefined;
  environmentVariables: Record<string, string>;
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
  /** This run's locks (the engine binds the owner and environment). */
  locks: {
    tryAcquire(key: string, ttlMs: number): Promise<boolean>;
    release(key: string): Promise<boolean>;
    releaseAll(): Promise<number>;
  };
}

function checkPlainObject(value: unknown, what: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LifelineError('invalid_metadata', `${what} expects a plain object`);
  }
}

function invalidArgument(message: string): LifelineError {
  return new LifelineError('invalid_argument', message);
}

function checkLockKey(key: unknown, what: string): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
    throw invalidArgument(`${what}: key must be a string of 1 to 255 characters`);
  }
}

/**
 * Builds the `nango` object an event function receives. Everything it does goes through `host`,
 * so the engine records metadata writes before they take effect.
 *
 * @example
 * const nango = createFunctionContext(host);
 * await nango.get({ endpoint: '/me', retries: 3 });
 */
export function createFunctionContext(host: RunHost): OnEventContext {
  const integration = host.integration;
  const checkSchema = (value: Record<string, unknown>, what: string) => {
    if (!host.metadataSchema) return;
    const result = host.metadataSchema.safeParse(value);
    if (!result.success) {
      throw new LifelineError(
        'invalid_metadata',
        `${what}: the metadata does not match the function's schema: ${describeZodIssues(result.error)}`,
      );
    }
  };
  const base = baseUrlFor(integration, host.connectionConfig);
  const target = {
    base,
    credentials: host.credentials,
    auth: integration.auth,
    headers: headersFor(integration, host.connectionConfig),
    retryHeader: integration.retryHeader,
    decompress: integration.decompress,
  };
  const checkOwnConnection = (config: ProxyConfiguration) => {
    if (typeof config !== 'object' || config === null || typeof config.endpoint !== 'string') {
      throw invalidArgument('proxy expects { endpoint, … }');
    }
    if (config.connectionId !== undefined && config.connectionId !== host.connectionId) {
      throw new LifelineError(
        'not_available',
        'calling the provider for another connection is not available in event functions',
      );
    }
    if (config.providerConfigKey !== undefined && config.providerConfigKey !== integration.id) {
      throw new LifelineError(
        'not_available',
        'calling the provider for another integration is not available in event functions',
      );
    }
  };
  const proxy = async (config: ProxyConfiguration) => {
    checkOwnConnection(config);
    return providerRequest(target, config, {
      dispatcher: host.dispatcher,
      signal: host.signal,
      settings: host.http,
      log: (level, message) => host.log(level, [message]),
    });
  };
  const call = (method: ProxyConfiguration['method']) => (config: ProxyConfiguration) => proxy({ ...config, method });

  const context = {
    connectionId: host.connectionId,
    providerConfigKey: integration.id,
    provider: integration.provider,
    environmentName: host.environmentName,
    ActionError,
    abortSignal: host.signal,
    proxy,
    get: call('GET'),
    post: call('POST'),
    put: call('PUT'),
    patch: call('PATCH'),
    delete: call('DELETE'),
    paginate<T = any>(config: ProxyConfiguration) {
      checkOwnConnection(config);
      return paginate<T>(config, {
        proxy,
        resolveUrl: (c) => resolveUrl(target, c),
        defaults: integration.paginate,
        integration: integration.id,
        provider: integration.provider,
      });
    },
    async getConnection(): Promise<NangoConnection> {
      const current = await host.read();
      return {
        id: host.connectionId,
        connection_id: host.connectionId,
        provider_config_key: integration.id,
        provider: integration.provider,
        credentials: { ...host.credentials },
        connection_config: current.connectionConfig,
        metadata: current.metadata,
        errors: [],
        end_user: null,
        created_at: current.createdAt?.toISOString() ?? null,
        updated_at: current.updatedAt?.toISOString() ?? null,
        last_fetched_at: new Date().toISOString(),
      };
    },
    async getToken(): Promise<TokenResult> {
      const c = host.credentials;
      if (c.type === 'OAUTH2') return c.access_token;
      if (c.type === 'API_KEY') return { type: 'API_KEY', apiKey: c.apiKey };
      return { type: 'BASIC', username: c.username, password: c.password };
    },
    async getIntegration(config: { include?: Array<'webhook' | 'credentials'> } = {}): Promise<NangoIntegration> {
      const include = config?.include ?? [];
      if (!Array.isArray(include) || include.some((i) => i !== 'webhook' && i !== 'credentials')) {
        throw invalidArgument("getIntegration: include may hold 'webhook' and 'credentials'");
      }
      const out: NangoIntegration = {
        unique_key: integration.id,
        display_name: integration.displayName,
        provider: integration.provider,
        logo: null,
        created_at: null,
        updated_at: null,
      };
      if (include.includes('webhook')) out.webhook_url = integration.webhookUrl ?? null;
      if (include.includes('credentials')) {
        out.credentials = {
          type: integration.authMode,
          client_id: integration.clientId ?? null,
          client_secret: integration.clientSecret ?? null,
          scopes: integration.scopes?.join(',') ?? null,
          webhook_secret: integration.webhookSecret ?? null,
        };
      }
      return out;
    },
    async getWebhookURL(): Promise<string | null> {
      return integration.webhookUrl ?? null;
    },
    async getMetadata<T>() {
      return (await host.read()).metadata as T;
    },
    async setMetadata(metadata: Record<string, unknown>) {
      checkPlainObject(metadata, 'setMetadata');
      checkSchema(metadata, 'setMetadata');
      await host.writeMetadata('set', metadata);
    },
    async updateMetadata(metadata: Record<string, unknown>) {
      checkPlainObject(metadata, 'updateMetadata');
      const current = await host.read();
      checkSchema({ ...current.metadata, ...metadata }, 'updateMetadata');
      await host.writeMetadata('update', metadata);
    },
    log(...args: unknown[]) {
      const { level, args: rest } = splitLogArguments(args);
      host.log(level, rest);
    },
    async getEnvironmentVariables() {
      return Object.entries(host.environmentVariables).map(([name, value]) => ({ name, value }));
    },
    uncontrolledFetch(options: Parameters<OnEventContext['uncontrolledFetch']>[0]) {
      return uncontrolledFetch(options, {
        dispatcher: host.dispatcher,
        signal: host.signal,
        settings: host.http,
        baseOrigin: 'baseUrl' in base ? safeOrigin(base.baseUrl) : undefined,
        allowedHosts: [...host.http.allowedHosts, ...integration.allowedHosts],
      });
    },
    async tryAcquireLock(options: { key: string; ttlMs: number }) {
      checkLockKey(options?.key, 'tryAcquireLock');
      if (!Number.isInteger(options.ttlMs) || options.ttlMs <= 0) {
        throw invalidArgument('tryAcquireLock: ttlMs must be a positive integer');
      }
      return host.locks.tryAcquire(options.key, options.ttlMs);
    },
    async releaseLock(options: { key: string }) {
      checkLockKey(options?.key, 'releaseLock');
      return host.locks.release(options.key);
    },
    async releaseAllLocks() {
      await host.locks.releaseAll();
    },
    ...notAvailableMethods(),
  };
  return context as unknown as OnEventContext;
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
