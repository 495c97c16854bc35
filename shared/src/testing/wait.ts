/**
 * Waiting in tests, for every package's tests. The bounded polls (`until`) stay with their
 * packages (engine/tests/support/wait.ts fails on a throw from the probe, the server's
 * server/tests/integration/support/wait.ts counts a throw as "not yet"): two behaviours, not one.
 */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
