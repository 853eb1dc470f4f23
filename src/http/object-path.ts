/**
 * Reads a dot path (`paging.next.after`, `items[0].id`) from a JSON value, as lodash's `get`
 * does for Nango: a key that contains dots itself (`@odata.nextLink`) is found first.
 *
 * @example
 * getPath({ paging: { next: { after: 'x' } } }, 'paging.next.after'); // 'x'
 * getPath({ '@odata.nextLink': 'u' }, '@odata.nextLink');            // 'u'
 */
export function getPath(value: unknown, path: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  if (Object.hasOwn(value, path)) return (value as Record<string, unknown>)[path];
  const parts = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter(Boolean);
  let at: unknown = value;
  for (const part of parts) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}
