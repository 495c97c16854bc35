import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TenantId, UserId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import type { Redis } from 'ioredis';
import { createRateLimitRedis, waitForRedisReady } from '../rate-limit/redis-client.ts';
import { MemoryWindowStore, RedisWindowStore, type WindowStore } from '../rate-limit/window-store.ts';

/**
 * Rate limits of option recommendations, on top of the per-caller limit every procedure has:
 * a recommendation lists and prices a whole chain and asks the governor, so it is limited per
 * person (one user's script cannot starve the desk) and per symbol on a desk (many members
 * hammering one underlying). Sliding windows in Redis (the same store as the request limiter),
 * so every server instance counts the same requests; in process memory without Redis.
 *
 * Recommendations are reads: when Redis cannot answer they are let through (logged at most
 * once a minute), like every other read.
 */
export interface RecommendLimit {
  readonly limit: number;
  readonly windowMs: number;
}

export interface RecommendLimits {
  readonly perUser: RecommendLimit;
  readonly perSymbol: RecommendLimit;
  readonly keyPrefix: string;
}

export const DEFAULT_RECOMMEND_LIMITS: RecommendLimits = Object.freeze({
  perUser: Object.freeze({ limit: 20, windowMs: 60_000 }),
  perSymbol: Object.freeze({ limit: 60, windowMs: 60_000 }),
  keyPrefix: 'aegis:rl:options',
});

export interface RecommendCaller {
  readonly tenantId: TenantId;
  readonly userId: UserId;
  readonly symbol: string;
}

export class RecommendRateLimiter {
  readonly limits: RecommendLimits;
  readonly #store: WindowStore;
  readonly #log: Logger | undefined;
  #lastFailOpenLog = Number.NEGATIVE_INFINITY;

  constructor(store: WindowStore, limits: RecommendLimits = DEFAULT_RECOMMEND_LIMITS, log?: Logger) {
    this.#store = store;
    this.limits = limits;
    this.#log = log;
  }

  /** Counts one recommendation of a person, or throws RATE_LIMITED naming the limit and when to retry. */
  async admitUser(c: Omit<RecommendCaller, 'symbol'>, nowMs?: number): Promise<void> {
    const key = `${this.limits.keyPrefix}:user:${c.tenantId}:${c.userId}`;
    await this.#hit('per_user', key, this.limits.perUser, 'per person', nowMs);
  }

  /** Counts one recommendation on a symbol of a desk (its canonical symbol), or throws RATE_LIMITED. */
  async admitSymbol(c: Omit<RecommendCaller, 'userId'>, nowMs?: number): Promise<void> {
    const key = `${this.limits.keyPrefix}:symbol:${c.tenantId}:${c.symbol}`;
    await this.#hit('per_symbol', key, this.limits.perSymbol, `for ${c.symbol} on this desk`, nowMs);
  }

  /** Both limits, the person's first. */
  async admit(c: RecommendCaller, nowMs?: number): Promise<void> {
    await this.admitUser(c, nowMs);
    await this.admitSymbol(c, nowMs);
  }

  async #hit(
    limitName: 'per_user' | 'per_symbol',
    key: string,
    w: RecommendLimit,
    scope: string,
    nowMs: number | undefined,
  ): Promise<void> {
    let d: Awaited<ReturnType<WindowStore['hit']>>;
    try {
      d = await this.#store.hit(key, w.limit, w.windowMs, nowMs);
    } catch (err) {
      const now = Date.now();
      if (now - this.#lastFailOpenLog >= 60_000) {
        this.#lastFailOpenLog = now;
        this.#log?.warn(
          { err: (err as Error).message },
          'recommendation limits unavailable: allowing (fail open)',
        );
      }
      return;
    }
    if (d.allowed) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    throw new AppError(
      ErrorCode.RATE_LIMITED,
      `recommendation limit ${limitName}: ${w.limit} per ${Math.round(w.windowMs / 1000)}s ${scope}; retry in ${retryAfterSeconds}s`,
      { limit: limitName, max: w.limit, windowSeconds: Math.round(w.windowMs / 1000), retryAfterSeconds },
    );
  }
}

interface Held {
  readonly limiter: RecommendRateLimiter;
  readonly redis: Redis | null;
}

/**
 * The fail-fast connection refuses commands until it is ready; the first recommendations after
 * start wait (briefly) for it instead of going uncounted.
 */
function readyStore(redis: Redis): WindowStore {
  const inner = new RedisWindowStore(redis);
  return {
    async hit(key, limit, windowMs, nowMs) {
      if (redis.status !== 'ready') await waitForRedisReady(redis, 1_000);
      return inner.hit(key, limit, windowMs, nowMs);
    },
  };
}

/** One limiter (and Redis connection) per server configuration, created on first use. */
const held = new Map<string, Held>();

export function recommendLimiterOf(ctx: {
  readonly config: { readonly redisUrl: string | undefined };
  readonly log?: Logger;
}): RecommendRateLimiter {
  const url = ctx.config.redisUrl ?? '';
  let h = held.get(url);
  if (!h) {
    const redis = url ? createRateLimitRedis(url, ctx.log) : null;
    // The connection must not keep a process alive that is otherwise done (tests, scripts).
    redis?.on('connect', () => (redis as unknown as { stream?: { unref?: () => void } }).stream?.unref?.());
    h = {
      limiter: new RecommendRateLimiter(
        redis ? readyStore(redis) : new MemoryWindowStore(),
        DEFAULT_RECOMMEND_LIMITS,
        ctx.log,
      ),
      redis,
    };
    held.set(url, h);
  }
  return h.limiter;
}

/** Closes the limiters' Redis connections (server shutdown, tests). */
export async function closeRecommendLimiters(): Promise<void> {
  const all = [...held.values()];
  held.clear();
  for (const h of all) h.redis?.disconnect();
}
