import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { AppError } from '@aegis/shared/errors';
import { createLogger } from '@aegis/shared/logging';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/rate-limit/limiter.ts';
import { createRateLimitRedis, waitForRedisReady } from '../../src/rate-limit/redis-client.ts';
import { RedisWindowStore } from '../../src/rate-limit/window-store.ts';
import { closedPort } from './support/fake-http.ts';

const prefix = `aegis-test:rl:${randomBytes(4).toString('hex')}`;
let redis: Redis;
let store: RedisWindowStore;

beforeAll(async () => {
  redis = createRateLimitRedis(TEST_REDIS_URL);
  expect(await waitForRedisReady(redis)).toBe(true);
  store = new RedisWindowStore(redis);
});

afterAll(async () => {
  // Only this file's keys; never FLUSHALL a shared Redis.
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('RedisWindowStore (sliding window in one Lua script)', () => {
  it('slides: a request leaves the window exactly windowMs after it was admitted', async () => {
    const k = `${prefix}:slide`;
    expect((await store.hit(k, 3, 1000, 10_000)).allowed).toBe(true);
    expect((await store.hit(k, 3, 1000, 10_100)).allowed).toBe(true);
    expect(await store.hit(k, 3, 1000, 10_200)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    expect(await store.hit(k, 3, 1000, 10_300)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 700 });
    // The first request (t=10 000) has left the window at t=11 000; the other two are still in it.
    expect(await store.hit(k, 3, 1000, 11_000)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    expect(await store.hit(k, 3, 1000, 11_050)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 50 });
    // Refused requests are not counted: once the window frees up the caller is admitted again.
    expect((await store.hit(k, 3, 1000, 11_101)).allowed).toBe(true);
  });

  it('on the Redis clock, a refused caller is admitted again after the Retry-After it was given', async () => {
    const k = `${prefix}:clock`;
    await store.hit(k, 2, 800);
    await store.hit(k, 2, 800);
    const refused = await store.hit(k, 2, 800);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(800);
    await new Promise((r) => setTimeout(r, refused.retryAfterMs + 20));
    expect((await store.hit(k, 2, 800)).allowed).toBe(true);
    // The key expires with its window: nothing stays in Redis for idle callers.
    expect(await redis.pttl(k)).toBeLessThanOrEqual(800);
  });

  it('is atomic: 200 concurrent hits from two connections admit exactly the limit', async () => {
    const second = createRateLimitRedis(TEST_REDIS_URL);
    try {
      expect(await waitForRedisReady(second)).toBe(true);
      const other = new RedisWindowStore(second);
      const k = `${prefix}:race`;
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? store : other).hit(k, 25, 60_000, 5_000 + (i % 7))),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(25);
    } finally {
      await second.quit();
    }
  });
});

describe('RateLimiter over Redis', () => {
  const limiter = () =>
    new RateLimiter({
      store,
      settings: {
        keyPrefix: `${prefix}:lim`,
        read: { limit: 5, windowMs: 60_000 },
        mutation: { limit: 2, windowMs: 60_000 },
      },
    });

  it('isolates callers and classes, and gives a correct Retry-After', async () => {
    const l = limiter();
    const t0 = 1_000_000;
    await l.enforce({ identity: 'key:a', class: 'mutation', failMode: 'closed', nowMs: t0 });
    await l.enforce({ identity: 'key:a', class: 'mutation', failMode: 'closed', nowMs: t0 + 1_000 });
    const err = (await l
      .enforce({ identity: 'key:a', class: 'mutation', failMode: 'closed', nowMs: t0 + 15_500 })
      .catch((e: unknown) => e)) as AppError;
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('RATE_LIMITED');
    // The oldest hit (t0) leaves at t0 + 60 s: 44.5 s from now, rounded up.
    expect(err.details?.retryAfterSeconds).toBe(45);
    // Another key, a session, and reads of the same key are untouched.
    expect(
      await l.enforce({ identity: 'key:b', class: 'mutation', failMode: 'closed', nowMs: t0 + 15_500 }),
    ).toMatchObject({
      status: 'allowed',
    });
    expect(
      await l.enforce({ identity: 'session:a', class: 'mutation', failMode: 'closed', nowMs: t0 + 15_500 }),
    ).toMatchObject({
      status: 'allowed',
    });
    expect(
      await l.enforce({ identity: 'key:a', class: 'read', failMode: 'open', nowMs: t0 + 15_500 }),
    ).toMatchObject({
      status: 'allowed',
      remaining: 4,
    });
  });
});

describe('when Redis is down', () => {
  it('mutations fail closed with UNAVAILABLE, reads fail open and the outage is logged once per interval', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
        cb();
      },
    });
    const log = createLogger({ name: 'rate-limit-test', level: 'info' }, sink);
    const down = createRateLimitRedis(`redis://127.0.0.1:${await closedPort()}`, log);
    try {
      const l = new RateLimiter({
        store: new RedisWindowStore(down),
        log,
        settings: { keyPrefix: `${prefix}:down` },
      });
      const started = performance.now();
      const err = (await l
        .enforce({ identity: 'session:x', class: 'mutation', failMode: 'closed', path: 'auth.login' })
        .catch((e: unknown) => e)) as AppError;
      expect(err).toBeInstanceOf(AppError);
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toMatch(/rate limiter unavailable/);
      for (let i = 0; i < 5; i++) {
        expect(
          await l.enforce({ identity: 'session:x', class: 'read', failMode: 'open', path: 'desks.list' }),
        ).toEqual({
          status: 'store_unavailable',
          failMode: 'open',
        });
      }
      // Fails fast rather than hanging on a dead connection (generous bound: 6 calls).
      expect(performance.now() - started).toBeLessThan(5_000);
      const failOpen = lines.filter((l) => String(l.msg).includes('fail open'));
      expect(failOpen).toHaveLength(1);
      expect(lines.some((l) => String(l.msg).includes('fail closed'))).toBe(true);
    } finally {
      down.disconnect();
    }
  });
});
