import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigurationError } from '../errors.js';
import type { Database } from '../store/open-database.js';
import { parseEncryptionKey } from './credentials-cipher.js';

/**
 * The credentials key: the `encryptionKey` option, else `LIFELINE_ENCRYPTION_KEY`. An embedded
 * store on disk without one generates a key once and keeps it beside its data directory
 * (`<dir>.key`, mode 0600); an in-memory store uses a throw-away key. A PostgreSQL store without a
 * key refuses to start.
 */
export function resolveEncryptionKey(option: string | undefined, database: Database): Buffer {
  const text = option ?? process.env.LIFELINE_ENCRYPTION_KEY;
  if (text) return parseEncryptionKey(text);
  if (database.kind === 'postgres') {
    throw new ConfigurationError(
      'a PostgreSQL store needs an encryption key for credentials: set the encryptionKey option or LIFELINE_ENCRYPTION_KEY (32 bytes, e.g. `openssl rand -base64 32`)',
    );
  }
  if (database.dataDir === null) return randomBytes(32);
  const keyFile = `${database.dataDir}.key`;
  if (!existsSync(keyFile)) {
    try {
      writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return parseEncryptionKey(readFileSync(keyFile, 'utf8'));
}
