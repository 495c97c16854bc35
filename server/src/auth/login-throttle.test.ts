import { AppError } from '@aegis/shared/errors';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LOGIN_POLICY,
  delayAfter,
  type LoginThrottlePolicy,
  MemoryLoginThrottle,
} from './login-throttle.ts';

/** The in-memory throttle (single-process mode and the Redis-down fallback), on a test clock. */
const policy: LoginThrottlePolicy = {
  pair: { freeAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 8_000, idleResetMs: 60_000 },
  account: { freeAttempts: 5, baseDelayMs: 500, maxDelayMs: 2_000, idleResetMs: 60_000 },
  ip: { limit: 6, windowMs: 60_000 },
  knownClientMs: 600_000,
};

function setup() {
  let now = 1_000_000;
  const throttle = new MemoryLoginThrottle({ policy, now: () => now });
  const advance = (ms: number) => {
    now += ms;
  };
  const tryAttempt = async (account: string, ip: string | null) => {
    try {
      return await throttle.attempt({ account, ip });
    } catch (e) {
      if (e instanceof AppError && e.code === 'RATE_LIMITED') return Number(e.details?.retryAfterSeconds);
      throw e;
    }
  };
  return { advance, tryAttempt };
}

describe('delayAfter', () => {
  it('is zero within the free attempts, then doubles up to the cap', () => {
    const p = DEFAULT_LOGIN_POLICY.pair;
    expect([4, 5, 6, 7].map((n) => delayAfter(n, p))).toEqual([0, 1_000, 2_000, 4_000]);
    expect(delayAfter(1_000, p)).toBe(p.maxDelayMs);
  });
});

describe('MemoryLoginThrottle', () => {
  it('lets the free attempts through back to back, then asks for growing waits', async () => {
    const { advance, tryAttempt } = setup();
    for (let i = 0; i < 3; i++) expect(typeof (await tryAttempt('a@x.io', '192.0.2.1'))).toBe('object');
    expect(await tryAttempt('a@x.io', '192.0.2.1')).toBe(1);
    advance(1_000);
    expect(typeof (await tryAttempt('a@x.io', '192.0.2.1'))).toBe('object');
    expect(await tryAttempt('a@x.io', '192.0.2.1')).toBe(2);
  });

  it('a refused attempt is not counted', async () => {
    const { advance, tryAttempt } = setup();
    for (let i = 0; i < 3; i++) await tryAttempt('a@x.io', '192.0.2.1');
    for (let i = 0; i < 50; i++) await tryAttempt('a@x.io', '192.0.2.1');
    advance(1_000);
    // Still the first delay's successor, not 50 doublings later.
    expect(typeof (await tryAttempt('a@x.io', '192.0.2.1'))).toBe('object');
  });

  it('caps the account-wide delay, and exempts an address that signed in before', async () => {
    const { tryAttempt } = setup();
    const owner = await tryAttempt('a@x.io', '198.51.100.1');
    if (typeof owner !== 'object') throw new Error('owner refused');
    await owner.succeeded();
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      for (let i = 0; i < 3; i++) await tryAttempt('a@x.io', ip);
    }
    const stranger = await tryAttempt('a@x.io', '203.0.113.9');
    expect(stranger).toBeLessThanOrEqual(policy.account.maxDelayMs / 1000);
    expect(typeof (await tryAttempt('a@x.io', '198.51.100.1'))).toBe('object');
  });

  it('limits one address over many accounts, and a success refunds its attempt', async () => {
    const { tryAttempt } = setup();
    const ok = await tryAttempt('owner@x.io', '192.0.2.9');
    if (typeof ok !== 'object') throw new Error('refused');
    await ok.succeeded();
    for (let i = 0; i < 6; i++) expect(typeof (await tryAttempt(`u${i}@x.io`, '192.0.2.9'))).toBe('object');
    expect(typeof (await tryAttempt('u9@x.io', '192.0.2.9'))).toBe('number');
  });
});
