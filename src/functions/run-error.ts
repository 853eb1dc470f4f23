import type { FunctionRunError } from '../../machines/connection-events.js';
import type { Redactor } from '../crypto/secret-redactor.js';
import { toJsonSafe } from '../engine/json-safe.js';
import { isLifelineError, type ProviderHttpError } from '../errors.js';
import { isActionError } from './action-error.js';

export const DEFAULT_FAILURE_MESSAGE = 'Connection failed validation';

/** Thrown into a run when it exceeds its timeout. */
export class ExecutionTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The function did not finish within ${timeoutMs} ms`);
    this.name = 'ExecutionTimeoutError';
  }
}

function userMessage(payload: Record<string, unknown> | undefined): string {
  if (typeof payload?.message === 'string' && payload.message.length > 0) return payload.message;
  if (typeof payload?.error === 'string' && payload.error.length > 0) return payload.error;
  return DEFAULT_FAILURE_MESSAGE;
}

const MAX_BODY_CHARS = 4096;

function boundedBody(body: unknown): unknown {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (text !== undefined && text.length > MAX_BODY_CHARS) return `${text.slice(0, MAX_BODY_CHARS)}… (truncated)`;
  return body;
}

/**
 * Maps whatever a function threw to Nango's error shapes (DESIGN §1), with secrets redacted.
 * `message` is the user-facing message: `payload.message`, else `payload.error`, else the default.
 */
export function toRunError(error: unknown, redact: Redactor): FunctionRunError {
  if (error instanceof ExecutionTimeoutError) {
    return { type: 'execution_timeout', message: DEFAULT_FAILURE_MESSAGE, payload: { timeoutMs: error.timeoutMs } };
  }
  if (isActionError(error)) {
    const payload = redact(toJsonSafe<Record<string, unknown>>(error.payload));
    return { type: 'action_script_runtime_error', message: userMessage(payload), payload };
  }
  if (isLifelineError(error, 'provider_http_error')) {
    const http = error as ProviderHttpError;
    return {
      type: 'script_http_error',
      message: DEFAULT_FAILURE_MESSAGE,
      status: http.status,
      body: redact(boundedBody(http.body)),
    };
  }
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return {
    type: 'script_internal_error',
    message: DEFAULT_FAILURE_MESSAGE,
    payload: { name: redact(name), message: redact(message) },
  };
}
