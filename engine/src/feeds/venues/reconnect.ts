/**
 * Reconnect pacing shared by the venue feeds (Coinbase, Alpaca, ccxt): capped exponential
 * backoff with jitter, and a loop that runs one connection "session" after another until
 * stopped. Jitter matters because many engines (or many feeds in one engine) lose a venue at the
 * same moment; without it they would all reconnect in lock-step and hammer the venue together.
 */

/** Defaults as documented on `VenueFeedContext.backoff`: 250 ms doubling to 15 s, ±20 %. */
export const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 15_000, jitter: 0.2 } as const;

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  /** Fraction of the delay added or removed at random (0.2 = ±20 %). */
  readonly jitter?: number;
  /** Uniform [0, 1) source; tests pass a fixed one. */
  readonly random?: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = Math.max(1, options.initialMs ?? DEFAULT_BACKOFF.initialMs);
    this.maxMs = Math.max(this.initialMs, options.maxMs ?? DEFAULT_BACKOFF.maxMs);
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? DEFAULT_BACKOFF.jitter));
    this.#random = options.random ?? Math.random;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt (ms): initial · 2^n capped at max, then jittered. */
  next(): number {
    // Cap the exponent too: 2^n overflows to Infinity long before an outage that long ends.
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    const spread = base * this.jitter * (2 * this.#random() - 1);
    return Math.max(0, Math.round(base + spread));
  }

  /** Call once a connection proved healthy (subscribed, data flowing): the next outage starts small. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface ConnectLoopOptions {
  readonly backoff: Backoff;
  /** Aborting ends the loop: no new session starts and a pending backoff wait ends at once. */
  readonly signal: AbortSignal;
  /** Called before each wait: which reconnect this is (1, 2, …), the delay, and why. */
  readonly onRetry?: (info: { reconnect: number; delayMs: number; error: unknown }) => void;
}

/**
 * Runs `session` (one connection, from connect to close) again and again until `signal` aborts,
 * waiting `backoff.next()` between sessions. A session ends by resolving (the venue closed, a
 * heartbeat timed out) or by throwing (could not connect); both mean "reconnect". The session
 * calls `backoff.reset()` itself once its connection is healthy. `session` receives the number of
 * reconnects so far (0 for the first connection). Never rejects.
 */
export async function connectLoop(
  session: (reconnect: number) => Promise<void>,
  options: ConnectLoopOptions,
): Promise<void> {
  const { backoff, signal } = options;
  let reconnect = 0;
  while (!signal.aborted) {
    let error: unknown = null;
    try {
      await session(reconnect);
    } catch (err) {
      error = err;
    }
    if (signal.aborted) break;
    reconnect++;
    const delayMs = backoff.next();
    options.onRetry?.({ reconnect, delayMs, error });
    await abortableSleep(delayMs, signal);
  }
}
