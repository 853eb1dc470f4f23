import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SealedCredentials } from '../../machines/connection-events.js';
import type { Credentials } from '../engine/command-schemas.js';
import { ConfigurationError } from '../errors.js';

const VERSION = 'v1';

/**
 * Seals and opens credentials with AES-256-GCM. The connection id is bound as additional
 * authenticated data, so a ciphertext copied onto another connection does not open.
 *
 * @example
 * const cipher = createCredentialsCipher(key);
 * const sealed = cipher.seal('conn-1', { type: 'API_KEY', apiKey: 'k' }); // { type, ciphertext }
 * cipher.open('conn-1', sealed); // { type: 'API_KEY', apiKey: 'k' }
 */
export interface CredentialsCipher {
  seal(connectionId: string, credentials: Credentials): SealedCredentials;
  open(connectionId: string, sealed: SealedCredentials): Credentials;
}

/** Parses a 32-byte key given as 64 hex characters or base64. */
export function parseEncryptionKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new ConfigurationError(
      'encryptionKey must be 32 bytes, given as 64 hex characters or base64 (e.g. `openssl rand -base64 32`)',
    );
  }
  return key;
}

export function createCredentialsCipher(key: Buffer): CredentialsCipher {
  return {
    seal(connectionId, credentials) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(connectionId));
      const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
      const ciphertext = `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
      return { type: credentials.type, ciphertext };
    },
    open(connectionId, sealed) {
      const [version, payload] = sealed.ciphertext.split(':');
      if (version !== VERSION || payload === undefined) {
        throw new ConfigurationError(`unknown credentials format ${String(version)}`);
      }
      const raw = Buffer.from(payload, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(connectionId));
      decipher.setAuthTag(raw.subarray(12, 28));
      try {
        const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
        return JSON.parse(text) as Credentials;
      } catch {
        throw new ConfigurationError(
          `the credentials of connection ${connectionId} do not open with the configured encryption key`,
        );
      }
    },
  };
}
