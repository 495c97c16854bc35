/** Time bounds on broker calls made by the dispatcher (outbox.ts, combo-dispatch.ts). */

import { AppError, ErrorCode, isAppErrorFor } from '@aegis/shared/errors';

/**
 * The dispatcher's own bound on a broker call ran out: an AppError TIMEOUT with reason
 * `broker_call_timeout`, not a class. The dispatcher only needs to tell it from every other
 * failure (the order may have reached the broker: mark it unknown, look it up next time), and the
 * reason does that; an adapter's own timeout is a BrokerError with its broker code instead.
 */
const BROKER_CALL_TIMEOUT = 'broker_call_timeout';

/** True when the dispatcher's bound on a broker call (withTimeout) ran out. */
export const isBrokerCallTimeout = (e: unknown): e is AppError =>
  isAppErrorFor(e, ErrorCode.TIMEOUT, BROKER_CALL_TIMEOUT);

export const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () =>
        reject(
          new AppError(ErrorCode.TIMEOUT, `broker call timed out after ${ms} ms`, {
            reason: BROKER_CALL_TIMEOUT,
          }),
        ),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });

/** Retry delay after `attempts` failed tries: exponential, capped at 30 s. */
export const backoff = (attempts: number) => Math.min(30_000, 250 * 2 ** Math.min(attempts, 7));
