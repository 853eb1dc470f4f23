import { ConfigurationError } from '../errors.js';
import type { Durability } from './create-engine.js';
import type { EngineOptions, RetryPolicy } from './engine-options.js';

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseMs: 1000, capMs: 30_000 };
const NO_RETRY: RetryPolicy = { maxAttempts: 1, baseMs: 1000, capMs: 30_000 };

function count(value: number | undefined, fallback: number, name: string, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new ConfigurationError(`${name} must be an integer ≥ ${min}`);
  return v;
}

function policy(given: Partial<RetryPolicy> | undefined, fallback: RetryPolicy, name: string): RetryPolicy {
  return {
    maxAttempts: count(given?.maxAttempts, fallback.maxAttempts, `${name}.maxAttempts`, 1),
    baseMs: count(given?.baseMs, fallback.baseMs, `${name}.baseMs`, 0),
    capMs: count(given?.capMs, fallback.capMs, `${name}.capMs`, 0),
  };
}

/**
 * Leases, recovery, retries and shutdown bounds from the engine options, with their defaults
 * (see docs/reliability.md). Refuses values that make no sense with `invalid_configuration`.
 */
export function resolveDurability(options: EngineOptions, functionTimeoutMs: number): Durability {
  const leaseMs = count(options.leaseMs, 30_000, 'leaseMs', 100);
  return {
    leaseMs,
    recoveryIntervalMs: count(options.recoveryIntervalMs, 5000, 'recoveryIntervalMs', 0),
    closeTimeoutMs: count(options.closeTimeoutMs, 30_000, 'closeTimeoutMs', 0),
    commandWaitMs: count(options.commandWaitMs, 2 * functionTimeoutMs + leaseMs, 'commandWaitMs', 0),
    retry: policy(options.retry, DEFAULT_RETRY, 'retry'),
    validationRetry: policy(options.validationRetry, NO_RETRY, 'validationRetry'),
  };
}
