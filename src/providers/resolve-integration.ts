import { describeZodIssues } from '../describe-zod-issues.js';
import { LifelineError } from '../errors.js';
import { PROVIDERS } from './catalog.js';
import { mergePagination, type PaginationConfig } from './pagination-schema.js';
import {
  type AuthInjection,
  type IntegrationSettings,
  integrationSchema,
  type ProviderDefinition,
  type RetryHeaderConfig,
} from './provider-schema.js';

/** An integration with its catalog entry applied: what a function run works with. */
export interface ResolvedIntegration {
  id: string;
  provider: string;
  displayName: string;
  authMode: ProviderDefinition['authMode'];
  /** The base URL, possibly still holding `${connectionConfig.<key>}` placeholders. */
  baseUrlTemplate: string | undefined;
  auth: AuthInjection | undefined;
  headers: Record<string, string>;
  paginate: PaginationConfig | null;
  retryHeader: RetryHeaderConfig | undefined;
  decompress: boolean;
  webhookUrl: string | undefined;
  webhookSecret: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scopes: string[] | undefined;
  allowedHosts: string[];
}

/**
 * Applies `integrations.<id>` over the catalog entry of its provider (default provider: the id).
 * Pure; throws `invalid_configuration` naming the bad fields (never their values).
 *
 * @example
 * resolveIntegration('crm', { provider: 'hubspot' }).baseUrlTemplate; // 'https://api.hubapi.com'
 */
export function resolveIntegration(id: string, config: unknown = {}): ResolvedIntegration {
  const parsed = integrationSchema.safeParse(config ?? {});
  if (!parsed.success) {
    throw new LifelineError(
      'invalid_configuration',
      `integrations.${id} is invalid: ${describeZodIssues(parsed.error)}`,
    );
  }
  const own: IntegrationSettings = parsed.data;
  const provider = own.provider ?? id;
  const entry: Partial<ProviderDefinition> = PROVIDERS[provider] ?? {};
  let paginate: PaginationConfig | null;
  try {
    paginate = mergePagination([entry.paginate, own.paginate]);
  } catch (error) {
    throw new LifelineError(
      'invalid_configuration',
      `integrations.${id}.paginate is invalid: ${(error as Error).message}`,
    );
  }
  return {
    id,
    provider,
    displayName: own.displayName ?? entry.displayName ?? provider,
    authMode: own.authMode ?? entry.authMode ?? 'OAUTH2',
    baseUrlTemplate: own.baseUrl ?? entry.baseUrl,
    auth: own.auth ?? entry.auth,
    headers: lowerKeys({ ...(entry.headers ?? {}), ...(own.headers ?? {}) }),
    paginate,
    retryHeader: own.retryHeader ?? entry.retryHeader,
    decompress: own.decompress ?? entry.decompress ?? true,
    webhookUrl: own.webhookUrl,
    webhookSecret: own.webhookSecret,
    clientId: own.clientId,
    clientSecret: own.clientSecret,
    scopes: own.scopes,
    allowedHosts: own.allowedHosts ?? [],
  };
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

const PLACEHOLDER = /\$\{connectionConfig\.([A-Za-z0-9_.-]+)\}/g;

/**
 * Fills `${connectionConfig.<key>}` placeholders from a connection's config. Returns the
 * problem instead of throwing, so a function that never calls the provider is not failed by it.
 *
 * @example
 * fillTemplate('${connectionConfig.instance_url}', { instance_url: 'https://x.my.salesforce.com' });
 * // { value: 'https://x.my.salesforce.com' }
 */
export function fillTemplate(
  template: string,
  connectionConfig: Record<string, unknown>,
): { value: string } | { missing: string } {
  let missing: string | undefined;
  const value = template.replace(PLACEHOLDER, (_, key: string) => {
    const found = key
      .split('.')
      .reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], connectionConfig);
    if ((typeof found !== 'string' && typeof found !== 'number') || String(found).length === 0) {
      missing ??= key;
      return '';
    }
    return String(found);
  });
  return missing === undefined ? { value } : { missing };
}

/** The base URL of one connection, or why there is none (a message for `invalid_configuration`). */
export function baseUrlFor(
  integration: ResolvedIntegration,
  connectionConfig: Record<string, unknown>,
): { baseUrl: string } | { problem: string } {
  if (!integration.baseUrlTemplate) {
    return {
      problem: `integration ${integration.id} has no base URL: provider ${integration.provider} is not in the catalog; set integrations.${integration.id}.baseUrl`,
    };
  }
  const filled = fillTemplate(integration.baseUrlTemplate, connectionConfig);
  if ('missing' in filled) {
    return {
      problem: `the base URL of provider ${integration.provider} needs connectionConfig.${filled.missing}, which connection config does not have: pass it in CONNECT/RECONNECT connectionConfig or set integrations.${integration.id}.baseUrl`,
    };
  }
  return { baseUrl: filled.value };
}

/** Fills the placeholders of default headers; a header whose value is missing is left out. */
export function headersFor(
  integration: ResolvedIntegration,
  connectionConfig: Record<string, unknown>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, template] of Object.entries(integration.headers)) {
    const filled = fillTemplate(template, connectionConfig);
    if ('value' in filled) out[name] = filled.value;
  }
  return out;
}
