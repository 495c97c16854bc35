/** Time bounds on broker calls made by the dispatcher (outbox.ts, combo-dispatch.ts). */

export class BrokerTimeout extends Error {}

export const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new BrokerTimeout(`broker call timed out after ${ms} ms`)), ms);
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
