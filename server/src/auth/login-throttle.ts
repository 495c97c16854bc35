import { createHash } from 'node:crypto';
import { AppError } from '@aegis/shared/errors';
import type { Redis } from 'ioredis';

/**
 * Failed-login throttling, per account and per client IP: after `limit` failures within
 * `windowMs` (default 10 in 10 minutes) further attempts are refused with 429 and Retry-After
 * until the window that started at the first failure ends. A successful login clears the
 * account's counter (not the IP's: one IP guessing many accounts stays throttled).
 *
 * Counters live in Redis so every server instance shares them. When Redis is unreachable,
 * login fails CLOSED (503): an unthrottled login endpoint is an open door for guessing.
 * Without REDIS_URL (single-process mode) the in-memory store keeps the same semantics.
 */
export interface ThrottleKeys {
  readonly account: string;
  readonly ip: string | null;
}

export interface LoginThrottle {
  /** Throws RATE_LIMITED (with retryAfterSeconds) when over the limit, UNAVAILABLE when the store is down. */
  check(keys: ThrottleKeys): Promise<void>;
  recordFailure(keys: ThrottleKeys): Promise<void>;
  recordSuccess(keys: ThrottleKeys): Promise<void>;
}

export interface ThrottleOptions {
  readonly limit?: number;
  readonly windowMs?: number;
  /** Key namespace (tests use a unique one per file). */
  readonly prefix?: string;
}

// Account names are hashed so emails never sit in Redis in clear.
const accountKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('hex');

function throttled(retryAfterMs: number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError('RATE_LIMITED', 'Too many failed sign-in attempts; try again later', {
    retryAfterSeconds,
  });
}

export class RedisLoginThrottle implements LoginThrottle {
  readonly #redis: Redis;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #prefix: string;

  constructor(redis: Redis, options: ThrottleOptions = {}) {
    this.#redis = redis;
    this.#limit = options.limit ?? 10;
    this.#windowMs = options.windowMs ?? 600_000;
    this.#prefix = options.prefix ?? 'aegis:';
  }

  #keys(k: ThrottleKeys): string[] {
    const keys = [`${this.#prefix}login-fail:acct:${accountKey(k.account)}`];
    if (k.ip) keys.push(`${this.#prefix}login-fail:ip:${k.ip}`);
    return keys;
  }

  async check(k: ThrottleKeys): Promise<void> {
    const keys = this.#keys(k);
    let results: [Error | null, unknown][] | null;
    try {
      const pipeline = this.#redis.multi();
      for (const key of keys) pipeline.get(key).pttl(key);
      results = await pipeline.exec();
    } catch (err) {
      throw new AppError(
        'UNAVAILABLE',
        'Sign-in is temporarily unavailable',
        { retryAfterSeconds: 5 },
        { cause: err },
      );
    }
    if (!results)
      throw new AppError('UNAVAILABLE', 'Sign-in is temporarily unavailable', { retryAfterSeconds: 5 });
    let retryMs = 0;
    for (let i = 0; i < keys.length; i++) {
      const [e1, count] = results[2 * i]!;
      const [e2, pttl] = results[2 * i + 1]!;
      if (e1 || e2)
        throw new AppError('UNAVAILABLE', 'Sign-in is temporarily unavailable', { retryAfterSeconds: 5 });
      if (Number(count ?? 0) >= this.#limit)
        retryMs = Math.max(retryMs, Number(pttl) > 0 ? Number(pttl) : this.#windowMs);
    }
    if (retryMs > 0) throw throttled(retryMs);
  }

  async recordFailure(k: ThrottleKeys): Promise<void> {
    try {
      const pipeline = this.#redis.multi();
      // SET NX PX starts the window at the first failure; INCR counts within it.
      for (const key of this.#keys(k)) pipeline.set(key, '0', 'PX', this.#windowMs, 'NX').incr(key);
      await pipeline.exec();
    } catch (err) {
      throw new AppError(
        'UNAVAILABLE',
        'Sign-in is temporarily unavailable',
        { retryAfterSeconds: 5 },
        { cause: err },
      );
    }
  }

  async recordSuccess(k: ThrottleKeys): Promise<void> {
    try {
      await this.#redis.del(this.#keys({ account: k.account, ip: null })[0]!);
    } catch {
      // Clearing is best effort: the counter expires on its own.
    }
  }
}

/** Single-process mode only (no REDIS_URL): the same semantics in this process's memory. */
export class MemoryLoginThrottle implements LoginThrottle {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #counters = new Map<string, { count: number; resetAt: number }>();

  constructor(options: ThrottleOptions & { now?: () => number } = {}) {
    this.#limit = options.limit ?? 10;
    this.#windowMs = options.windowMs ?? 600_000;
    this.#now = options.now ?? Date.now;
  }

  #keys(k: ThrottleKeys): string[] {
    return k.ip ? [`a:${accountKey(k.account)}`, `i:${k.ip}`] : [`a:${accountKey(k.account)}`];
  }

  #live(key: string): { count: number; resetAt: number } | undefined {
    const c = this.#counters.get(key);
    if (c && c.resetAt <= this.#now()) {
      this.#counters.delete(key);
      return undefined;
    }
    return c;
  }

  async check(k: ThrottleKeys): Promise<void> {
    let retryMs = 0;
    for (const key of this.#keys(k)) {
      const c = this.#live(key);
      if (c && c.count >= this.#limit) retryMs = Math.max(retryMs, c.resetAt - this.#now());
    }
    if (retryMs > 0) throw throttled(retryMs);
  }

  async recordFailure(k: ThrottleKeys): Promise<void> {
    if (this.#counters.size > 100_000) this.#sweep();
    for (const key of this.#keys(k)) {
      const c = this.#live(key);
      if (c) c.count++;
      else this.#counters.set(key, { count: 1, resetAt: this.#now() + this.#windowMs });
    }
  }

  async recordSuccess(k: ThrottleKeys): Promise<void> {
    this.#counters.delete(this.#keys(k)[0]!);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [key, c] of this.#counters) if (c.resetAt <= now) this.#counters.delete(key);
  }
}

/**
 * The primary throttle, or the fallback while the primary's store is unavailable (UNAVAILABLE):
 * for checks that must keep working without Redis, at a stricter local limit.
 */
export class FailoverLoginThrottle implements LoginThrottle {
  readonly #primary: LoginThrottle;
  readonly #fallback: LoginThrottle;

  constructor(primary: LoginThrottle, fallback: LoginThrottle) {
    this.#primary = primary;
    this.#fallback = fallback;
  }

  check(k: ThrottleKeys): Promise<void> {
    return this.#either((t) => t.check(k));
  }

  recordFailure(k: ThrottleKeys): Promise<void> {
    return this.#either((t) => t.recordFailure(k));
  }

  recordSuccess(k: ThrottleKeys): Promise<void> {
    return this.#either((t) => t.recordSuccess(k));
  }

  async #either(op: (t: LoginThrottle) => Promise<void>): Promise<void> {
    try {
      await op(this.#primary);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'UNAVAILABLE')) throw err;
      await op(this.#fallback);
    }
  }
}
