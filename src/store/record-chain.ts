import { createHmac, createSecretKey, hkdfSync } from 'node:crypto';

/**
 * The hash chain that makes the log tamper-evident. Each record's `hash` is an HMAC-SHA256, keyed
 * by a key derived from the credentials key, over the record's content and the previous record's
 * hash. Without the key, an edited, removed, reordered or inserted record cannot be given a
 * hash that verifies.
 *
 * @example
 * const chain = createRecordChain(encryptionKey);
 * const hash = chain.hash(previousHash, record);
 */
export interface ChainedContent {
  connectionId: string;
  version: number;
  type: string;
  data: Record<string, unknown>;
  from: string | null;
  to: string;
  at: Date;
  machineVersion: string;
}

export interface RecordChain {
  hash(prevHash: string, record: ChainedContent): string;
}

/** The hash a connection's first record chains to. */
export const GENESIS = '';

/**
 * JSON with object keys sorted at every depth: the same value always gives the same text.
 * Stored hashes depend on this text byte for byte (`test/unit/record-chain.unit.test.ts` pins
 * it): undefined object values are left out, undefined array items and other values JSON has
 * no text for are `null`, keys sort by UTF-16 code unit, and an array's holes stay empty.
 *
 * @example
 * canonicalJson({ b: [1, undefined], a: 'x' }); // '{"a":"x","b":[1,null]}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ',';
      if (i in value) text += canonicalJson(value[i]);
    }
    return `${text}]`;
  }
  let text = '{';
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    text += `${text.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${text}}`;
}

export function createRecordChain(encryptionKey: Buffer): RecordChain {
  // A KeyObject once, rather than the raw key imported again for every record.
  const key = createSecretKey(
    Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'lifeline/log-chain/v1', 32)),
  );
  return {
    hash(prevHash, r) {
      const content = canonicalJson([
        r.connectionId,
        r.version,
        r.type,
        r.data,
        r.from,
        r.to,
        r.at.toISOString(),
        r.machineVersion,
        prevHash,
      ]);
      return createHmac('sha256', key).update(content).digest('base64url');
    },
  };
}
