import { type Logger, pino } from 'pino';

/** Paths pino censors in every engine log line, whatever a caller passes. */
export const REDACT_PATHS = [
  'credentials',
  '*.credentials',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'encryptionKey',
  'headers.authorization',
  '*.headers.authorization',
];

/** The default logger: pino at `LIFELINE_LOG_LEVEL` (default `info`), credentials redacted. */
export function createDefaultLogger(): Logger {
  return pino({
    level: process.env.LIFELINE_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
  });
}

export type { Logger };
