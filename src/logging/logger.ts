import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that must never reach a log line. The service does not log request or response bodies
 * at all (answers, passwords and reports live only in the database); these paths are the second
 * line of defence for headers and for objects a developer might pass to the logger.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.newPassword',
  '*.answers',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.clientSecret',
  '*.client_secret',
  '*.secret',
  '*.privateKey',
  '*.csrfToken',
  'password',
  'answers',
  'token',
  'clientSecret',
  'privateKey',
];

/** Structured JSON logs (pino). `destination` lets tests capture lines. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'hipaa-ai-risk' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
