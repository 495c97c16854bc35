import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionIdOf } from '../../src/auth/session.ts';
import {
  CookieJar,
  failure,
  makeClient,
  ORIGIN,
  STRONG_PASSWORD,
  signIn,
  startTestServer,
  type TestServer,
} from './test-server.ts';

let t: TestServer;
let adminPassword: string;

beforeAll(async () => {
  t = await startTestServer();
  // The first admin's one-time password must be replaced before anything else.
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  adminPassword = s.password;
});
afterAll(async () => {
  await t?.close();
});

const DAY = 86_400_000;

async function sessionRow(token: string) {
  const [row] = await t.owner<{ expires_at: Date; absolute_expires_at: Date; last_seen_at: Date }[]>`
    select expires_at, absolute_expires_at, last_seen_at from sessions where id = ${sessionIdOf(token)}`;
  return row;
}

const tokenOf = (jar: CookieJar) => jar.cookies.get('aegis_session')!;

describe('login', () => {
  it('signs in, sets the session cookie with the right attributes, stores only the hash', async () => {
    const jar = new CookieJar();
    const client = makeClient(t.url, { jar });
    const res = await client.auth.login.mutate({
      email: t.admin.email.toUpperCase(),
      password: adminPassword,
    });
    expect(res.user.email).toBe(t.admin.email);
    expect(res.token).toBeNull();
    expect(res.activeDeskId).toBe(t.admin.deskId);

    const header = jar.setCookieHeaders.at(-1)!;
    // Plain-http console origin: no __Host- prefix (it would require Secure), see session.ts.
    expect(header).toMatch(/^aegis_session=[a-z2-7]{32};/);
    expect(header).toContain('HttpOnly');
    expect(header).toContain('SameSite=Lax');
    expect(header).toContain('Path=/');
    expect(header).toMatch(/Expires=/);
    expect(header).not.toContain('Secure');

    const token = tokenOf(jar);
    const stored = await t.owner`select id from sessions where id = ${token}`;
    expect(stored).toHaveLength(0); // the token itself is never a key
    expect(await sessionRow(token)).toBeDefined();

    const me = await client.auth.me.query();
    expect(me.kind).toBe('session');
    expect(me.activeDesk?.name).toBe('Main desk');
    expect(me.activeDesk?.role).toBe('admin');
  });

  it('answers wrong password and unknown user identically', async () => {
    const client = makeClient(t.url);
    const wrong = await failure(
      client.auth.login.mutate({ email: t.admin.email, password: 'not-the-password-at-all' }),
    );
    const unknown = await failure(
      client.auth.login.mutate({ email: 'nobody@example.com', password: 'not-the-password-at-all' }),
    );
    expect(wrong.message).toBe('Invalid email or password');
    expect(unknown.message).toBe(wrong.message);
    expect(unknown.data?.httpStatus).toBe(401);
    expect(wrong.data?.httpStatus).toBe(401);
    expect(unknown.data?.appCode).toBe(wrong.data?.appCode);
    expect(unknown.data?.details).toEqual(wrong.data?.details);
    // Both were audited on the platform chain, without the password.
    const rows = await t.owner<{ details: string }[]>`
      select details from audit_log where action = 'auth.login' and outcome = 'failed' order by seq`;
    expect(rows.map((r) => r.details)).toEqual(expect.arrayContaining(['wrong password', 'unknown account']));
  });

  it('returns a bearer token to scripts that ask for it, and it works as Authorization: Bearer', async () => {
    const anon = makeClient(t.url, { origin: null });
    const res = await anon.auth.login.mutate({
      email: t.admin.email,
      password: adminPassword,
      returnToken: true,
    });
    expect(res.token).toMatch(/^[a-z2-7]{32}$/);
    const scripted = makeClient(t.url, { origin: null, bearer: res.token! });
    expect((await scripted.auth.me.query()).user.email).toBe(t.admin.email);
  });

  it('upgrades a hash made with weaker parameters at the next login', async () => {
    const { hash } = await import('@node-rs/argon2');
    const weak = await hash(adminPassword, {
      memoryCost: 8192,
      timeCost: 1,
      parallelism: 1,
      algorithm: 2 as never,
    });
    await t.owner`update users set password_hash = ${weak} where lower(email) = ${t.admin.email}`;
    await signIn(t.url, t.admin.email, adminPassword);
    const [row] = await t.owner<{ password_hash: string }[]>`
      select password_hash from users where lower(email) = ${t.admin.email}`;
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('creates a new session on every login', async () => {
    const a = await signIn(t.url, t.admin.email, adminPassword);
    const b = await signIn(t.url, t.admin.email, adminPassword);
    expect(tokenOf(a.jar)).not.toBe(tokenOf(b.jar));
  });
});

describe('session lifecycle', () => {
  it('refuses a replayed session after logout', async () => {
    const { jar, client } = await signIn(t.url, t.admin.email, adminPassword);
    const token = tokenOf(jar);
    await client.auth.logout.mutate();
    expect(jar.cookies.has('aegis_session')).toBe(false);
    const replay = makeClient(t.url, { jar: new CookieJar() });
    const replayJar = new CookieJar();
    replayJar.cookies.set('aegis_session', token);
    const e = await failure(makeClient(t.url, { jar: replayJar }).auth.me.query());
    expect(e.data?.httpStatus).toBe(401);
    expect(await sessionRow(token)).toBeUndefined();
    void replay;
  });

  it('refuses an expired session and deletes it', async () => {
    const { jar, client } = await signIn(t.url, t.admin.email, adminPassword);
    const token = tokenOf(jar);
    await t.owner`update sessions set expires_at = now() - interval '1 second' where id = ${sessionIdOf(token)}`;
    const e = await failure(client.auth.me.query());
    expect(e.data?.httpStatus).toBe(401);
    expect(await sessionRow(token)).toBeUndefined();
    // The stale cookie is cleared.
    expect(jar.setCookieHeaders.at(-1)).toMatch(/^aegis_session=;.*Max-Age=0/);
  });

  it('slides the expiry forward when used in the second half of the idle window', async () => {
    const { jar, client } = await signIn(t.url, t.admin.email, adminPassword);
    const token = tokenOf(jar);
    await t.owner`update sessions set expires_at = now() + interval '1 day' where id = ${sessionIdOf(token)}`;
    const before = jar.setCookieHeaders.length;
    await client.auth.me.query();
    const row = await sessionRow(token);
    expect(row!.expires_at.getTime()).toBeGreaterThan(Date.now() + 6 * DAY);
    // The cookie is re-sent with the new expiry.
    expect(jar.setCookieHeaders.length).toBe(before + 1);
    expect(jar.setCookieHeaders.at(-1)).toContain(`Expires=${row!.expires_at.toUTCString()}`);
  });

  it('does not slide early in the window (no write per request)', async () => {
    const { jar, client } = await signIn(t.url, t.admin.email, adminPassword);
    const token = tokenOf(jar);
    const first = await sessionRow(token);
    await client.auth.me.query();
    expect((await sessionRow(token))!.expires_at.getTime()).toBe(first!.expires_at.getTime());
  });

  it('never slides past the absolute lifetime, and ends there', async () => {
    const { jar, client } = await signIn(t.url, t.admin.email, adminPassword);
    const id = sessionIdOf(tokenOf(jar));
    await t.owner`update sessions set expires_at = now() + interval '1 hour',
                  absolute_expires_at = now() + interval '2 hours' where id = ${id}`;
    await client.auth.me.query();
    const row = await sessionRow(tokenOf(jar));
    expect(row!.expires_at.getTime()).toBe(row!.absolute_expires_at.getTime());
    await t.owner`update sessions set absolute_expires_at = now() - interval '1 second' where id = ${id}`;
    expect((await failure(client.auth.me.query())).data?.httpStatus).toBe(401);
  });

  it('ends every other session of the user on password change, keeping the current one', async () => {
    const other = await signIn(t.url, t.admin.email, adminPassword);
    const current = await signIn(t.url, t.admin.email, adminPassword);
    const next = `${STRONG_PASSWORD}-rotated`;
    const res = await current.client.auth.changePassword.mutate({
      currentPassword: adminPassword,
      newPassword: next,
    });
    expect(res.otherSessionsEnded).toBeGreaterThanOrEqual(1);
    expect((await failure(other.client.auth.me.query())).data?.httpStatus).toBe(401);
    expect((await current.client.auth.me.query()).user.email).toBe(t.admin.email);
    // The old password no longer works; the new one does.
    expect(
      (await failure(makeClient(t.url).auth.login.mutate({ email: t.admin.email, password: adminPassword })))
        .message,
    ).toBe('Invalid email or password');
    adminPassword = next;
    await signIn(t.url, t.admin.email, adminPassword);
  });

  it('lists own sessions and ends another one, or all others', async () => {
    const a = await signIn(t.url, t.admin.email, adminPassword);
    const b = await signIn(t.url, t.admin.email, adminPassword);
    const c = await signIn(t.url, t.admin.email, adminPassword);
    const list = await a.client.auth.sessions.query();
    const current = list.filter((s) => s.current);
    expect(current).toHaveLength(1);
    expect(current[0]!.id).toBe(sessionIdOf(tokenOf(a.jar)));
    expect(list.find((s) => s.id === sessionIdOf(tokenOf(b.jar)))?.ip).toBe('127.0.0.1');
    // Ending b from a: b is out, c still in.
    expect(await a.client.auth.revokeSessions.mutate({ sessionId: sessionIdOf(tokenOf(b.jar)) })).toEqual({
      ended: 1,
    });
    expect((await failure(b.client.auth.me.query())).data?.httpStatus).toBe(401);
    await c.client.auth.me.query();
    // Someone else's or unknown session ids: not found.
    expect(
      (await failure(a.client.auth.revokeSessions.mutate({ sessionId: 'f'.repeat(64) }))).data?.httpStatus,
    ).toBe(404);
    const all = await a.client.auth.revokeSessions.mutate({ all: true });
    expect(all.ended).toBeGreaterThanOrEqual(1);
    expect((await failure(c.client.auth.me.query())).data?.httpStatus).toBe(401);
    expect((await a.client.auth.sessions.query()).map((s) => s.current)).toEqual([true]);
  });

  it('rejects weak and common new passwords', async () => {
    const { client } = await signIn(t.url, t.admin.email, adminPassword);
    for (const weak of ['short', 'password1234', 'qwertyuiop123', 'aaaaaaaaaaaaaaaa', '12345678901234']) {
      const e = await failure(
        client.auth.changePassword.mutate({ currentPassword: adminPassword, newPassword: weak }),
      );
      expect(e.data?.httpStatus).toBe(400);
    }
  });

  it('blocks everything but own-account actions until a one-time password is changed', async () => {
    const { client } = await signIn(t.url, t.admin.email, adminPassword);
    const created = await client.users.create.mutate({
      email: 'first-login@example.com',
      displayName: 'First Login',
      role: 'trader',
    });
    expect(created.oneTimePassword).toMatch(/^[A-Za-z2-9]{5}(-[A-Za-z2-9]{5}){3}$/);
    const jar = new CookieJar();
    const fresh = makeClient(t.url, { jar });
    const res = await fresh.auth.login.mutate({
      email: 'first-login@example.com',
      password: created.oneTimePassword!,
    });
    expect(res.user.mustChangePassword).toBe(true);
    const e = await failure(fresh.keys.list.query());
    expect(e.data?.httpStatus).toBe(412);
    expect(e.data?.details).toMatchObject({ reason: 'password_change_required' });
    await fresh.auth.changePassword.mutate({
      currentPassword: created.oneTimePassword!,
      newPassword: STRONG_PASSWORD,
    });
    expect(await fresh.keys.list.query()).toEqual([]);
  });

  it('requires a recent password re-entry for reauth-gated actions and records it', async () => {
    const { client } = await signIn(t.url, t.admin.email, adminPassword);
    expect((await client.auth.me.query()).reauthenticatedUntil).toBeNull();
    const bad = await failure(client.auth.reauthenticate.mutate({ password: 'wrong-password-here' }));
    expect(bad.data?.httpStatus).toBe(403);
    const ok = await client.auth.reauthenticate.mutate({ password: adminPassword });
    const until = new Date(ok.reauthenticatedUntil).getTime();
    expect(until).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 10 * 60_000);
    expect((await client.auth.me.query()).reauthenticatedUntil).toBe(ok.reauthenticatedUntil);
  });
});

describe('CSRF', () => {
  it('refuses cookie-authenticated mutations from a foreign or missing Origin with 403', async () => {
    const { jar } = await signIn(t.url, t.admin.email, adminPassword);
    for (const origin of ['https://evil.example', 'null', null]) {
      const client = makeClient(t.url, { jar, origin });
      const e = await failure(client.desks.create.mutate({ name: `Desk via ${origin}` }));
      expect(e.data?.httpStatus).toBe(403);
      expect(e.data?.details).toMatchObject({ reason: 'csrf_origin' });
    }
    const [n] = await t.owner<
      { n: number }[]
    >`select count(*)::int as n from tenants where name like 'Desk via %'`;
    expect(n!.n).toBe(0);
    // Queries are not state-changing; the allowed origin may mutate.
    expect((await makeClient(t.url, { jar, origin: null }).auth.me.query()).user.email).toBe(t.admin.email);
    const desk = await makeClient(t.url, { jar, origin: ORIGIN }).desks.create.mutate({
      name: 'Desk via console',
    });
    expect(desk.role).toBe('admin');
  });

  it('refuses a login posted from a foreign origin', async () => {
    const e = await failure(
      makeClient(t.url, { origin: 'https://evil.example' }).auth.login.mutate({
        email: t.admin.email,
        password: adminPassword,
      }),
    );
    expect(e.data?.httpStatus).toBe(403);
  });
});
