/**
 * Bounded polling for the engine's integration tests and the end-to-end tests that drive the
 * engine: each wait has a cap so a broken feed fails with a message instead of hanging. The cap is
 * never a timing assertion; a test asserts what it waited for. A throw from `fn` fails the wait.
 */

import { sleep } from '@aegis/shared/testing/wait';

export { sleep };

/** Polls `fn` every `intervalMs` until it returns something truthy, and returns that. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs = 30_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
