import { AppError } from '@aegis/shared/errors';
import { describe, expect, it } from 'vitest';
import { RateLimiter, rateLimitIdentity } from './limiter.ts';
import { MemoryWindowStore, type WindowStore } from './window-store.ts';

describe('MemoryWindowStore', () => {
  it('slides: a request leaves the window exactly windowMs after it was admitted', async () => {
    const s = new MemoryWindowStore();
    expect((await s.hit('k', 3, 1000, 0)).allowed).toBe(true);
    expect((await s.hit('k', 3, 1000, 100)).allowed).toBe(true);
    expect(await s.hit('k', 3, 1000, 200)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
    expect(await s.hit('k', 3, 1000, 300)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 700 });
    expect((await s.hit('k', 3, 1000, 1000)).allowed).toBe(true);
    expect(await s.hit('k', 3, 1000, 1050)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 50 });
    expect((await s.hit('other', 3, 1000, 1050)).allowed).toBe(true);
  });
});

describe('RateLimiter', () => {
  it('keeps reads and mutations in separate windows and reports Retry-After in whole seconds', async () => {
    const limiter = new RateLimiter({
      store: new MemoryWindowStore(),
      settings: { read: { limit: 2, windowMs: 10_000 }, mutation: { limit: 1, windowMs: 10_000 } },
    });
    const id = rateLimitIdentity({ sessionId: 'abc' });
    await limiter.enforce({ identity: id, class: 'mutation', failMode: 'closed', nowMs: 0 });
    const err = await limiter
      .enforce({ identity: id, class: 'mutation', failMode: 'closed', nowMs: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('RATE_LIMITED');
    expect((err as AppError).details?.retryAfterSeconds).toBe(10);
    expect(await limiter.enforce({ identity: id, class: 'read', failMode: 'open', nowMs: 2 })).toMatchObject({
      status: 'allowed',
      remaining: 1,
    });
  });

  it('fails closed or open when the store throws', async () => {
    const broken: WindowStore = { hit: () => Promise.reject(new Error('down')) };
    const limiter = new RateLimiter({ store: broken });
    await expect(
      limiter.enforce({ identity: 'ip:1', class: 'mutation', failMode: 'closed' }),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(await limiter.enforce({ identity: 'ip:1', class: 'read', failMode: 'open' })).toEqual({
      status: 'store_unavailable',
      failMode: 'open',
    });
  });

  it('lets mutations declared risk-reducing through when the store is down, and no others', async () => {
    const broken: WindowStore = { hit: () => Promise.reject(new Error('down')) };
    const limiter = new RateLimiter({ store: broken });
    await expect(
      limiter.check({ key: 'session:s', path: 'halt.engage', type: 'mutation', riskReducing: true }),
    ).resolves.toBeUndefined();
    await expect(
      limiter.check({ key: 'session:s', path: 'orders.place', type: 'mutation' }),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('derives identities: API key over session over IP', () => {
    expect(rateLimitIdentity({ apiKeyId: 'k', sessionId: 's', ip: '1.2.3.4' })).toBe('key:k');
    expect(rateLimitIdentity({ sessionId: 's', ip: '1.2.3.4' })).toBe('session:s');
    expect(rateLimitIdentity({ ip: '1.2.3.4' })).toBe('ip:1.2.3.4');
    expect(rateLimitIdentity({})).toBe('ip:unknown');
  });
});
