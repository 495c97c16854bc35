/**
 * Bounded polling for the integration tests: each wait has a cap so a bug fails with a message
 * instead of hanging. The caps are never timing assertions; a test asserts what it waited for.
 */

import { sleep } from '@aegis/shared/testing/wait';

export { sleep };

/**
 * Polls `fn` until it returns something truthy and returns that; a throw counts as "not yet"
 * (the last error is named if the cap is reached).
 */
export async function until<T>(
  what: string,
  fn: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(50);
  }
}

/** Reads until `ok` holds for what was read and returns it; the last value read is named if the cap is reached. */
export async function waitUntil<T>(
  read: () => Promise<T> | T,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 1500)}`);
    await sleep(25);
  }
}
