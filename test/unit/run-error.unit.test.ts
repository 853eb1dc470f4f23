import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/crypto/secret-redactor.js';
import { ProviderHttpError } from '../../src/errors.js';
import { ActionError } from '../../src/functions/action-error.js';
import { ExecutionTimeoutError, toRunError } from '../../src/functions/run-error.js';

const redact = createRedactor(['s3cret-token']);

describe("function errors in Nango's shapes", () => {
  it('ActionError with an object payload: its message, else its error, else the default', () => {
    expect(toRunError(new ActionError({ message: 'm', code: 7 }), redact)).toEqual({
      type: 'action_script_runtime_error',
      message: 'm',
      payload: { message: 'm', code: 7 },
    });
    expect(toRunError(new ActionError({ error: 'e' }), redact).message).toBe('e');
    expect(toRunError(new ActionError({ code: 1 }), redact).message).toBe('Connection failed validation');
  });

  it('ActionError with a non-object payload becomes { message }', () => {
    expect(toRunError(new ActionError('plain'), redact).payload).toEqual({ message: 'plain' });
    expect(toRunError(new ActionError(42), redact).payload).toEqual({ message: '42' });
  });

  it('an HTTP error → script_http_error with status and (bounded) body', () => {
    const e = new ProviderHttpError('GET /x answered 403', { status: 403, headers: {}, body: { why: 's3cret-token' } });
    expect(toRunError(e, redact)).toEqual({
      type: 'script_http_error',
      message: 'Connection failed validation',
      status: 403,
      body: { why: '[REDACTED]' },
    });
    const huge = new ProviderHttpError('x', { status: 500, headers: {}, body: 'x'.repeat(10_000) });
    expect(String(toRunError(huge, redact).body).length).toBeLessThan(5000);
  });

  it('a timeout → execution_timeout; anything else → script_internal_error with name and message, redacted', () => {
    expect(toRunError(new ExecutionTimeoutError(5), redact).type).toBe('execution_timeout');
    expect(toRunError(new TypeError('x is s3cret-token'), redact)).toEqual({
      type: 'script_internal_error',
      message: 'Connection failed validation',
      payload: { name: 'TypeError', message: 'x is [REDACTED]' },
    });
    expect(toRunError('thrown string', redact).payload).toEqual({ name: 'string', message: 'thrown string' });
  });
});
