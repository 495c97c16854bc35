import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Sliding-window counters. A window of `windowMs` ending now admits at most `limit` requests;
 * each admitted request is a member of a sorted set scored by its time, so the window slides
 * continuously (no burst of 2× the limit at a fixed-window boundary).
 */
export interface WindowDecision {
  readonly allowed: boolean;
  /** Requests still admissible in the current window after this one. */
  readonly remaining: number;
  /** When refused: milliseconds until the oldest counted request leaves the window (≥ 1). */
  readonly retryAfterMs: number;
}

export interface WindowStore {
  /**
   * Counts one request against `key` if the window has room. `nowMs` is for tests; by default
   * the store's own clock decides (Redis TIME, so every server instance shares one clock).
   */
  hit(key: string, limit: number, windowMs: number, nowMs?: number): Promise<WindowDecision>;
}

/**
 * The whole decision is one Lua script, so trim, count and add are atomic per key: two server
 * instances racing on one key can never both take the last slot. Refused requests are not
 * recorded, so a client that keeps hammering is admitted again as soon as the window frees up.
 *
 * KEYS[1] the window's sorted set. ARGV: limit, window ms, now ms ('' = Redis TIME), member nonce.
 * Returns { allowed 0|1, remaining, retry-after ms }.
 */
const SLIDING_WINDOW_LUA = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now
if ARGV[3] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[3])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local retry = window
if oldest[2] then retry = tonumber(oldest[2]) + window - now end
if retry < 1 then retry = 1 end
return {0, 0, retry}
`;

type RedisWithWindow = Redis & {
  aegisSlidingWindow(
    key: string,
    limit: number,
    windowMs: number,
    now: string,
    nonce: string,
  ): Promise<[number, number, number]>;
};

export class RedisWindowStore implements WindowStore {
  readonly #redis: RedisWithWindow;
  /** Random per store, so members from two servers never collide; a counter makes them unique here. */
  readonly #noncePrefix = randomBytes(6).toString('base64url');
  #nonceSeq = 0;

  constructor(redis: Redis) {
    // defineCommand sends EVALSHA and falls back to EVAL once per connection (NOSCRIPT).
    if (!('aegisSlidingWindow' in redis)) {
      redis.defineCommand('aegisSlidingWindow', { lua: SLIDING_WINDOW_LUA, numberOfKeys: 1 });
    }
    this.#redis = redis as RedisWithWindow;
  }

  async hit(key: string, limit: number, windowMs: number, nowMs?: number): Promise<WindowDecision> {
    // The nonce keeps two requests in the same millisecond distinct members of the set (a
    // counter, not fresh random bytes per request: those were ~1% of a read's CPU).
    this.#nonceSeq = (this.#nonceSeq + 1) % Number.MAX_SAFE_INTEGER;
    const nonce = `${this.#noncePrefix}${this.#nonceSeq.toString(36)}`;
    const [allowed, remaining, retryAfterMs] = await this.#redis.aegisSlidingWindow(
      key,
      limit,
      windowMs,
      nowMs === undefined ? '' : String(Math.floor(nowMs)),
      nonce,
    );
    return { allowed: allowed === 1, remaining: Number(remaining), retryAfterMs: Number(retryAfterMs) };
  }
}

/**
 * The same algorithm in process memory, for the single-process mode without Redis (REDIS_URL
 * unset). Not shared between instances: a deployment with several servers must use Redis.
 */
export class MemoryWindowStore implements WindowStore {
  readonly #windows = new Map<string, number[]>();
  #sweepAt = 0;
  #longestWindowMs = 0;

  async hit(
    key: string,
    limit: number,
    windowMs: number,
    nowMs: number = Date.now(),
  ): Promise<WindowDecision> {
    this.#longestWindowMs = Math.max(this.#longestWindowMs, windowMs);
    this.#sweep(nowMs);
    let times = this.#windows.get(key);
    if (!times) {
      times = [];
      this.#windows.set(key, times);
    }
    const cutoff = nowMs - windowMs;
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= cutoff) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length < limit) {
      times.push(nowMs);
      return { allowed: true, remaining: limit - times.length, retryAfterMs: 0 };
    }
    const oldest = times[0] ?? nowMs;
    return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, oldest + windowMs - nowMs) };
  }

  /** Drops idle keys now and then so memory follows active clients, not every client ever seen. */
  #sweep(nowMs: number): void {
    if (nowMs < this.#sweepAt) return;
    const windowMs = this.#longestWindowMs;
    this.#sweepAt = nowMs + windowMs;
    for (const [key, times] of this.#windows) {
      const last = times[times.length - 1];
      if (last === undefined || last <= nowMs - windowMs) this.#windows.delete(key);
    }
  }
}
