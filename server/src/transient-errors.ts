import { AppError } from '@aegis/shared/errors';

/**
 * Which failures mean "a backing service is unreachable right now" rather than "this request or
 * this code is wrong". PostgreSQL restarting, a failover, a dropped connection or Redis going
 * away must answer 503 with Retry-After (clients and the console retry), never 500 (a bug
 * report), and must never be stored as an idempotent request's final outcome.
 */

/** Seconds a client should wait before retrying: long enough for a pool to reconnect. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** Socket errors of Node: which service refused is in the message, not the code. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Connection errors of the `postgres` driver (its Errors.connection codes). */
const DRIVER_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * SQLSTATEs of a server that is going away or not taking connections: class 08 (connection
 * exception), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300
 * too_many_connections.
 */
const isUnavailableSqlState = (code: string) =>
  /^08[0-9A-Z]{3}$/.test(code) ||
  code === '57P01' ||
  code === '57P02' ||
  code === '57P03' ||
  code === '53300';

/** ioredis reports a lost or unusable connection with these (no code on the error). */
const REDIS_UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError']);
const REDIS_UNAVAILABLE_MESSAGES = [/^Connection is closed\.?$/, /^Stream isn't writeable/];

type Kind = 'database' | 'redis' | 'connection';

function classify(e: object): Kind | null {
  const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
  if (name === 'PostgresError' && typeof code === 'string')
    return isUnavailableSqlState(code) ? 'database' : null;
  if (typeof code === 'string' && DRIVER_CODES.has(code)) return 'database';
  if (typeof name === 'string' && REDIS_UNAVAILABLE_NAMES.has(name)) return 'redis';
  if (typeof message === 'string' && REDIS_UNAVAILABLE_MESSAGES.some((re) => re.test(message)))
    return 'redis';
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return 'connection';
  return null;
}

const MESSAGES: Record<Kind, string> = {
  database: 'The database is briefly unavailable; retry shortly',
  redis: 'The cache (Redis) is briefly unavailable; retry shortly',
  connection: 'A backing service is briefly unreachable; retry shortly',
};

/** The unreachable-service error in `error`'s cause chain (or its AggregateError parts), if any. */
export function transientKindOf(error: unknown): Kind | null {
  let e: unknown = error;
  for (let depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    const kind = classify(e);
    if (kind) return kind;
    // Node reports a refused connection to every address of a host as one AggregateError.
    const parts = (e as { errors?: unknown }).errors;
    if (Array.isArray(parts)) {
      for (const p of parts) if (p && typeof p === 'object' && classify(p)) return classify(p);
    }
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** An AppError UNAVAILABLE (503, Retry-After) wrapping `error` when it is transient; else undefined. */
export function unavailableOf(error: unknown): AppError | undefined {
  const kind = transientKindOf(error);
  if (!kind) return undefined;
  return new AppError(
    'UNAVAILABLE',
    MESSAGES[kind],
    { reason: `${kind}_unavailable`, retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS },
    { cause: error },
  );
}
