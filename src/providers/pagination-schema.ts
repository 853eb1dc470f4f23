import * as z from 'zod';
import { describeZodIssues } from '../describe-zod-issues.js';

/**
 * Pagination settings with Nango's field names (DESIGN §6), as the provider catalog, an
 * integration's `paginate` and a call's `paginate` option give them.
 *
 * @example
 * const hubspot: PaginationConfig = {
 *   type: 'cursor',
 *   cursor_path_in_response: 'paging.next.after',
 *   cursor_name_in_request: 'after',
 *   limit_name_in_request: 'limit',
 *   response_path: 'results',
 * };
 */
const common = {
  /** Dot path to the page's array in the response body (default: the body itself). */
  response_path: z.string().min(1).optional(),
  /** Query (or body) parameter that carries `limit`. */
  limit_name_in_request: z.string().min(1).optional(),
  /** Page size to ask for. */
  limit: z.number().int().positive().optional(),
  /** Send the pagination parameters in the JSON body (default: for POST, PUT and PATCH). */
  in_body: z.boolean().optional(),
};

export const cursorPaginationSchema = z
  .object({
    type: z.literal('cursor'),
    ...common,
    cursor_path_in_response: z.string().min(1),
    cursor_name_in_request: z.string().min(1),
  })
  .strict();

export const linkPaginationSchema = z
  .object({
    type: z.literal('link'),
    ...common,
    link_rel_in_response_header: z.string().min(1).optional(),
    link_path_in_response_body: z.string().min(1).optional(),
  })
  .strict();

export const offsetPaginationSchema = z
  .object({
    type: z.literal('offset'),
    ...common,
    offset_name_in_request: z.string().min(1),
    offset_start_value: z.number().int().nonnegative().optional(),
    offset_calculation_method: z.enum(['per-page', 'by-response-size']).optional(),
  })
  .strict();

export const paginationSchema = z.discriminatedUnion('type', [
  cursorPaginationSchema,
  linkPaginationSchema,
  offsetPaginationSchema,
]);

export type CursorPagination = z.infer<typeof cursorPaginationSchema>;
export type LinkPagination = z.infer<typeof linkPaginationSchema>;
export type OffsetPagination = z.infer<typeof offsetPaginationSchema>;
export type PaginationConfig = z.infer<typeof paginationSchema>;

/** Any subset of the fields above: what an integration or a call may put over the catalog's. */
export const partialPaginationSchema = z
  .object({
    type: z.enum(['cursor', 'link', 'offset']).optional(),
    ...common,
    cursor_path_in_response: z.string().min(1).optional(),
    cursor_name_in_request: z.string().min(1).optional(),
    link_rel_in_response_header: z.string().min(1).optional(),
    link_path_in_response_body: z.string().min(1).optional(),
    offset_name_in_request: z.string().min(1).optional(),
    offset_start_value: z.number().int().nonnegative().optional(),
    offset_calculation_method: z.enum(['per-page', 'by-response-size']).optional(),
  })
  .strict();

export type PartialPaginationConfig = z.infer<typeof partialPaginationSchema>;

/**
 * Merges pagination layers (catalog, integration, call; later wins, and a layer naming another
 * `type` replaces what came before) and validates the result.
 * Returns `null` when no layer names a `type`; throws a readable message when the result is invalid.
 */
export function mergePagination(layers: Array<Record<string, unknown> | undefined>): PaginationConfig | null {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    // A layer that switches the style starts over: the other style's fields do not apply.
    if (layer.type !== undefined && merged.type !== undefined && layer.type !== merged.type) {
      for (const key of Object.keys(merged)) delete merged[key];
    }
    for (const [key, value] of Object.entries(layer)) if (value !== undefined) merged[key] = value;
  }
  if (merged.type === undefined) return null;
  const parsed = paginationSchema.safeParse(merged);
  if (!parsed.success) throw new Error(describeZodIssues(parsed.error));
  if (
    parsed.data.type === 'link' &&
    !parsed.data.link_rel_in_response_header &&
    !parsed.data.link_path_in_response_body
  ) {
    throw new Error('link pagination needs link_rel_in_response_header or link_path_in_response_body');
  }
  return parsed.data;
}
