/**
 * Deadlines for calls that may never answer (crash-only recovery). A query on a
 * connection whose server stalled, or a COPY whose server restarted under it, can wait forever;
 * the engine never awaits one without a bound, and the caller decides what giving up means
 * (drop the connection, report the ticks as not saved).
 */
export class DeadlineError extends Error {
  readonly code = 'DEADLINE_EXCEEDED';
}

/** Resolves or rejects as `p` does, or rejects with DeadlineError after `ms` (≤ 0: at once). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  // An abandoned call may still reject later: that is expected, not an unhandled rejection.
  p.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineError(`${what}: no answer within ${Math.max(0, ms)} ms`)),
        Math.max(0, ms),
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
