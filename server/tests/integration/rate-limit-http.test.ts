import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/rate-limit/limiter.ts';
import { createRateLimitRedis, waitForRedisReady } from '../../src/rate-limit/redis-client.ts';
import { RedisWindowStore, type WindowStore } from '../../src/rate-limit/window-store.ts';
import { closedPort } from './support/fake-http.ts';
import { failure, ORIGIN, signIn, startTestServer, type TestServer } from './test-server.ts';

/** A raw tRPC GET, to see the HTTP status and headers a client gets. */
async function rawQuery(url: string, path: string, bearer: string) {
  const res = await fetch(`${url}/trpc/${path}`, { headers: { authorization: `Bearer ${bearer}` } });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as {
      error: { message: string; data: { code: string; details: { retryAfterSeconds: number } } };
    },
  };
}

describe('rate limits over HTTP (limits from RATE_LIMIT_* env)', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({
      env: { RATE_LIMIT_READS: '5', RATE_LIMIT_MUTATIONS: '3', RATE_LIMIT_WINDOW_SECONDS: '60' },
    });
  });
  afterAll(async () => {
    await ts?.close();
  });

  it('answers 429 TOO_MANY_REQUESTS with Retry-After per API key, per session, stricter for mutations', async () => {
    // Session mutations so far: changePassword (1), two key creations (2, 3).
    const admin = await signIn(ts.url, ts.admin.email, ts.admin.password);
    const keyA = (await admin.client.keys.create.mutate({ name: 'a', scopes: ['read', 'admin'] })).key;
    const keyB = (await admin.client.keys.create.mutate({ name: 'b', scopes: ['read'] })).key;

    for (let i = 0; i < 5; i++) expect((await rawQuery(ts.url, 'auth.me', keyA)).status).toBe(200);
    const limited = await rawQuery(ts.url, 'auth.me', keyA);
    expect(limited.status).toBe(429);
    expect(limited.body.error.data.code).toBe('TOO_MANY_REQUESTS');
    expect(limited.body.error.message).toMatch(/rate limit exceeded: 5 reads per 60s/);
    const retryAfter = Number(limited.retryAfter);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body.error.data.details.retryAfterSeconds).toBe(retryAfter);

    // Another key has its own window.
    expect((await rawQuery(ts.url, 'auth.me', keyB)).status).toBe(200);
    // The session's fourth mutation inside the minute is refused, its reads are not.
    const err = await failure(admin.client.keys.create.mutate({ name: 'c', scopes: ['read'] }));
    expect(err.data?.httpStatus).toBe(429);
    expect(err.message).toMatch(/3 mutations per 60s/);
    expect(await admin.client.auth.me.query()).toMatchObject({ kind: 'session' });
  });
});

/** Lets a test cut the limiter's Redis mid-run (a closed port: the shared Redis is never stopped). */
class SwitchableStore implements WindowStore {
  current: WindowStore;
  constructor(initial: WindowStore) {
    this.current = initial;
  }
  hit(key: string, limit: number, windowMs: number, nowMs?: number) {
    return this.current.hit(key, limit, windowMs, nowMs);
  }
}

describe('when the rate limiter’s Redis is down', () => {
  let ts: TestServer;
  let live: Redis;
  let dead: Redis;
  let store: SwitchableStore;
  beforeAll(async () => {
    live = createRateLimitRedis(TEST_REDIS_URL);
    expect(await waitForRedisReady(live)).toBe(true);
    dead = createRateLimitRedis(`redis://127.0.0.1:${await closedPort()}`);
    store = new SwitchableStore(new RedisWindowStore(live));
    const prefix = `aegis-test:rl-down:${Date.now().toString(36)}`;
    ts = await startTestServer({ rateLimiter: new RateLimiter({ store, settings: { keyPrefix: prefix } }) });
  });
  afterAll(async () => {
    await ts?.close();
    const keys = await live.keys('aegis-test:rl-down:*');
    if (keys.length > 0) await live.del(...keys);
    await live?.quit();
    dead?.disconnect();
  });

  it('sign-in and mutations fail closed (503), reads fail open', async () => {
    const admin = await signIn(ts.url, ts.admin.email, ts.admin.password);
    const key = (await admin.client.keys.create.mutate({ name: 'ops', scopes: ['read', 'admin'] })).key;

    store.current = new RedisWindowStore(dead);

    // Reads continue, through the key and the session.
    expect((await rawQuery(ts.url, 'auth.me', key)).status).toBe(200);
    expect((await rawQuery(ts.url, 'keys.list', key)).status).toBe(200);
    expect(await admin.client.auth.me.query()).toMatchObject({ kind: 'session' });

    // Mutations are refused with a clear message and a Retry-After.
    const res = await fetch(`${ts.url}/trpc/keys.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', scopes: ['read'] }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const body = (await res.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe('SERVICE_UNAVAILABLE');
    expect(body.error.message).toMatch(/rate limiter unavailable/);

    // Sign-in is a mutation: refused too (a brute force must not run unthrottled).
    const login = await fetch(`${ts.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ email: ts.admin.email, password: 'whatever-it-is-123' }),
    });
    expect(login.status).toBe(503);

    // Risk-reducing mutations are exempt: re-entry, the halt and cancels keep working.
    await admin.client.auth.reauthenticate.mutate({ password: admin.password });
    const halted = await admin.client.halt.engage.mutate({ scope: 'desk', reason: 'limiter outage drill' });
    expect(halted.state.desk.engaged).toBe(true);

    // Back up: limits apply again.
    store.current = new RedisWindowStore(live);
    expect((await admin.client.keys.create.mutate({ name: 'after', scopes: ['read'] })).key).toMatch(
      /^aegis_/,
    );
  });
});
