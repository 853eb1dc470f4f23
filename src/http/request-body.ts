/**
 * Encodes a proxy call's `data`: an object or array → JSON; a string, Buffer or typed array as is;
 * URLSearchParams → a form body. The content type is only a default: a call's header wins.
 *
 * @example
 * encodeBody({ a: 1 }); // { body: '{"a":1}', contentType: 'application/json' }
 */
export function encodeBody(data: unknown): { body?: string | Buffer; contentType?: string } {
  if (data === undefined || data === null) return {};
  if (typeof data === 'string') return { body: data };
  if (Buffer.isBuffer(data)) return { body: data };
  if (data instanceof ArrayBuffer) return { body: Buffer.from(data) };
  if (ArrayBuffer.isView(data)) return { body: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
  if (data instanceof URLSearchParams) {
    return { body: data.toString(), contentType: 'application/x-www-form-urlencoded' };
  }
  return { body: JSON.stringify(data), contentType: 'application/json' };
}
