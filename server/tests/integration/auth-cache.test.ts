import { randomBytes } from 'node:crypto';
import { RedisBus } from '@aegis/shared/bus/index';
import { createLogger } from '@aegis/shared/logging';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_BLOCK_MS, publishAuthInvalidation } from '../../src/auth/auth-cache.ts';
import { type ServerProcess, spawnServerProcess, stopServerProcess } from './support/child-server.ts';
import { type SignedIn, signedInMember, startWithAdmin } from './support/desk-people.ts';
import { until } from './support/wait.ts';
import { type Client, failure, makeClient, STRONG_PASSWORD, signIn, type TestServer } from './test-server.ts';

/**
 * The in-process cache of validated sessions and API keys (auth/auth-cache.ts): repeated calls
 * are served from it, and every way a credential ends refuses the very next request with it —
 * on this server, and on another server PROCESS sharing the database and the bus.
 */
let t: TestServer;
let admin: SignedIn;
let other: ServerProcess | null = null;
let otherUrl: string;
const keyClient = (key: string, url = t.url) => makeClient(url, { origin: null, bearer: key });
const cache = () => t.server.deps.authCache!;

/** A change to a user keeps their credentials out of the cache for a moment (auth-cache.ts). */
const afterUserChange = () => new Promise((r) => setTimeout(r, AUTH_CACHE_BLOCK_MS + 100));

async function newKey(client: Client = admin.client) {
  return client.keys.create.mutate({ name: `cached ${randomBytes(3).toString('hex')}`, scopes: ['read'] });
}

/** Another server as its own OS process (server-process.ts) on this file's database and Redis. */
async function startOtherProcess(): Promise<string> {
  other = spawnServerProcess('server/tests/integration/server-process.ts', {
    DATABASE_URL: t.database.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `aegis-test-${randomBytes(6).toString('hex')}`,
  });
  return other.url;
}

beforeAll(async () => {
  ({ ts: t, admin } = await startWithAdmin({ rateLimiter: null }));
  await admin.client.auth.reauthenticate.mutate({ password: admin.password });
  otherUrl = await startOtherProcess();
  await afterUserChange();
}, 60_000);

afterAll(async () => {
  if (other) await stopServerProcess(other);
  await t?.close();
});

describe('the auth cache', () => {
  it('serves repeated calls with one key from memory, without reading the key again', async () => {
    const { key, apiKey } = await newKey();
    const c = keyClient(key);
    await c.auth.me.query();
    const before = { ...cache().stats };
    for (let i = 0; i < 5; i++) await c.auth.me.query();
    expect(cache().stats.hits - before.hits).toBe(5);
    expect(cache().stats.misses - before.misses).toBe(0);
    // Proof that the row was not read: a change made behind the server's back is not seen yet.
    await t.owner`update api_keys set name = 'renamed by hand' where id = ${apiKey.id}`;
    expect((await c.auth.me.query()).kind).toBe('api_key');
  });

  it("serves a user's desk list from memory and shows a desk they create on the next request", async () => {
    const { key } = await newKey();
    const c = keyClient(key);
    await admin.client.auth.me.query();
    const before = { ...cache().stats };
    for (let i = 0; i < 3; i++) await admin.client.auth.me.query();
    await admin.client.desks.list.query();
    expect(cache().stats.deskHits - before.deskHits).toBe(4);
    expect(cache().stats.deskMisses - before.deskMisses).toBe(0);
    // Proof that the list was not read: a desk renamed behind the server's back is not seen yet.
    const mine = (await admin.client.auth.me.query()).desks;
    await t.owner`update tenants set name = 'renamed by hand' where id = ${mine[0]!.id}`;
    expect((await admin.client.auth.me.query()).desks.map((d) => d.name)).toEqual(mine.map((d) => d.name));
    await t.owner`update tenants set name = ${mine[0]!.name} where id = ${mine[0]!.id}`;
    // A desk created through the API is on the creator's very next list, here and on the key's.
    // Named to sort last: a fresh sign-in opens the first desk by name, and later tests sign in again.
    const created = await admin.client.desks.create.mutate({
      name: `Zz cached ${randomBytes(3).toString('hex')}`,
    });
    expect((await admin.client.auth.me.query()).desks.map((d) => d.id)).toContain(created.id);
    expect((await admin.client.desks.list.query()).map((d) => d.id)).toContain(created.id);
    // A key sees only its own desk, cached or not.
    for (let i = 0; i < 2; i++) {
      const km = await c.auth.me.query();
      expect(km.desks.map((d) => d.id)).toEqual([km.activeDesk!.id]);
    }
    await afterUserChange();
  });

  it('refuses a revoked key on the very next request', async () => {
    const { key, apiKey } = await newKey();
    const c = keyClient(key);
    await c.auth.me.query();
    const hits = cache().stats.hits;
    await c.auth.me.query();
    expect(cache().stats.hits).toBe(hits + 1); // served from the cache
    await admin.client.keys.revoke.mutate({ keyId: apiKey.id });
    expect((await failure(c.auth.me.query())).data?.httpStatus).toBe(401);
    expect((await failure(c.positions.list.query())).data?.httpStatus).toBe(401);
  });

  it('refuses a signed-out session on the very next request', async () => {
    const s = await signIn(t.url, t.admin.email, admin.password);
    const token = s.jar.cookies.get('aegis_session')!;
    const replay = makeClient(t.url, { origin: null, bearer: token });
    await replay.auth.me.query();
    await replay.auth.me.query();
    await s.client.auth.logout.mutate();
    expect((await failure(replay.auth.me.query())).data?.httpStatus).toBe(401);
  });

  it('ends the other sessions and every key on a password change at once', async () => {
    const otherSession = await signIn(t.url, t.admin.email, admin.password);
    const { key } = await newKey();
    await otherSession.client.auth.me.query();
    await keyClient(key).auth.me.query();
    const next = `${STRONG_PASSWORD}-cache`;
    await admin.client.auth.changePassword.mutate({ currentPassword: admin.password, newPassword: next });
    admin = { ...admin, password: next };
    expect((await failure(otherSession.client.auth.me.query())).data?.httpStatus).toBe(401);
    expect((await failure(keyClient(key).auth.me.query())).data?.httpStatus).toBe(401);
    await admin.client.auth.reauthenticate.mutate({ password: admin.password });
    await afterUserChange();
  });

  it('follows a role change and a removal from the desk at once', async () => {
    const email = `cache-${randomBytes(3).toString('hex')}@example.com`;
    const {
      created: { member },
      session: trader,
    } = await signedInMember(
      t.url,
      admin.client,
      { email, password: `${STRONG_PASSWORD}-initial` },
      'Cache Trader',
      'trader',
    );
    await afterUserChange();
    const { key } = await newKey(trader.client);
    const k = keyClient(key);
    await k.positions.list.query();
    await trader.client.positions.list.query();
    await admin.client.users.setRole.mutate({ userId: member.userId, role: 'viewer' });
    // The role change ended the trader's sessions; the key reads with the new role.
    expect((await failure(trader.client.auth.me.query())).data?.httpStatus).toBe(401);
    expect((await k.auth.me.query()).desks[0]?.role).toBe('viewer');
    await admin.client.users.setRole.mutate({ userId: member.userId, role: null });
    expect((await failure(k.positions.list.query())).data?.httpStatus).toBe(401);
  });
});

describe('across server processes', () => {
  it('a key revoked through another server is refused here on the very next request', async () => {
    const { key, apiKey } = await newKey();
    const here = keyClient(key);
    await here.auth.me.query();
    await here.auth.me.query();
    expect(cache().size.apiKeys).toBeGreaterThan(0);
    const hits = cache().stats.hits;
    // The revocation goes through the other process's API (its own cache, its own bus client).
    const adminThere = await signIn(otherUrl, t.admin.email, admin.password);
    await adminThere.client.auth.reauthenticate.mutate({ password: admin.password });
    await adminThere.client.keys.revoke.mutate({ keyId: apiKey.id });
    expect((await failure(here.auth.me.query())).data?.httpStatus).toBe(401);
    expect(cache().stats.hits).toBe(hits);
  });

  it("a desk created through another server is on the creator's list here on the very next request", async () => {
    await admin.client.auth.me.query();
    await admin.client.auth.me.query(); // cached here
    const adminThere = await signIn(otherUrl, t.admin.email, admin.password);
    await adminThere.client.auth.reauthenticate.mutate({ password: admin.password });
    const created = await adminThere.client.desks.create.mutate({
      name: `Zz there ${randomBytes(3).toString('hex')}`,
    });
    expect((await admin.client.auth.me.query()).desks.map((d) => d.id)).toContain(created.id);
    await adminThere.client.auth.logout.mutate();
    await afterUserChange();
  });

  it('a session signed out on another server is refused here on the very next request', async () => {
    const s = await signIn(otherUrl, t.admin.email, admin.password);
    const token = s.jar.cookies.get('aegis_session')!;
    const here = makeClient(t.url, { origin: null, bearer: token });
    await here.auth.me.query();
    await here.auth.me.query();
    await s.client.auth.logout.mutate();
    expect((await failure(here.auth.me.query())).data?.httpStatus).toBe(401);
  });

  it('drops an entry on an announcement heard only over the bus', async () => {
    const { key, apiKey } = await newKey();
    const here = keyClient(key);
    await here.auth.me.query();
    // Revoked behind the server's back: the cache still answers for it...
    await t.owner`update api_keys set revoked_at = now() where id = ${apiKey.id}`;
    expect((await here.auth.me.query()).kind).toBe('api_key');
    // ...until another process announces it. The server applies the announcement when its own
    // subscription delivers it (a test-side subscriber hearing it first proves nothing about the
    // server, and raced under load), so wait for the server's cache to count it.
    const bus = new RedisBus(TEST_REDIS_URL, { log: createLogger({ name: 'test', level: 'silent' }) });
    try {
      const invalidations = cache().stats.invalidations;
      await publishAuthInvalidation(bus, { kind: 'api_key', keyId: apiKey.id });
      await until(
        'the server to hear the announcement',
        () => cache().stats.invalidations > invalidations,
        10_000,
      );
      expect((await failure(here.auth.me.query())).data?.httpStatus).toBe(401);
    } finally {
      await bus.close();
    }
  });
});
