import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { serializeError } from './error-serializer.ts';

/**
 * Paths pino redacts wherever they appear. Redaction is configuration, not discipline: a token
 * passed to a log call by mistake is censored before it is serialised.
 */
export const REDACT_PATHS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'apiKey',
  'secret',
  'clientSecret',
  'codeVerifier',
  'cookie',
  'authorization',
  'key',
  // OAuth wire names (RFC 6749), in case a provider's response is ever logged whole.
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'code_verifier',
  'apiSecret',
  'passphrase',
  'credentials',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.client_secret',
  '*.code_verifier',
  '*.apiSecret',
  '*.passphrase',
  '*.credentials',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.apiKey',
  '*.secret',
  '*.clientSecret',
  '*.codeVerifier',
  '*.cookie',
  '*.authorization',
  '*.key',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.*.password',
  '*.*.token',
  '*.*.apiKey',
  '*.*.secret',
];

export type { Logger };

export function createLogger(
  options: { name: string; level?: string } & Pick<LoggerOptions, 'base'>,
  destination?: DestinationStream,
): Logger {
  const opts: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Errors lose their bind values and SQL text before they are written (error-serializer.ts).
    serializers: { err: serializeError, error: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: options.base ?? { pid: process.pid },
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(opts, destination) : pino(opts);
}
