import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, onDesk, type SignedIn, startWithAdmin } from './support/desk-people.ts';
import { failure, makeClient, STRONG_PASSWORD, signIn, type TestServer } from './test-server.ts';

/**
 * audit.list / audit.verify over HTTP: who may read the trail (desk admins, keys with the admin
 * scope), that a desk sees only its own chain, filters and pagination, and bad inputs.
 */
let ts: TestServer;
const TRADER = { email: 'trader@desk.example', password: 'maple-orbit-cascade-61' };
let admin: SignedIn;

beforeAll(async () => {
  ({ ts, admin } = await startWithAdmin());
  await addMember(admin.client, TRADER, 'Trader', 'trader');
});

afterAll(async () => {
  await ts?.close();
});

describe('audit.list and audit.verify', () => {
  it("show a desk admin the desk's own trail, newest first, chained and verifiable", async () => {
    // chain 'desk': the desk's own chain alone (the default view also merges platform rows).
    const page = await admin.client.audit.list.query({ chain: 'desk', limit: 50 });
    const actions = page.items.map((e) => e.action);
    expect(actions).toContain('users.create');
    const created = page.items.find((e) => e.action === 'users.create')!;
    expect(created).toMatchObject({
      tenantId: ts.admin.deskId,
      actorType: 'user',
      actorId: admin.user.id,
      targetType: 'user',
      outcome: 'ok',
    });
    expect(created.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.ip).toBe('127.0.0.1');
    // Payload digests only: no secret or password material travels in the trail.
    expect(JSON.stringify(page.items)).not.toContain(TRADER.password);
    const seqs = page.items.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));

    const v = await admin.client.audit.verify.query();
    expect(v).toMatchObject({ ok: true, tenantId: ts.admin.deskId, rows: page.items.length });
  });

  it('paginates with an opaque cursor and filters', async () => {
    const all = (await admin.client.audit.list.query({ limit: 200 })).items.map((e) => e.seq);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { seq: number }[]; nextCursor: string | null } =
        await admin.client.audit.list.query({
          limit: 2,
          ...(cursor ? { cursor } : {}),
        });
      seen.push(...page.items.map((e) => e.seq));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);

    const onlyUsers = await admin.client.audit.list.query({ action: 'users.' });
    expect(onlyUsers.items.length).toBeGreaterThan(0);
    expect(onlyUsers.items.every((e) => e.action.startsWith('users.'))).toBe(true);
    const byActor = await admin.client.audit.list.query({ actorId: admin.user.id, outcome: 'ok' });
    expect(byActor.items.every((e) => e.actorId === admin.user.id)).toBe(true);
    const future = await admin.client.audit.list.query({ from: new Date(Date.now() + 60_000).toISOString() });
    expect(future.items).toEqual([]);
    const since = await admin.client.audit.list.query({ sinceSeq: Math.max(...all) });
    expect(since.items).toEqual([]);
  });

  it('keeps each desk to its own chain', async () => {
    const deskB = await admin.client.desks.create.mutate({ name: 'Desk B' });
    await onDesk(admin.client, deskB.id, ts.admin.deskId, async () => {
      const b = await admin.client.audit.list.query({ limit: 200 });
      expect(b.items.length).toBeGreaterThan(0);
      expect(b.items.every((e) => e.tenantId === deskB.id)).toBe(true);
      expect(b.items.map((e) => e.seq).at(-1)).toBe(1);
      expect(await admin.client.audit.verify.query()).toMatchObject({ ok: true, tenantId: deskB.id });
    });
  });

  it('refuses traders, and keys without the admin scope', async () => {
    const trader = await signIn(ts.url, TRADER.email, TRADER.password, `${STRONG_PASSWORD}-t`);
    const denied = await failure(trader.client.audit.list.query());
    expect(denied.data?.code).toBe('FORBIDDEN');
    expect((await failure(trader.client.audit.verify.query())).data?.code).toBe('FORBIDDEN');

    const readKey = (await admin.client.keys.create.mutate({ name: 'reader', scopes: ['read'] })).key;
    const reader = makeClient(ts.url, { bearer: readKey, origin: null });
    expect((await failure(reader.audit.list.query())).data?.code).toBe('FORBIDDEN');

    const adminKey = (await admin.client.keys.create.mutate({ name: 'auditor', scopes: ['read', 'admin'] }))
      .key;
    const auditor = makeClient(ts.url, { bearer: adminKey, origin: null });
    expect((await auditor.audit.verify.query()).ok).toBe(true);
    // Each denial is itself an audit row of the desk's chain, and the chain still verifies.
    const denials = await admin.client.audit.list.query({ outcome: 'denied', targetId: 'audit.list' });
    expect(denials.items.map((e) => e.actorId)).toEqual(expect.arrayContaining([trader.user.id]));
    expect(denials.items.every((e) => e.action === 'access.denied')).toBe(true);
    expect((await admin.client.audit.verify.query()).ok).toBe(true);
  });

  it('rejects bad inputs without leaking anything', async () => {
    const bad = async (input: unknown) =>
      (await failure(admin.client.audit.list.query(input as never))).data?.code;
    expect(await bad({ limit: 1000 })).toBe('BAD_REQUEST');
    expect(await bad({ limit: 'ten' })).toBe('BAD_REQUEST');
    expect(await bad({ unknownKey: 1 })).toBe('BAD_REQUEST');
    expect(await bad({ action: 'a'.repeat(129) })).toBe('BAD_REQUEST');
    expect(await bad({ from: 'yesterday' })).toBe('BAD_REQUEST');
    expect(await bad({ cursor: 'not-a-cursor' })).toBe('BAD_REQUEST');
    expect(await bad({ outcome: 'maybe' })).toBe('BAD_REQUEST');
    // Injection strings are data: they match nothing.
    expect((await admin.client.audit.list.query({ action: "' or 1=1 --" })).items).toEqual([]);
    expect((await admin.client.audit.list.query({ targetId: '<script>alert(1)</script>' })).items).toEqual(
      [],
    );
    expect((await admin.client.audit.list.query({ actorId: 'ユーザー🙂' })).items).toEqual([]);
    const badAnchor = await failure(admin.client.audit.verify.query({ anchor: { seq: 1, hash: 'zz' } }));
    expect(badAnchor.data?.code).toBe('BAD_REQUEST');
    const missing = await admin.client.audit.verify.query({ anchor: { seq: 10_000, hash: 'a'.repeat(64) } });
    expect(missing).toMatchObject({ ok: false, reason: 'anchor_missing' });
  });

  it('gives platform admins the platform chain (failed sign-ins), and nobody else', async () => {
    const anon = makeClient(ts.url);
    await failure(anon.auth.login.mutate({ email: 'nobody@desk.example', password: 'guess-guess-guess-1' }));
    const platform = await admin.client.audit.platformList.query({ action: 'auth.login', outcome: 'failed' });
    expect(platform.items.length).toBeGreaterThan(0);
    expect(platform.items.every((e) => e.tenantId === null)).toBe(true);
    expect(JSON.stringify(platform.items)).not.toContain('guess-guess-guess-1');
    expect(await admin.client.audit.platformVerify.query()).toMatchObject({ ok: true, tenantId: null });
    // The desk view shows platform rows only for its members: never an unknown account's sign-in.
    const desk = await admin.client.audit.list.query({ limit: 200 });
    expect(desk.items.every((e) => e.tenantId === ts.admin.deskId || e.chain === 'platform')).toBe(true);
    expect(desk.items.some((e) => e.chain === 'platform' && e.actorId === null)).toBe(false);

    const trader = await signIn(ts.url, TRADER.email, `${STRONG_PASSWORD}-t`);
    expect((await failure(trader.client.audit.platformList.query())).data?.code).toBe('FORBIDDEN');
  });
});
