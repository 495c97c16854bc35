import { MemoryBus } from '@aegis/shared/bus/index';
import { asSessionId, asTenantId, asUserId } from '@aegis/shared/ids';
import { describe, expect, it } from 'vitest';
import {
  AUTH_CACHE_BLOCK_MS,
  AuthCache,
  AuthInvalidationHub,
  apiKeyCacheId,
  publishAuthInvalidation,
} from './auth-cache.ts';

const USER = '00000000-0000-4000-8000-000000000001';
const DESK = asTenantId('00000000-0000-4000-8000-000000000003');
const KEY_ID = '00000000-0000-4000-8000-000000000002';
const SESSION_ID = asSessionId('a'.repeat(64));
const IDLE = 7 * 24 * 3600_000;
const user = {
  id: asUserId(USER),
  email: 'a@example.com',
  displayName: 'A',
  isPlatformAdmin: false,
  mustChangePassword: false,
};

function clock(start = 1_000_000) {
  const c = { now: start, fn: () => c.now };
  return c;
}

const session = (now: number, expiresIn = IDLE) => ({
  id: SESSION_ID,
  userId: asUserId(USER),
  activeTenantId: null,
  createdAt: new Date(now),
  expiresAt: new Date(now + expiresIn),
  absoluteExpiresAt: new Date(now + 30 * IDLE),
  reauthenticatedAt: null,
});

const apiKey = (expiresAt: Date | null = null) => ({
  id: KEY_ID,
  tenantId: DESK,
  userId: asUserId(USER),
  name: 'k',
  prefix: 'p',
  scopes: ['read' as const],
  expiresAt,
  lastUsedAt: null,
});

describe('AuthCache', () => {
  it('serves a session until its TTL, then reads again', () => {
    const c = clock();
    const cache = new AuthCache({ ttlMs: 2_000, now: c.fn });
    cache.putSession({ session: session(c.now), user }, c.now);
    expect(cache.session(SESSION_ID, IDLE)?.user.id).toBe(USER);
    c.now += 2_000;
    expect(cache.session(SESSION_ID, IDLE)).toBeNull();
  });

  it('never serves a session due to slide or past its expiry', () => {
    const c = clock();
    const cache = new AuthCache({ ttlMs: 60_000, now: c.fn });
    cache.putSession({ session: session(c.now, IDLE / 2 - 1), user }, c.now);
    expect(cache.session(SESSION_ID, IDLE)).toBeNull();
    cache.putSession({ session: session(c.now, 1_000), user }, c.now);
    expect(cache.session(SESSION_ID, 2_000)).not.toBeNull();
    c.now += 1_000;
    expect(cache.session(SESSION_ID, 2_000)).toBeNull();
  });

  it('never serves an expired key', () => {
    const c = clock();
    const cache = new AuthCache({ ttlMs: 60_000, now: c.fn });
    const id = apiKeyCacheId('aegis_x');
    cache.putApiKey(id, { apiKey: apiKey(new Date(c.now + 500)), user }, c.now);
    expect(cache.apiKey(id)).not.toBeNull();
    c.now += 500;
    expect(cache.apiKey(id)).toBeNull();
  });

  it('drops and blocks on invalidation, including a read that started before it', () => {
    const c = clock();
    const cache = new AuthCache({ ttlMs: 60_000, now: c.fn });
    const id = apiKeyCacheId('aegis_x');
    const readStarted = c.now;
    cache.putApiKey(id, { apiKey: apiKey(), user }, readStarted);
    c.now += 10;
    cache.invalidate({ kind: 'api_key', keyId: KEY_ID });
    expect(cache.apiKey(id)).toBeNull();
    // A read that began before the change cannot put the old row back, nor one during the block.
    cache.putApiKey(id, { apiKey: apiKey(), user }, readStarted);
    expect(cache.apiKey(id)).toBeNull();
    c.now += AUTH_CACHE_BLOCK_MS - 20;
    cache.putApiKey(id, { apiKey: apiKey(), user }, c.now);
    expect(cache.apiKey(id)).toBeNull();
    c.now += 20;
    cache.putApiKey(id, { apiKey: apiKey(), user }, c.now);
    expect(cache.apiKey(id)).not.toBeNull();
  });

  it('drops every session and key of a user on a user change', () => {
    const c = clock();
    const cache = new AuthCache({ ttlMs: 60_000, now: c.fn });
    const id = apiKeyCacheId('aegis_x');
    cache.putApiKey(id, { apiKey: apiKey(), user }, c.now);
    cache.putSession({ session: session(c.now), user }, c.now);
    cache.invalidate({ kind: 'user', userId: USER });
    expect(cache.apiKey(id)).toBeNull();
    expect(cache.session(SESSION_ID, IDLE)).toBeNull();
    cache.putSession({ session: session(c.now), user }, c.now);
    expect(cache.session(SESSION_ID, IDLE)).toBeNull();
  });
});

describe('AuthInvalidationHub', () => {
  it('applies an announcement to every registered cache at once and hears others on the bus', async () => {
    const bus = new MemoryBus();
    const here = new AuthInvalidationHub();
    const elsewhere = new AuthInvalidationHub();
    const a = new AuthCache({ ttlMs: 60_000 });
    const b = new AuthCache({ ttlMs: 60_000 });
    await here.register({ cache: a, bus });
    await elsewhere.register({ cache: b, bus });
    const id = apiKeyCacheId('aegis_x');
    for (const cache of [a, b]) cache.putApiKey(id, { apiKey: apiKey(), user }, 0);
    await here.announce({ kind: 'api_key', keyId: KEY_ID });
    expect(a.apiKey(id)).toBeNull();
    // The other hub stands for another process: it hears the change over the bus.
    await new Promise((r) => setImmediate(r));
    expect(b.apiKey(id)).toBeNull();
    await bus.close();
  });

  it('ignores malformed messages', async () => {
    const bus = new MemoryBus();
    const hub = new AuthInvalidationHub();
    const cache = new AuthCache({ ttlMs: 60_000 });
    await hub.register({ cache, bus });
    await bus.publish('aegis:auth:invalidate', '{"kind":"user","userId":"not-a-uuid"}');
    await bus.publish('aegis:auth:invalidate', 'not json');
    await new Promise((r) => setImmediate(r));
    expect(cache.stats.invalidations).toBe(0);
    await expect(publishAuthInvalidation(bus, { kind: 'user', userId: 'x' })).rejects.toThrow();
    await bus.close();
  });
});
