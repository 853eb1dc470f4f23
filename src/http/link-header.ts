/**
 * The URL of one relation in an RFC 8288 `Link` header.
 *
 * @example
 * linkFromHeader('<https://api.github.com/x?page=2>; rel="next", <…>; rel="last"', 'next');
 * // 'https://api.github.com/x?page=2'
 */
export function linkFromHeader(header: string | string[] | undefined, rel: string): string | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return undefined;
  for (const match of text.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]+)*)/g)) {
    const params = match[2] ?? '';
    const rels = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(params)?.[1];
    if (rels?.split(/\s+/).includes(rel)) return match[1];
  }
  return undefined;
}
