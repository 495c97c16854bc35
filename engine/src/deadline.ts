/**
 * Deadlines for calls that may never answer (crash-only recovery). A query on a
 * connection whose server stalled, or a COPY whose server restarted under it, can wait forever;
 * the engine never awaits one without a bound, and the caller decides what giving up means
 * (drop the connection, report the ticks as not saved).
 */
import { AppError, ErrorCode, isAppErrorFor } from '@aegis/shared/errors';

/**
 * A deadline that ran out is an AppError TIMEOUT with reason `deadline_exceeded`, not a class of
 * its own: callers only ask whether it was the deadline (the writer counts flush timeouts), and
 * as an AppError its code survives a thread boundary like every other error of the engine.
 */
const DEADLINE_EXCEEDED = 'deadline_exceeded';

/** True when `withDeadline` gave up waiting. */
export const isDeadlineExceeded = (e: unknown): e is AppError =>
  isAppErrorFor(e, ErrorCode.TIMEOUT, DEADLINE_EXCEEDED);

/** Resolves or rejects as `p` does, or rejects with a deadline AppError after `ms` (≤ 0: at once). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  // An abandoned call may still reject later: that is expected, not an unhandled rejection.
  p.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AppError(ErrorCode.TIMEOUT, `${what}: no answer within ${Math.max(0, ms)} ms`, {
              reason: DEADLINE_EXCEEDED,
            }),
          ),
        Math.max(0, ms),
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
