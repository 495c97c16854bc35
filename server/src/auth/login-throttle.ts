import { createHash } from 'node:crypto';
import { AppError } from '@aegis/shared/errors';
import type { Redis } from 'ioredis';
import { ATTEMPT_SCRIPT, SUCCEEDED_SCRIPT } from './login-throttle-lua.ts';

/**
 * Password-guessing throttle for sign-in, re-authentication and password change.
 *
 * Every attempt is COUNTED BEFORE the password is verified, in one atomic step (a Redis Lua
 * script: check every counter, then increment them all, or refuse without counting). So however
 * attempts arrive — parallel requests, a retry storm — no more than the policy allows ever reach
 * argon2, and the verification itself cannot be used to race the counter.
 *
 * The policy (README "Sign-in throttling"; OWASP Authentication and Credential Stuffing cheat
 * sheets) slows guessing without letting a stranger lock the owner out:
 * - per (account, client address) pair: a few free attempts, then exponentially growing delays
 *   (1 s, 2 s, 4 s … capped). This is the attacker's own budget; the owner elsewhere never shares it.
 * - per account, over every address: a much higher free count, then short growing delays capped
 *   at seconds, so a distributed attack is slowed but the owner waits at most that cap. An address
 *   the owner signed in from recently ("known client") is exempt from this account-wide delay.
 * - per address, over every account: a fixed window (credential stuffing from one address).
 * A successful sign-in refunds its own attempt and clears its pair's delays, so legitimate use
 * never consumes budget (a busy office behind one address does not throttle itself).
 *
 * Counters live in Redis so every server instance shares them. When Redis is unreachable the
 * Redis throttle answers UNAVAILABLE: sign-in fails closed (503); re-authentication and password
 * change wrap it in FailoverLoginThrottle, which falls back to the same policy in this process's
 * memory at stricter numbers (see login.ts). Without REDIS_URL (single-process mode) the memory
 * throttle is the throttle.
 */
export interface ThrottleKeys {
  readonly account: string;
  readonly ip: string | null;
}

/** One counted attempt: report success to refund it (failures need nothing: already counted). */
export interface LoginAttempt {
  succeeded(): Promise<void>;
}

export interface LoginThrottle {
  /**
   * Counts one attempt before the password is checked. Throws RATE_LIMITED (with
   * retryAfterSeconds) when a delay or limit is in force, UNAVAILABLE when the store is down.
   */
  attempt(keys: ThrottleKeys): Promise<LoginAttempt>;
}

export interface DelayPolicy {
  /** Attempts allowed back to back before the first delay. */
  readonly freeAttempts: number;
  /** First delay; each further attempt doubles it. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** The counter is forgotten this long after the last attempt. */
  readonly idleResetMs: number;
}

export interface LoginThrottlePolicy {
  readonly pair: DelayPolicy;
  readonly account: DelayPolicy;
  readonly ip: { readonly limit: number; readonly windowMs: number };
  /** How long an address that signed in successfully stays exempt from the account-wide delay. */
  readonly knownClientMs: number;
}

export const DEFAULT_LOGIN_POLICY: LoginThrottlePolicy = Object.freeze({
  // Five guesses, then 1 s, 2 s, 4 s … 15 min: ~16 guesses an hour per account from one address.
  pair: { freeAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 15 * 60_000, idleResetMs: 60 * 60_000 },
  // Twenty over all addresses, then at most one attempt per 30 s: ~120 an hour, and never more
  // than 30 s of waiting for the owner.
  account: { freeAttempts: 20, baseDelayMs: 1_000, maxDelayMs: 30_000, idleResetMs: 60 * 60_000 },
  ip: { limit: 100, windowMs: 15 * 60_000 },
  knownClientMs: 30 * 86_400_000,
});

/** What re-authentication falls back to without Redis: per process, so stricter. */
export const FALLBACK_LOGIN_POLICY: LoginThrottlePolicy = Object.freeze({
  pair: { freeAttempts: 5, baseDelayMs: 2_000, maxDelayMs: 15 * 60_000, idleResetMs: 60 * 60_000 },
  account: { freeAttempts: 10, baseDelayMs: 2_000, maxDelayMs: 30_000, idleResetMs: 60 * 60_000 },
  ip: { limit: 50, windowMs: 15 * 60_000 },
  knownClientMs: 30 * 86_400_000,
});

export interface ThrottleOptions {
  readonly policy?: LoginThrottlePolicy;
  /** Key namespace ending in `:` (tests use a unique one per file). */
  readonly prefix?: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex');
// Account names are hashed so emails never sit in Redis (or in memory dumps) in clear.
const accountId = (email: string) => digest(email.trim().toLowerCase());

function throttled(retryAfterMs: number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError('RATE_LIMITED', 'Too many sign-in attempts; try again later', { retryAfterSeconds });
}

const unavailable = (cause?: unknown) =>
  new AppError(
    'UNAVAILABLE',
    'Sign-in is temporarily unavailable',
    { retryAfterSeconds: 5 },
    cause === undefined ? undefined : { cause },
  );

/** Delay after the n-th counted attempt: none within the free ones, then base·2^k, capped. */
export function delayAfter(n: number, p: DelayPolicy): number {
  if (n < p.freeAttempts) return 0;
  return Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(n - p.freeAttempts, 40));
}

interface ThrottleCommands {
  aegisLoginAttempt(...args: (string | number)[]): Promise<[number, number]>;
  aegisLoginSucceeded(...args: (string | number)[]): Promise<number>;
}

const defined = new WeakSet<Redis>();

function commands(redis: Redis): Redis & ThrottleCommands {
  // defineCommand loads the script once per connection (EVALSHA, falling back to EVAL).
  if (!defined.has(redis)) {
    redis.defineCommand('aegisLoginAttempt', { numberOfKeys: 4, lua: ATTEMPT_SCRIPT });
    redis.defineCommand('aegisLoginSucceeded', { numberOfKeys: 4, lua: SUCCEEDED_SCRIPT });
    defined.add(redis);
  }
  return redis as Redis & ThrottleCommands;
}

export class RedisLoginThrottle implements LoginThrottle {
  readonly #redis: Redis & ThrottleCommands;
  readonly #policy: LoginThrottlePolicy;
  readonly #prefix: string;

  constructor(redis: Redis, options: ThrottleOptions = {}) {
    this.#redis = commands(redis);
    this.#policy = options.policy ?? DEFAULT_LOGIN_POLICY;
    this.#prefix = options.prefix ?? 'aegis:';
  }

  #keys(k: ThrottleKeys): [string, string, string, string] {
    const acct = accountId(k.account);
    const ip = k.ip ?? 'unknown';
    const p = `${this.#prefix}login:`;
    return [
      `${p}pair:${digest(`${acct}|${ip}`)}`,
      `${p}acct:${acct}`,
      // No address (no socket peer): no per-address counter (the script is told so); the pair
      // and account ones still hold.
      `${p}ip:${k.ip ?? 'unknown'}`,
      `${p}known:${digest(`${acct}|${ip}`)}`,
    ];
  }

  async attempt(k: ThrottleKeys): Promise<LoginAttempt> {
    const keys = this.#keys(k);
    const { pair, account, ip } = this.#policy;
    let result: [number, number];
    try {
      result = await this.#redis.aegisLoginAttempt(
        ...keys,
        pair.freeAttempts,
        pair.baseDelayMs,
        pair.maxDelayMs,
        pair.idleResetMs,
        account.freeAttempts,
        account.baseDelayMs,
        account.maxDelayMs,
        account.idleResetMs,
        ip.limit,
        ip.windowMs,
        k.ip ? '1' : '0',
      );
    } catch (err) {
      throw unavailable(err);
    }
    const [allowed, retryMs] = result;
    if (allowed !== 1) throw throttled(Number(retryMs));
    return {
      succeeded: async () => {
        try {
          await this.#redis.aegisLoginSucceeded(...keys, this.#policy.knownClientMs, k.ip ? '1' : '0');
        } catch {
          // Best effort: an unrefunded attempt only costs one unit of budget, and it expires.
        }
      },
    };
  }
}

interface Counter {
  n: number;
  until: number;
  expiresAt: number;
}

/**
 * The same policy in this process's memory: single-process mode (no REDIS_URL), and the
 * re-authentication fallback while Redis is down. `attempt` checks and counts with no await in
 * between, so on Node's single thread it is as atomic as the Lua script.
 */
export class MemoryLoginThrottle implements LoginThrottle {
  readonly #policy: LoginThrottlePolicy;
  readonly #now: () => number;
  readonly #counters = new Map<string, Counter>();

  constructor(options: { policy?: LoginThrottlePolicy; now?: () => number } = {}) {
    this.#policy = options.policy ?? DEFAULT_LOGIN_POLICY;
    this.#now = options.now ?? Date.now;
  }

  #live(key: string, now: number): Counter | undefined {
    const c = this.#counters.get(key);
    if (c && c.expiresAt <= now) {
      this.#counters.delete(key);
      return undefined;
    }
    return c;
  }

  async attempt(k: ThrottleKeys): Promise<LoginAttempt> {
    const now = this.#now();
    if (this.#counters.size > 100_000) this.#sweep(now);
    const acct = accountId(k.account);
    const pairKey = `p:${acct}|${k.ip ?? 'unknown'}`;
    const acctKey = `a:${acct}`;
    const ipKey = k.ip ? `i:${k.ip}` : null;
    const knownKey = `k:${acct}|${k.ip ?? 'unknown'}`;
    const { pair, account, ip } = this.#policy;

    const pc = this.#live(pairKey, now);
    const ac = this.#live(acctKey, now);
    const ic = ipKey ? this.#live(ipKey, now) : undefined;
    const known = this.#live(knownKey, now) !== undefined;
    const wait = Math.max(
      (pc?.until ?? 0) - now,
      known ? 0 : (ac?.until ?? 0) - now,
      ic && ic.n >= ip.limit ? ic.expiresAt - now : 0,
    );
    if (wait > 0) throw throttled(wait);

    const bump = (key: string, c: Counter | undefined, p: DelayPolicy) => {
      const n = (c?.n ?? 0) + 1;
      const d = delayAfter(n, p);
      this.#counters.set(key, { n, until: d > 0 ? now + d : 0, expiresAt: now + Math.max(p.idleResetMs, d) });
    };
    bump(pairKey, pc, pair);
    bump(acctKey, ac, account);
    if (ipKey) {
      if (ic) ic.n++;
      else this.#counters.set(ipKey, { n: 1, until: 0, expiresAt: now + ip.windowMs });
    }
    return {
      succeeded: async () => {
        const t = this.#now();
        this.#counters.delete(pairKey);
        for (const key of [acctKey, ipKey]) {
          const c = key ? this.#live(key, t) : undefined;
          if (c && c.n > 0) c.n--;
        }
        this.#counters.set(knownKey, { n: 1, until: 0, expiresAt: t + this.#policy.knownClientMs });
      },
    };
  }

  #sweep(now: number): void {
    for (const [key, c] of this.#counters) if (c.expiresAt <= now) this.#counters.delete(key);
  }
}

/**
 * The primary throttle, or the fallback while the primary's store is unavailable (UNAVAILABLE).
 * The attempt is counted by exactly one of them, and its refund goes to the one that counted it.
 */
export class FailoverLoginThrottle implements LoginThrottle {
  readonly #primary: LoginThrottle;
  readonly #fallback: LoginThrottle;

  constructor(primary: LoginThrottle, fallback: LoginThrottle) {
    this.#primary = primary;
    this.#fallback = fallback;
  }

  async attempt(k: ThrottleKeys): Promise<LoginAttempt> {
    try {
      return await this.#primary.attempt(k);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'UNAVAILABLE')) throw err;
      return this.#fallback.attempt(k);
    }
  }
}
