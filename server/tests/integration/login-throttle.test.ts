import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoginThrottle, RedisLoginThrottle } from '../../src/auth/login-throttle.ts';
import { failure, makeClient, ORIGIN, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let password: string;

beforeAll(async () => {
  t = await startTestServer();
  password = (await signIn(t.url, t.admin.email, t.admin.password)).password;
});
afterAll(async () => {
  await t?.close();
});

const login = (email: string, pw: string) =>
  fetch(`${t.url}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN },
    body: JSON.stringify({ email, password: pw }),
  });

describe('failed-login throttling', () => {
  it('after 10 failures for an account: 429 with Retry-After, even with the right password', async () => {
    for (let i = 0; i < 10; i++) expect((await login(t.admin.email, `wrong-password-${i}`)).status).toBe(401);
    const throttled = await login(t.admin.email, password);
    expect(throttled.status).toBe(429);
    const retryAfter = Number(throttled.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(500);
    expect(retryAfter).toBeLessThanOrEqual(600);
    const body = (await throttled.json()) as { error: { data: { details: { retryAfterSeconds: number } } } };
    expect(body.error.data.details.retryAfterSeconds).toBe(retryAfter);
    // The counters live in Redis under this server's prefix, the account hashed.
    const redis = new Redis('redis://127.0.0.1:6379', { protocol: 2, lazyConnect: true });
    await redis.connect();
    const keys = await redis.keys(`${t.redisPrefix}:login-fail:*`);
    await redis.quit();
    expect(keys.some((k) => k.includes(':acct:') && !k.includes('@'))).toBe(true);
    // Then the IP is throttled too (it made the same 10 failures): another account is refused.
    expect((await login('someone-else@example.com', 'whatever-password')).status).toBe(429);
  });

  it('counts per client behind the console proxy (X-Forwarded-For from a trusted peer), not per proxy', async () => {
    const t3 = await startTestServer();
    try {
      const via = (client: string, email: string) =>
        fetch(`${t3.url}/trpc/auth.login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: ORIGIN, 'x-forwarded-for': client },
          body: JSON.stringify({ email, password: 'wrong-password-xff' }),
        });
      // One client behind the proxy burns its IP budget over ten accounts…
      for (let i = 0; i < 10; i++) expect((await via('198.51.100.7', `u${i}@example.com`)).status).toBe(401);
      expect((await via('198.51.100.7', 'u10@example.com')).status).toBe(429);
      // …a different client behind the same proxy still gets its own answer.
      expect((await via('198.51.100.8', 'v0@example.com')).status).toBe(401);
      // A client cannot escape by prepending a forged hop: the proxy's appended address counts.
      expect((await via('10.9.9.9, 198.51.100.7', 'u11@example.com')).status).toBe(429);
    } finally {
      await t3.close();
    }
  });

  it('with Redis down, sign-in fails closed but password re-entry and the kill switch still work', async () => {
    const liveRedis = new Redis('redis://127.0.0.1:6379', { protocol: 2 });
    const dead = new Redis('redis://127.0.0.1:1', {
      protocol: 2,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const prefix = `aegis-test-reauth-${process.pid}-${Date.now()}`;
    let current: LoginThrottle = new RedisLoginThrottle(liveRedis, { prefix });
    const switching: LoginThrottle = {
      check: (k) => current.check(k),
      recordFailure: (k) => current.recordFailure(k),
      recordSuccess: (k) => current.recordSuccess(k),
    };
    const t4 = await startTestServer({ loginThrottle: switching, rateLimiter: null });
    try {
      const admin = await signIn(t4.url, t4.admin.email, t4.admin.password);
      current = new RedisLoginThrottle(dead);
      const refused = await failure(
        makeClient(t4.url).auth.login.mutate({ email: t4.admin.email, password: admin.password }),
      );
      expect(refused.data?.httpStatus).toBe(503);
      await admin.client.auth.reauthenticate.mutate({ password: admin.password });
      const halted = await admin.client.halt.engage.mutate({ scope: 'desk', reason: 'redis outage drill' });
      expect(halted.state.desk.engaged).toBe(true);
      // The fallback still throttles guessing: 5 wrong re-entries, then 429.
      for (let i = 0; i < 5; i++) {
        const e = await failure(admin.client.auth.reauthenticate.mutate({ password: `wrong-guess-${i}-xx` }));
        expect(e.data?.httpStatus).toBe(403);
      }
      const e = await failure(admin.client.auth.reauthenticate.mutate({ password: admin.password }));
      expect(e.data?.httpStatus).toBe(429);
    } finally {
      await t4.close();
      const keys = await liveRedis.keys(`${prefix}*`);
      if (keys.length > 0) await liveRedis.del(...keys);
      liveRedis.disconnect();
      dead.disconnect();
    }
  });

  it('fails closed (503) when Redis is unreachable', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      protocol: 2,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const t2 = await startTestServer({ loginThrottle: new RedisLoginThrottle(dead), rateLimiter: null });
    try {
      const e = await failure(
        makeClient(t2.url).auth.login.mutate({ email: t2.admin.email, password: t2.admin.password }),
      );
      expect(e.data?.httpStatus).toBe(503);
      expect(e.message).toBe('Sign-in is temporarily unavailable');
    } finally {
      await t2.close();
      dead.disconnect();
    }
  });
});
