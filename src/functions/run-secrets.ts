import { secretsOf } from '../crypto/secret-redactor.js';
import type { ResolvedIntegration } from '../providers/resolve-integration.js';

const SECRET_NAME = /secret|token|key|password|passwd|pwd|credential|auth|private/i;

/**
 * Every string a run must never leak into the log, its log lines or error messages: the
 * connection's credentials, the integration's webhook and client secrets, and the values of
 * environment variables whose names look secret (`*_SECRET`, `*_TOKEN`, `*_KEY`, `*PASSWORD*`, …).
 *
 * @example
 * runSecrets(credentials, integration, { STRIPE_SECRET_KEY: 'sk_live_…', REGION: 'eu' });
 * // [...credential secrets, 'sk_live_…']  (REGION is not a secret)
 */
export function runSecrets(
  credentials: Record<string, unknown>,
  integration: Pick<ResolvedIntegration, 'webhookSecret' | 'clientSecret'>,
  environmentVariables: Record<string, string>,
): string[] {
  const extra = [integration.webhookSecret, integration.clientSecret];
  for (const [name, value] of Object.entries(environmentVariables)) if (SECRET_NAME.test(name)) extra.push(value);
  return [...secretsOf(credentials), ...extra.filter((s): s is string => typeof s === 'string' && s.length >= 4)];
}
