import type { LogLevel } from './context-types.js';

const LEVELS: Record<string, LogLevel> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  // Nango's other names.
  verbose: 'debug',
  silly: 'debug',
  http: 'info',
};

/**
 * Splits `nango.log(...args)`'s arguments: a last argument `{ level }` (as Nango reads it) picks
 * the level and is not logged.
 *
 * @example
 * splitLogArguments(['created', id, { level: 'warn' }]); // { level: 'warn', args: ['created', id] }
 */
export function splitLogArguments(args: unknown[]): { level: LogLevel; args: unknown[] } {
  const last = args.at(-1);
  if (typeof last === 'object' && last !== null && !Array.isArray(last) && 'level' in last) {
    const level = LEVELS[String((last as { level: unknown }).level)];
    if (level) return { level, args: args.slice(0, -1) };
  }
  return { level: 'info', args };
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** True when a line at `level` is kept by a threshold of `threshold`. */
export function atLeast(level: LogLevel, threshold: LogLevel): boolean {
  return ORDER[level] >= ORDER[threshold];
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in ORDER;
}
