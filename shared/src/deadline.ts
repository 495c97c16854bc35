/**
 * Deadlines for calls that may never answer (crash-only recovery). A query on a connection whose
 * server stalled, a publish to a Redis that went away, a subscribe that never acknowledges: each
 * can wait forever. Nothing awaits one without a bound, and the caller decides what giving up
 * means (drop the connection, answer from a latch, report "not ready"). The one helper for the
 * server, the engine and the launcher.
 */
import { AppError, ErrorCode, isAppErrorFor } from './errors.ts';

/**
 * A deadline that ran out is an AppError TIMEOUT with reason `deadline_exceeded` (or the caller's
 * own reason), not a class of its own: callers only ask whether it was the deadline, and as an
 * AppError its code survives a thread boundary like every other error.
 */
export const DEADLINE_EXCEEDED = 'deadline_exceeded';

/** True when `withDeadline` (given the same `reason`, default `deadline_exceeded`) gave up waiting. */
export const isDeadlineExceeded = (e: unknown, reason: string = DEADLINE_EXCEEDED): e is AppError =>
  isAppErrorFor(e, ErrorCode.TIMEOUT, reason);

export interface DeadlineOptions {
  /** details.reason of the TIMEOUT error; default `deadline_exceeded`. */
  readonly reason?: string;
  /**
   * Unref the timer, so a pending deadline alone never keeps the process alive (fire-and-forget
   * publishes). Default false: the deadline keeps the process up until it answers.
   */
  readonly unref?: boolean;
}

/**
 * Resolves or rejects as `p` does, or rejects with a TIMEOUT AppError
 * (`<what>: no answer within <ms> ms`) after `ms` (≤ 0: at once). The timer is cleared as soon as
 * either settles; a late rejection of `p` after the deadline is handled here, never unhandled.
 */
export function withDeadline<T>(
  p: PromiseLike<T>,
  ms: number,
  what: string,
  options: DeadlineOptions = {},
): Promise<T> {
  const call = Promise.resolve(p);
  // An abandoned call may still reject later: that is expected, not an unhandled rejection.
  call.catch(() => {});
  const wait = Math.max(0, ms);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    call,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AppError(ErrorCode.TIMEOUT, `${what}: no answer within ${wait} ms`, {
              reason: options.reason ?? DEADLINE_EXCEEDED,
            }),
          ),
        wait,
      );
      if (options.unref) timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
