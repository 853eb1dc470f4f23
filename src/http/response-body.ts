import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { LifelineError } from '../errors.js';

export type ResponseType = 'json' | 'text' | 'arraybuffer' | 'stream';

/** The decoder for a `content-encoding`, or null when the body is sent as is. */
function decoderFor(encoding: string | undefined) {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return null;
  }
}

/** The body, decompressed when `decompress` is on and the provider compressed it. */
export function decodedStream(body: Readable, encoding: string | undefined, decompress: boolean): Readable {
  const decoder = decompress ? decoderFor(encoding) : null;
  if (!decoder) return body;
  // Errors of either side end up on the decoder, which the caller reads.
  return pipeline(body, decoder, () => {});
}

function isDecoderError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.includes('BROTLI'));
}

/**
 * Reads a whole body into memory, decompressed, refusing more than `limit` bytes
 * (`response_too_large`) so a huge or endless answer cannot exhaust memory.
 */
export async function readBody(
  body: Readable,
  options: { encoding: string | undefined; decompress: boolean; limit: number; where: string; declaredLength?: number },
): Promise<Buffer> {
  const tooLarge = () =>
    new LifelineError(
      'response_too_large',
      `${options.where}: the response body is larger than maxResponseBytes (${options.limit} bytes); use responseType 'stream' for large downloads`,
      { limit: options.limit },
    );
  if (options.declaredLength !== undefined && options.declaredLength > options.limit && !options.encoding) {
    body.destroy();
    throw tooLarge();
  }
  const source = decodedStream(body, options.encoding, options.decompress);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += buffer.length;
      if (size > options.limit) {
        source.destroy();
        body.destroy();
        throw tooLarge();
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (isDecoderError(error)) {
      throw new LifelineError(
        'invalid_response',
        `${options.where}: the response body does not decode as ${options.encoding}`,
      );
    }
    throw error;
  }
  return Buffer.concat(chunks);
}

/**
 * Turns body bytes into `data` per `responseType`:
 * - `arraybuffer` → a Buffer; `text` → a string;
 * - `json` → parsed JSON (an invalid body throws `invalid_response`; an empty one is `null`);
 * - unset (Nango's default) → parsed when the content type says JSON or the text looks like it; when
 *   that parse fails, the raw text, and `onInvalidJson` is told.
 */
export function decodeData(
  bytes: Buffer,
  contentType: string,
  responseType: ResponseType | undefined,
  where: string,
  onInvalidJson?: () => void,
): unknown {
  if (responseType === 'arraybuffer') return bytes;
  const text = bytes.toString('utf8');
  if (responseType === 'text') return text;
  const declaredJson = /[/+]json\b/i.test(contentType);
  if (responseType === 'json') {
    if (text.trim().length === 0) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new LifelineError(
        'invalid_response',
        `${where}: responseType 'json' was asked but the body is not valid JSON (${contentType || 'no content type'}, ${bytes.length} bytes)`,
      );
    }
  }
  if (text.length === 0) return declaredJson ? null : '';
  if (declaredJson || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      if (declaredJson) onInvalidJson?.();
      return text;
    }
  }
  return text;
}
