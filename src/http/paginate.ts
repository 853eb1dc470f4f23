import { LifelineError } from '../errors.js';
import type { PaginateOption, ProxyConfiguration, ProxyResponse } from '../functions/context-types.js';
import { mergePagination, type PaginationConfig } from '../providers/pagination-schema.js';
import { linkFromHeader } from './link-header.js';
import { getPath } from './object-path.js';

export interface PaginateDeps {
  /** Makes one call (the context's `proxy`). */
  proxy: (config: ProxyConfiguration) => Promise<ProxyResponse>;
  /** The URL a call would go to (for resolving relative `next` links). */
  resolveUrl: (config: ProxyConfiguration) => URL;
  /** The integration's default pagination (catalog and integration config). */
  defaults: PaginationConfig | null;
  /** Names the integration in the error when nothing is configured. */
  integration: string;
  provider: string;
}

function invalid(message: string): LifelineError {
  return new LifelineError('invalid_argument', `paginate: ${message}`);
}

function pageOf(response: ProxyResponse, config: PaginationConfig): unknown[] | null {
  const data = config.response_path ? getPath(response.data, config.response_path) : response.data;
  if (data === undefined || data === null) return null;
  if (!Array.isArray(data)) {
    throw new LifelineError(
      'invalid_response',
      `paginate: ${config.response_path ? `response_path ${config.response_path}` : 'the response body'} is not an array (got ${typeof data}); set paginate.response_path`,
    );
  }
  return data;
}

function toRecord(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string' || value instanceof URLSearchParams) {
    return Object.fromEntries(new URLSearchParams(value));
  }
  if (typeof value === 'object' && !Array.isArray(value)) return { ...(value as Record<string, unknown>) };
  throw invalid('pagination parameters go in params or data, which must then be an object');
}

/**
 * `nango.paginate`: calls the provider page after page and yields each page's records as an
 * array. Cursor, link (a body path or the `Link` header) and offset styles, with Nango's field
 * names; the call's `paginate` is laid over the integration's and the catalog's. Stops on an empty
 * page, a missing cursor or link, or (offset) a short page; refuses a cursor or link that repeats.
 *
 * @example
 * for await (const contacts of nango.paginate({ endpoint: '/crm/v3/objects/contacts', paginate: { limit: 100 } })) {
 *   for (const c of contacts) nango.log(c.id);
 * }
 */
export async function* paginate<T = any>(
  config: ProxyConfiguration,
  deps: PaginateDeps,
): AsyncGenerator<T[], undefined, void> {
  const { on_page: onPage, ...callPaginate } = (config.paginate ?? {}) as PaginateOption;
  let pagination: PaginationConfig | null;
  try {
    pagination = mergePagination([deps.defaults ?? undefined, callPaginate as Record<string, unknown>]);
  } catch (error) {
    throw invalid((error as Error).message);
  }
  if (!pagination) {
    throw invalid(
      `no pagination is configured for integration ${deps.integration} (provider ${deps.provider}): pass paginate: { type: 'cursor' | 'link' | 'offset', … } or set integrations.${deps.integration}.paginate`,
    );
  }
  const method = String(config.method ?? 'GET').toUpperCase();
  const inBody = pagination.in_body ?? ['POST', 'PUT', 'PATCH'].includes(method);
  const bag = toRecord(inBody ? config.data : config.params);
  if (pagination.limit !== undefined) {
    if (!pagination.limit_name_in_request) throw invalid('limit needs limit_name_in_request');
    bag[pagination.limit_name_in_request] = pagination.limit;
  }
  let request: ProxyConfiguration = { ...config, method: method as ProxyConfiguration['method'] };
  delete request.paginate;
  const withBag = (): ProxyConfiguration =>
    inBody ? { ...request, data: { ...bag } } : { ...request, params: bag as ProxyConfiguration['params'] };

  switch (pagination.type) {
    case 'cursor': {
      let cursor: string | undefined;
      for (;;) {
        if (cursor !== undefined) bag[pagination.cursor_name_in_request] = cursor;
        const response = await deps.proxy(withBag());
        const page = pageOf(response, pagination);
        if (!page || page.length === 0) return undefined;
        yield page as T[];
        const next = getPath(response.data, pagination.cursor_path_in_response);
        await onPage?.({ nextPageParam: next as string | number | undefined, response });
        if ((typeof next !== 'string' && typeof next !== 'number') || String(next).trim() === '') return undefined;
        if (String(next) === cursor) {
          throw new LifelineError(
            'invalid_response',
            'paginate: the provider returned the same cursor twice; stopping',
          );
        }
        cursor = String(next);
      }
    }
    case 'link': {
      let current = withBag();
      const seen = new Set<string>();
      for (;;) {
        const response = await deps.proxy(current);
        const page = pageOf(response, pagination);
        if (!page || page.length === 0) return undefined;
        yield page as T[];
        const raw = pagination.link_rel_in_response_header
          ? linkFromHeader(response.headers.link, pagination.link_rel_in_response_header)
          : getPath(response.data, pagination.link_path_in_response_body as string);
        await onPage?.({ nextPageParam: raw as string | undefined, response });
        if (typeof raw !== 'string' || raw.trim() === '') return undefined;
        // Relative links resolve against the page they came from; the proxy's outbound policy
        // refuses a link to another host, so credentials stay with the provider.
        const next = new URL(raw, deps.resolveUrl(current)).toString();
        if (seen.has(next)) {
          throw new LifelineError(
            'invalid_response',
            'paginate: the provider returned the same next link twice; stopping',
          );
        }
        seen.add(next);
        request = { ...request, endpoint: next };
        delete request.params;
        current = inBody ? { ...request, data: { ...bag } } : { ...request };
      }
    }
    case 'offset': {
      let offset = pagination.offset_start_value ?? 0;
      for (;;) {
        bag[pagination.offset_name_in_request] = inBody ? offset : String(offset);
        const response = await deps.proxy(withBag());
        const page = pageOf(response, pagination);
        if (!page || page.length === 0) return undefined;
        yield page as T[];
        offset = pagination.offset_calculation_method === 'per-page' ? offset + 1 : offset + page.length;
        await onPage?.({ nextPageParam: offset, response });
        if (pagination.limit !== undefined && page.length < pagination.limit) return undefined;
      }
    }
  }
}
