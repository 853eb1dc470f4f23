import { createHmac, hkdfSync } from 'node:crypto';

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

/** JSON with object keys sorted at every depth: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function createRecordChain(encryptionKey: Buffer): RecordChain {
  const key = Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'lifeline/log-chain/v1', 32));
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
