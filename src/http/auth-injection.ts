import type { Credentials } from '../engine/command-schemas.js';
import type { AuthInjection } from '../providers/provider-schema.js';

export type { AuthInjection };

/**
 * The headers that carry a connection's credentials (and, for an API key sent as a query
 * parameter, sets it on `url`). OAuth2 → `Authorization: Bearer`; Basic → `Authorization: Basic`;
 * API key → `Authorization: Bearer <key>` unless `auth` names another header, prefix or query parameter.
 *
 * @example
 * authHeaders({ type: 'API_KEY', apiKey: 'k' }, { header: 'X-Api-Key' }, url); // { 'x-api-key': 'k' }
 */
export function authHeaders(
  credentials: Credentials,
  auth: AuthInjection | undefined,
  url: URL,
): Record<string, string> {
  switch (credentials.type) {
    case 'OAUTH2':
      return { authorization: `Bearer ${credentials.access_token}` };
    case 'BASIC':
      return {
        authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
      };
    case 'API_KEY': {
      if (auth?.query) {
        url.searchParams.set(auth.query, credentials.apiKey);
        return {};
      }
      const header = (auth?.header ?? 'Authorization').toLowerCase();
      const prefix = auth?.prefix ?? (header === 'authorization' ? 'Bearer ' : '');
      return { [header]: `${prefix}${credentials.apiKey}` };
    }
  }
}
