/**
 * The error an event function throws to fail on purpose, as `throw new nango.ActionError(payload)`.
 * Recorded as Nango's `action_script_runtime_error` with its payload; a payload that is not an
 * object becomes `{ message }`.
 */
const BRAND = Symbol.for('lifeline.action-error');

export class ActionError extends Error {
  readonly type = 'action_script_runtime_error';
  readonly payload: Record<string, unknown>;
  readonly [BRAND] = true;

  constructor(payload?: unknown) {
    const normalized =
      typeof payload === 'object' && payload !== null && !Array.isArray(payload)
        ? (payload as Record<string, unknown>)
        : { message: payload === undefined ? '' : String(payload) };
    super(typeof normalized.message === 'string' ? normalized.message : 'Action error');
    this.name = 'ActionError';
    this.payload = normalized;
  }
}

export function isActionError(error: unknown): error is ActionError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}
