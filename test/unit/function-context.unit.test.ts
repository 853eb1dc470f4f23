import { describe, expect, it } from 'vitest';
import { splitLogArguments } from '../../src/functions/log-arguments.js';
import { NOT_AVAILABLE, notAvailableMethods } from '../../src/functions/not-available.js';
import { runSecrets } from '../../src/functions/run-secrets.js';
import { isLifelineError } from '../../src/index.js';

describe('context helpers', () => {
  it('a last { level } argument picks the level, as Nango reads it', () => {
    expect(splitLogArguments(['a', 1])).toEqual({ level: 'info', args: ['a', 1] });
    expect(splitLogArguments(['a', { level: 'warn' }])).toEqual({ level: 'warn', args: ['a'] });
    expect(splitLogArguments(['a', { level: 'verbose' }])).toEqual({ level: 'debug', args: ['a'] });
    expect(splitLogArguments(['a', { level: 'loud' }])).toEqual({ level: 'info', args: ['a', { level: 'loud' }] });
    expect(splitLogArguments([{ id: 1 }])).toEqual({ level: 'info', args: [{ id: 1 }] });
  });

  it('every unavailable method throws not_available naming itself', () => {
    const methods = notAvailableMethods();
    expect(Object.keys(methods).sort()).toEqual(Object.keys(NOT_AVAILABLE).sort());
    for (const [name, call] of Object.entries(methods)) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(isLifelineError(error, 'not_available')).toBe(true);
      expect((error as Error).message).toContain(`nango.${name} is not available in event functions`);
    }
  });

  it("a run's secrets: credentials, integration secrets, secret-looking environment variables", () => {
    const secrets = runSecrets(
      { type: 'OAUTH2', access_token: 'tok-123456' },
      { webhookSecret: 'whsec-1234', clientSecret: undefined },
      { REGION: 'eu-west-1', API_TOKEN: 'env-token-1', DB_PASSWORD: 'pw-99999' },
    );
    expect(secrets).toEqual(expect.arrayContaining(['tok-123456', 'whsec-1234', 'env-token-1', 'pw-99999']));
    expect(secrets).not.toContain('eu-west-1');
  });
});
