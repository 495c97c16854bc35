import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { Logger } from '@aegis/shared/logging';
import type { WindowStore } from './window-store.ts';

/**
 * Per-caller rate limits on every procedure. A caller is its session, its API key, or (before
 * authentication: login) its IP. Reads and mutations have separate windows, mutations stricter.
 *
 * When the store (Redis) cannot answer, the request's fail mode decides: `closed` refuses with
 * 503 (login and trading must not run unthrottled: a brute force or a runaway script would be
 * unbounded), `open` lets it through (a dashboard keeps reading) and logs once per interval.
 */
export type RateLimitClass = 'read' | 'mutation';
export type RateLimitFailMode = 'open' | 'closed';

export interface WindowLimit {
  /** Requests admitted per window. */
  readonly limit: number;
  readonly windowMs: number;
}

export interface RateLimitSettings {
  readonly enabled: boolean;
  readonly read: WindowLimit;
  readonly mutation: WindowLimit;
  /** Namespace of the Redis keys (tests use a random one). */
  readonly keyPrefix: string;
  /** Minimum interval between two "failing open" log lines. */
  readonly failOpenLogIntervalMs: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = Object.freeze({
  enabled: true,
  read: Object.freeze({ limit: 600, windowMs: 60_000 }),
  mutation: Object.freeze({ limit: 120, windowMs: 60_000 }),
  keyPrefix: 'aegis:rl',
  failOpenLogIntervalMs: 60_000,
});

export interface RateLimitRequest {
  /** Stable caller identity, see `rateLimitIdentity`. */
  readonly identity: string;
  readonly class: RateLimitClass;
  readonly failMode: RateLimitFailMode;
  /** Procedure path, for logs only. */
  readonly path?: string;
  /** Test clock; by default the store's clock. */
  readonly nowMs?: number;
}

export type RateLimitOutcome =
  | { readonly status: 'allowed'; readonly remaining: number; readonly limit: number }
  | { readonly status: 'limited'; readonly retryAfterSeconds: number; readonly limit: number }
  | { readonly status: 'store_unavailable'; readonly failMode: RateLimitFailMode }
  | { readonly status: 'disabled' };

/** The caller a window belongs to: session, API key, or client IP when unauthenticated. */
export function rateLimitIdentity(caller: {
  sessionId?: string | null;
  apiKeyId?: string | null;
  ip?: string | null;
}): string {
  // The session id is already a SHA-256 of the token (never the token itself); key ids are uuids.
  if (caller.apiKeyId) return `key:${caller.apiKeyId}`;
  if (caller.sessionId) return `session:${caller.sessionId}`;
  return `ip:${caller.ip ?? 'unknown'}`;
}

export class RateLimiter {
  readonly settings: RateLimitSettings;
  readonly #store: WindowStore;
  readonly #log: Logger | undefined;
  #lastFailOpenLog = Number.NEGATIVE_INFINITY;
  #suppressedFailOpen = 0;

  constructor(options: { store: WindowStore; settings?: Partial<RateLimitSettings>; log?: Logger }) {
    this.settings = { ...DEFAULT_RATE_LIMITS, ...options.settings };
    this.#store = options.store;
    this.#log = options.log;
  }

  /**
   * The tRPC middleware's entry point (trpc.ts): one call per procedure. Queries and
   * subscriptions count as reads and fail open; mutations count as mutations and fail closed.
   */
  async check(call: {
    key: string;
    path: string;
    type: 'query' | 'mutation' | 'subscription';
    /** Declared by the procedure (ProcedureMeta.riskReducing): fails open like a read. */
    riskReducing?: boolean;
  }): Promise<void> {
    const isMutation = call.type === 'mutation';
    await this.enforce({
      identity: call.key,
      class: isMutation ? 'mutation' : 'read',
      failMode: isMutation && !call.riskReducing ? 'closed' : 'open',
      path: call.path,
    });
  }

  /** Decides without throwing. */
  async decide(req: RateLimitRequest): Promise<RateLimitOutcome> {
    if (!this.settings.enabled) return { status: 'disabled' };
    const window = this.settings[req.class];
    const key = `${this.settings.keyPrefix}:${req.class}:${req.identity}`;
    try {
      const d = await this.#store.hit(key, window.limit, window.windowMs, req.nowMs);
      if (d.allowed) return { status: 'allowed', remaining: d.remaining, limit: window.limit };
      return {
        status: 'limited',
        retryAfterSeconds: Math.max(1, Math.ceil(d.retryAfterMs / 1000)),
        limit: window.limit,
      };
    } catch (err) {
      if (req.failMode === 'open') this.#logFailOpen(err, req);
      else
        this.#log?.error(
          { err: (err as Error).message, path: req.path },
          'rate limiter unavailable: refusing (fail closed)',
        );
      return { status: 'store_unavailable', failMode: req.failMode };
    }
  }

  /**
   * Throws when the request must not proceed: RATE_LIMITED (429, details.retryAfterSeconds for
   * the Retry-After header) or UNAVAILABLE (503) when the store is down and the request fails closed.
   */
  async enforce(req: RateLimitRequest): Promise<RateLimitOutcome> {
    const outcome = await this.decide(req);
    if (outcome.status === 'limited') {
      throw new AppError(
        ErrorCode.RATE_LIMITED,
        `rate limit exceeded: ${outcome.limit} ${req.class === 'read' ? 'reads' : 'mutations'} per ${Math.round(this.settings[req.class].windowMs / 1000)}s; retry in ${outcome.retryAfterSeconds}s`,
        { retryAfterSeconds: outcome.retryAfterSeconds, limit: outcome.limit, class: req.class },
      );
    }
    if (outcome.status === 'store_unavailable' && outcome.failMode === 'closed') {
      throw new AppError(
        ErrorCode.UNAVAILABLE,
        'rate limiter unavailable: sign-in and state-changing requests are paused until it recovers; reads continue',
        { retryAfterSeconds: 5 },
      );
    }
    return outcome;
  }

  #logFailOpen(err: unknown, req: RateLimitRequest): void {
    const now = Date.now();
    if (now - this.#lastFailOpenLog < this.settings.failOpenLogIntervalMs) {
      this.#suppressedFailOpen++;
      return;
    }
    this.#log?.warn(
      { err: (err as Error).message, path: req.path, suppressedSinceLastLog: this.#suppressedFailOpen },
      'rate limiter unavailable: allowing reads without limits (fail open)',
    );
    this.#lastFailOpenLog = now;
    this.#suppressedFailOpen = 0;
  }
}
