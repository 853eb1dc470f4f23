import { describeZodIssues } from '../describe-zod-issues.js';
import { LifelineError } from '../errors.js';
import { type ProviderDefinition, providerSchema } from './provider-schema.js';

/**
 * The provider catalog: what lifeline knows about a provider without being told. An integration
 * names its provider (`integrations.<id>.provider`, default: the integration id) and may override
 * any field. Data only; validated with zod when this module loads.
 *
 * @example
 * PROVIDERS.hubspot.baseUrl;   // 'https://api.hubapi.com'
 */
const CATALOG_DATA: Record<string, unknown> = {
  salesforce: {
    displayName: 'Salesforce',
    authMode: 'OAUTH2',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder filled from the connection config
    baseUrl: '${connectionConfig.instance_url}',
    paginate: { type: 'link', link_path_in_response_body: 'nextRecordsUrl', response_path: 'records' },
    docs: 'https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/',
  },
  hubspot: {
    displayName: 'HubSpot',
    authMode: 'OAUTH2',
    baseUrl: 'https://api.hubapi.com',
    paginate: {
      type: 'cursor',
      cursor_path_in_response: 'paging.next.after',
      cursor_name_in_request: 'after',
      limit_name_in_request: 'limit',
      response_path: 'results',
    },
    docs: 'https://developers.hubspot.com/docs/api/overview',
  },
  github: {
    displayName: 'GitHub',
    authMode: 'OAUTH2',
    baseUrl: 'https://api.github.com',
    headers: { accept: 'application/vnd.github+json' },
    paginate: { type: 'link', link_rel_in_response_header: 'next', limit_name_in_request: 'per_page' },
    retryHeader: { at: 'x-ratelimit-reset' },
    docs: 'https://docs.github.com/en/rest',
  },
  slack: {
    displayName: 'Slack',
    authMode: 'OAUTH2',
    baseUrl: 'https://slack.com/api',
    paginate: {
      type: 'cursor',
      cursor_path_in_response: 'response_metadata.next_cursor',
      cursor_name_in_request: 'cursor',
      limit_name_in_request: 'limit',
    },
    retryHeader: { after: 'retry-after' },
    docs: 'https://api.slack.com/web',
  },
  'google-calendar': {
    displayName: 'Google Calendar',
    authMode: 'OAUTH2',
    baseUrl: 'https://www.googleapis.com',
    paginate: {
      type: 'cursor',
      cursor_path_in_response: 'nextPageToken',
      cursor_name_in_request: 'pageToken',
      limit_name_in_request: 'maxResults',
      response_path: 'items',
    },
    docs: 'https://developers.google.com/calendar/api/v3/reference',
  },
  'google-mail': {
    displayName: 'Gmail',
    authMode: 'OAUTH2',
    baseUrl: 'https://gmail.googleapis.com',
    paginate: {
      type: 'cursor',
      cursor_path_in_response: 'nextPageToken',
      cursor_name_in_request: 'pageToken',
      limit_name_in_request: 'maxResults',
    },
    docs: 'https://developers.google.com/gmail/api/reference/rest',
  },
  attio: {
    displayName: 'Attio',
    authMode: 'OAUTH2',
    baseUrl: 'https://api.attio.com',
    paginate: {
      type: 'offset',
      offset_name_in_request: 'offset',
      limit_name_in_request: 'limit',
      response_path: 'data',
    },
    docs: 'https://docs.attio.com/rest-api/overview',
  },
  'cal-com': {
    displayName: 'Cal.com',
    authMode: 'API_KEY',
    baseUrl: 'https://api.cal.com',
    auth: { header: 'Authorization', prefix: 'Bearer ' },
    headers: { 'cal-api-version': '2024-08-13' },
    docs: 'https://cal.com/docs/api-reference/v2/introduction',
  },
  folk: {
    displayName: 'Folk',
    authMode: 'API_KEY',
    baseUrl: 'https://api.folk.app',
    auth: { header: 'Authorization', prefix: 'Bearer ' },
    paginate: {
      type: 'link',
      link_path_in_response_body: 'data.pagination.nextLink',
      limit_name_in_request: 'limit',
      response_path: 'data.items',
    },
    docs: 'https://developer.folk.app/api-reference/overview',
  },
  microsoft: {
    displayName: 'Microsoft',
    authMode: 'OAUTH2',
    baseUrl: 'https://graph.microsoft.com',
    paginate: {
      type: 'link',
      link_path_in_response_body: '@odata.nextLink',
      limit_name_in_request: '$top',
      response_path: 'value',
    },
    retryHeader: { after: 'retry-after' },
    docs: 'https://learn.microsoft.com/en-us/graph/api/overview',
  },
  linear: {
    displayName: 'Linear',
    authMode: 'OAUTH2',
    baseUrl: 'https://api.linear.app',
    docs: 'https://developers.linear.app/docs/graphql/working-with-the-graphql-api',
  },
  notion: {
    displayName: 'Notion',
    authMode: 'OAUTH2',
    baseUrl: 'https://api.notion.com',
    headers: { 'notion-version': '2022-06-28' },
    paginate: {
      type: 'cursor',
      cursor_path_in_response: 'next_cursor',
      cursor_name_in_request: 'start_cursor',
      limit_name_in_request: 'page_size',
      response_path: 'results',
    },
    docs: 'https://developers.notion.com/reference/intro',
  },
  videoask: {
    displayName: 'VideoAsk',
    authMode: 'OAUTH2',
    baseUrl: 'https://api.videoask.com',
    paginate: {
      type: 'offset',
      offset_name_in_request: 'offset',
      limit_name_in_request: 'limit',
      response_path: 'results',
    },
    docs: 'https://api.videoask.com/docs',
  },
};

/** Validates catalog data; a bad entry names the provider and the fields, at load. */
export function parseCatalog(data: Record<string, unknown>): Record<string, ProviderDefinition> {
  const out: Record<string, ProviderDefinition> = {};
  for (const [name, entry] of Object.entries(data)) {
    const parsed = providerSchema.safeParse(entry);
    if (!parsed.success) {
      throw new LifelineError(
        'invalid_configuration',
        `provider catalog entry ${name} is invalid: ${describeZodIssues(parsed.error)}`,
      );
    }
    out[name] = parsed.data;
  }
  return out;
}

/** The built-in catalog, validated. */
export const PROVIDERS: Readonly<Record<string, ProviderDefinition>> = Object.freeze(parseCatalog(CATALOG_DATA));
