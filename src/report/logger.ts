/** pino JSON logs. Secrets and signatures are redacted wherever they appear in a logged object. */
import { pino } from 'pino';
import type { Logger } from 'pino';

export const REDACT_PATHS = [
  'secret',
  '*.secret',
  'customers[*].secret',
  'headers.authorization',
  '*.headers.authorization',
  'headers["webhook-signature"]',
  '*.headers["webhook-signature"]',
  'adminToken',
  '*.adminToken',
  'password',
  '*.password',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'integrator' },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/** A URL without credentials or query (query strings often carry tokens). */
export function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}

export type { Logger };
