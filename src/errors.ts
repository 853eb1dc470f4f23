/**
 * lifeline's error hierarchy. Every error lifeline throws on purpose is a `LifelineError` with a
 * stable `code`. Check codes with {@link isLifelineError} rather than `instanceof`: it also works
 * when two copies of lifeline are loaded in one process.
 *
 * @example
 * try { await engine.send('conn-1', { type: 'DELETE' }); }
 * catch (e) { if (isLifelineError(e, 'command_refused')) console.log(e.message); }
 */
const BRAND = Symbol.for('lifeline.error');

export type LifelineErrorCode =
  | 'invalid_command'
  | 'command_refused'
  | 'connection_not_found'
  | 'invalid_configuration'
  | 'function_load_failed'
  | 'invalid_metadata'
  | 'concurrent_modification'
  | 'store_locked'
  | 'engine_closed'
  | 'outbound_refused'
  | 'provider_http_error'
  | 'not_available'
  | 'invalid_argument'
  | 'invalid_response'
  | 'response_too_large'
  | 'provider_network_error';

export class LifelineError extends Error {
  readonly code: LifelineErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly [BRAND] = true;

  constructor(code: LifelineErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'LifelineError';
    this.code = code;
    this.details = details;
  }
}

/** True when `error` is a lifeline error (from any copy of the package), optionally of one `code`. */
export function isLifelineError(error: unknown, code?: LifelineErrorCode): error is LifelineError {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (error as LifelineError).code === code;
}

/** A command that is malformed: unknown type, missing or mistyped fields. Nothing was written. */
export class InvalidCommandError extends LifelineError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_command', message, details);
    this.name = 'InvalidCommandError';
  }
}

/** A well-formed command that the connection's current state does not accept. Nothing was written. */
export class CommandRefusedError extends LifelineError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('command_refused', message, details);
    this.name = 'CommandRefusedError';
  }
}

export class ConfigurationError extends LifelineError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_configuration', message, details);
    this.name = 'ConfigurationError';
  }
}

/** A provider answered with a non-2xx status. Maps to Nango's `script_http_error`. */
export class ProviderHttpError extends LifelineError {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
  /** The same answer in axios' shape (`error.response.status`), as Nango functions expect. */
  readonly response: { status: number; headers: Record<string, string | string[] | undefined>; data: unknown };

  constructor(
    message: string,
    response: { status: number; headers: Record<string, string | string[] | undefined>; body: unknown },
  ) {
    super('provider_http_error', message, { status: response.status });
    this.name = 'ProviderHttpError';
    this.status = response.status;
    this.headers = response.headers;
    this.body = response.body;
    this.response = { status: response.status, headers: response.headers, data: response.body };
  }
}
