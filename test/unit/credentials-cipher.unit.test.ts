import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCredentialsCipher, parseEncryptionKey } from '../../src/crypto/credentials-cipher.js';
import { isLifelineError } from '../../src/errors.js';

const key = randomBytes(32);
const cipher = createCredentialsCipher(key);
const credentials = { type: 'OAUTH2' as const, access_token: 'at-secret-1', refresh_token: 'rt-secret-2' };

describe('credentials cipher', () => {
  it('seals to ciphertext that holds no plaintext and opens back', () => {
    const sealed = cipher.seal('c1', credentials);
    expect(sealed.type).toBe('OAUTH2');
    expect(sealed.ciphertext).toMatch(/^v1:/);
    expect(sealed.ciphertext).not.toContain('secret');
    expect(Buffer.from(sealed.ciphertext.slice(3), 'base64').toString('latin1')).not.toContain('secret');
    expect(cipher.open('c1', sealed)).toEqual(credentials);
  });

  it('uses a fresh IV each time', () => {
    expect(cipher.seal('c1', credentials).ciphertext).not.toBe(cipher.seal('c1', credentials).ciphertext);
  });

  it('refuses another key, another connection id, or a tampered ciphertext with a typed error', () => {
    const sealed = cipher.seal('c1', credentials);
    const flipped = Buffer.from(sealed.ciphertext.slice(3), 'base64');
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    const attempts = [
      () => createCredentialsCipher(randomBytes(32)).open('c1', sealed),
      () => cipher.open('c2', sealed),
      () => cipher.open('c1', { ...sealed, ciphertext: `v1:${flipped.toString('base64')}` }),
    ];
    for (const attempt of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(isLifelineError(error, 'invalid_configuration')).toBe(true);
      expect(String(error)).not.toContain('secret');
    }
  });

  it('parses keys as 64 hex characters or base64 of 32 bytes, and refuses anything else', () => {
    expect(parseEncryptionKey(key.toString('hex'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    for (const bad of ['short', randomBytes(16).toString('base64'), '']) {
      expect(() => parseEncryptionKey(bad)).toThrow(/32 bytes/);
    }
  });
});
