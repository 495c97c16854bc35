import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, PERMISSIONS, type Permission } from '../../src/auth/permissions.ts';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let admin: Client;

beforeAll(async () => {
  t = await startTestServer();
  admin = (await signIn(t.url, t.admin.email, t.admin.password)).client;
});
afterAll(async () => {
  await t?.close();
});

async function member(role: 'admin' | 'trader' | 'viewer', email: string) {
  const created = await admin.users.create.mutate({ email, displayName: `${role} ${email}`, role });
  const s = await signIn(t.url, email, created.oneTimePassword!);
  return { ...s, userId: created.member.userId };
}

describe('roles', () => {
  it('a viewer reads but cannot create users, change roles, or read the member list', async () => {
    const viewer = await member('viewer', 'viewer@example.com');
    expect((await viewer.client.auth.me.query()).activeDesk?.role).toBe('viewer');
    await viewer.client.keys.list.query();
    for (const call of [
      () => viewer.client.users.create.mutate({ email: 'x@example.com', displayName: 'X', role: 'viewer' }),
      () => viewer.client.users.setRole.mutate({ userId: viewer.userId, role: 'admin' }),
      () => viewer.client.users.list.query(),
    ]) {
      const e = await failure(call());
      expect(e.data?.httpStatus).toBe(403);
      expect(e.data?.details).toMatchObject({ reason: 'role' });
    }
    const [n] = await t.owner<
      { n: number }[]
    >`select count(*)::int as n from users where email = 'x@example.com'`;
    expect(n!.n).toBe(0);
  });

  it('a viewer can never trade or approve (matrix)', () => {
    const viewer = {
      kind: 'session',
      isPlatformAdmin: false,
      role: 'viewer',
      scopes: [],
      reauthenticatedAt: new Date(),
    } as const;
    const trading: Permission[] = [
      'orders.place',
      'orders.cancel',
      'proposals.create',
      'proposals.approve',
      'proposals.reject',
    ];
    for (const p of trading) expect(authorize(p, viewer, new Date(), 600_000)).toBe('role');
    // Every desk action a viewer may do is a read-scope action.
    for (const [name, rule] of Object.entries(PERMISSIONS)) {
      if (rule.level === 'desk' && rule.roles.includes('viewer')) {
        expect([name, rule.scope === 'read' || name.startsWith('keys.')]).toEqual([name, true]);
      }
    }
  });

  it('a role change ends every session of the user; the new role applies at once', async () => {
    const trader = await member('trader', 'trader@example.com');
    await trader.client.keys.list.query();
    const res = await admin.users.setRole.mutate({ userId: trader.userId, role: 'viewer' });
    expect(res).toMatchObject({ previousRole: 'trader', role: 'viewer' });
    expect(res.sessionsEnded).toBeGreaterThanOrEqual(1);
    expect((await failure(trader.client.auth.me.query())).data?.httpStatus).toBe(401);
    const again = await signIn(t.url, 'trader@example.com', trader.password);
    expect((await again.client.auth.me.query()).activeDesk?.role).toBe('viewer');
  });

  it("revoking a role removes the desk and revokes the user's keys on it", async () => {
    const trader = await member('trader', 'leaver@example.com');
    const { key } = await trader.client.keys.create.mutate({ name: 'leaver', scopes: ['read'] });
    await admin.users.setRole.mutate({ userId: trader.userId, role: null });
    const list = await admin.users.list.query();
    expect(list.find((m) => m.userId === trader.userId)).toBeUndefined();
    const [row] = await t.owner<{ revoked_at: Date | null }[]>`
      select revoked_at from api_keys where user_id = ${trader.userId}`;
    expect(row!.revoked_at).not.toBeNull();
    void key;
  });

  it('a desk keeps at least one admin', async () => {
    const me = await admin.auth.me.query();
    const e = await failure(admin.users.setRole.mutate({ userId: me.user.id, role: 'trader' }));
    expect(e.data?.httpStatus).toBe(409);
  });

  it('only platform admins create desks; a desk admin who is not one cannot', async () => {
    const deskAdmin = await member('admin', 'desk-admin@example.com');
    const e = await failure(deskAdmin.client.desks.create.mutate({ name: 'Rogue desk' }));
    expect(e.data?.details).toMatchObject({ reason: 'platform_admin_required' });
    const desk = await admin.desks.create.mutate({ name: 'Second desk' });
    expect(desk).toMatchObject({ name: 'Second desk', slug: 'second-desk', role: 'admin' });
    expect((await admin.desks.list.query()).map((d) => d.name)).toEqual(['Main desk', 'Second desk']);
    // Desk data is per desk: the new desk has only its creator.
    await admin.auth.switchDesk.mutate({ deskId: desk.id });
    expect((await admin.users.list.query()).map((m) => m.email)).toEqual([t.admin.email]);
    await admin.auth.switchDesk.mutate({ deskId: t.admin.deskId });
  });

  it('switching to a desk one is not a member of looks like a missing desk', async () => {
    const trader = await member('trader', 'switcher@example.com');
    const other = await admin.desks.create.mutate({ name: 'Private desk' });
    const e = await failure(trader.client.auth.switchDesk.mutate({ deskId: other.id }));
    expect(e.data?.httpStatus).toBe(404);
  });

  it('a disabled user cannot sign in and loses sessions', async () => {
    const victim = await member('trader', 'disabled@example.com');
    const res = await admin.users.disable.mutate({ userId: victim.userId });
    expect(res.sessionsEnded).toBeGreaterThanOrEqual(1);
    expect((await failure(victim.client.auth.me.query())).data?.httpStatus).toBe(401);
    const login = await failure(signIn(t.url, 'disabled@example.com', victim.password));
    expect(login.message).toBe('Invalid email or password');
  });
});
