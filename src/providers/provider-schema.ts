import * as z from 'zod';
import { partialPaginationSchema } from './pagination-schema.js';

/**
 * How a provider's credentials go on the wire. OAuth2 tokens are always `Authorization: Bearer`,
 * Basic credentials always `Authorization: Basic`; this decides where an API key goes.
 *
 * @example
 * { header: 'X-Api-Key' }            // X-Api-Key: <apiKey>
 * { header: 'Authorization', prefix: 'Token ' }
 * { query: 'api_key' }               // ?api_key=<apiKey>
 */
export const authInjectionSchema = z
  .object({
    /** Header for API keys (default `Authorization`). */
    header: z.string().min(1).optional(),
    /** Prefix before the API key in that header (default `Bearer ` for `Authorization`, else none). */
    prefix: z.string().optional(),
    /** Send the API key as this query parameter instead of a header. */
    query: z.string().min(1).optional(),
  })
  .strict();

export type AuthInjection = z.infer<typeof authInjectionSchema>;

/** Response headers that say when to retry: `at` holds a time (Unix seconds or a date), `after` seconds. */
export const retryHeaderSchema = z
  .object({ at: z.string().min(1).optional(), after: z.string().min(1).optional() })
  .strict();

export type RetryHeaderConfig = z.infer<typeof retryHeaderSchema>;

export const AUTH_MODES = ['OAUTH2', 'API_KEY', 'BASIC'] as const;

/** The fields a catalog entry has, and an integration may override. */
const providerFields = {
  displayName: z.string().min(1),
  /** The credentials the provider takes (what `getIntegration().credentials.type` says). */
  authMode: z.enum(AUTH_MODES),
  /** API base URL; `${connectionConfig.<key>}` is replaced by the connection's config value. */
  baseUrl: z.string().min(1),
  auth: authInjectionSchema.optional(),
  /** Headers sent on every proxy call (a call's own headers win); templated like `baseUrl`. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Default pagination for `nango.paginate`. */
  paginate: partialPaginationSchema.optional(),
  /** Rate-limit headers honoured when retrying (besides the standard `Retry-After`). */
  retryHeader: retryHeaderSchema.optional(),
  /** Ask for and decode compressed responses (default true). */
  decompress: z.boolean().optional(),
  /** Where the provider's API is documented. */
  docs: z.string().url().optional(),
};

export const providerSchema = z.object(providerFields).strict();
export type ProviderDefinition = z.infer<typeof providerSchema>;

/**
 * `integrations.<id>` as the engine accepts it: the provider's name, any catalog field to
 * override, and what only the integration knows (webhook URL and secret, OAuth client).
 */
export const integrationSchema = z
  .object({
    provider: z.string().min(1).optional(),
    ...providerFields,
    displayName: providerFields.displayName.optional(),
    authMode: providerFields.authMode.optional(),
    baseUrl: providerFields.baseUrl.optional(),
    webhookUrl: z.string().min(1).optional(),
    webhookSecret: z.string().min(1).optional(),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    scopes: z.array(z.string()).optional(),
    /** Hosts `uncontrolledFetch` may reach besides the base URL's (`api.example.com`, `*.example.com`). */
    allowedHosts: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type IntegrationSettings = z.infer<typeof integrationSchema>;
