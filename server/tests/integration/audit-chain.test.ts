import { randomUUID } from 'node:crypto';
import { createDb, type DatabaseHandle, withTenant } from '@aegis/shared/db/client';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../src/audit/chain.ts';
import { audit } from '../../src/audit/service.ts';

let database: MigratedTestDatabase;
let app: DatabaseHandle;
let owner: postgres.Sql;
const tenantA = asTenantId(randomUUID());
const tenantB = asTenantId(randomUUID());
const actor = { type: 'user' as const, id: randomUUID() };

beforeAll(async () => {
  database = await createMigratedTestDatabase('aegis_test_audit');
  owner = postgres(database.url, { max: 2, onnotice: () => {} });
  await owner`insert into tenants (id, slug, name) values (${tenantA}, 'desk-a', 'Desk A'), (${tenantB}, 'desk-b', 'Desk B')`;
  app = createDb(database.appUrl, { max: 12 });
});

afterAll(async () => {
  await app?.close();
  await owner?.end();
  await database?.drop();
});

describe('audit.record', () => {
  it('chains rows per tenant from the transaction tenant, with request context from set_config', async () => {
    for (let i = 0; i < 3; i++) {
      await withTenant(app.db, tenantA, async (tx) => {
        await tx.execute(
          sql`select set_config('app.request_id', ${`req-${i}`}, true), set_config('app.client_ip', '2001:DB8::1', true)`,
        );
        const r = await audit.record(tx, {
          action: 'orders.place',
          actor,
          targetType: 'order',
          targetId: `o-${i}`,
          payload: { qty: String(i + 1), password: 'never-stored' },
        });
        expect(r).toMatchObject({ tenantId: tenantA, seq: i + 1 });
      });
    }
    await withTenant(app.db, tenantB, async (tx) => {
      const r = await audit.record(tx, {
        action: 'keys.create',
        actor,
        targetType: 'api_key',
        targetId: 'k1',
      });
      expect(r).toMatchObject({ tenantId: tenantB, seq: 1 });
    });

    const page = await withTenant(app.db, tenantA, (tx) => audit.list(tx, { tenantId: tenantA }));
    expect(page.items.map((r) => r.seq)).toEqual([3, 2, 1]);
    const newest = page.items[0]!;
    expect(newest).toMatchObject({
      action: 'orders.place',
      actorType: 'user',
      actorId: actor.id,
      targetId: 'o-2',
      outcome: 'ok',
      requestId: 'req-2',
      ip: '2001:db8::1',
      payloadDigest: payloadDigest({ qty: '3' }),
    });
    expect(newest.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(page.items[2]!.prevHash).toBe('0'.repeat(64));
    expect(page.items[1]!.prevHash).toBe(page.items[2]!.hash);

    const v = await withTenant(app.db, tenantA, (tx) => audit.verify(tx, { tenantId: tenantA }));
    expect(v).toEqual({ ok: true, tenantId: tenantA, rows: 3, head: { seq: 3, hash: newest.hash } });
  });

  it('the application role can append and read but never change or delete audit rows', async () => {
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => 'succeeded',
        (e: Error & { cause?: Error }) => e.cause?.message ?? e.message,
      );
    expect(
      await failure(
        withTenant(app.db, tenantA, (tx) =>
          tx.execute(sql`update audit_log set details = 'x' where seq = 1`),
        ),
      ),
    ).toMatch(/permission denied/);
    expect(
      await failure(
        withTenant(app.db, tenantA, (tx) => tx.execute(sql`delete from audit_log where seq = 1`)),
      ),
    ).toMatch(/permission denied/);
  });

  it('keeps one valid chain under 50 concurrent appends', async () => {
    const tenant = asTenantId(randomUUID());
    await owner`insert into tenants (id, slug, name) values (${tenant}, ${`desk-${tenant.slice(0, 8)}`}, 'Busy desk')`;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        withTenant(app.db, tenant, (tx) =>
          audit.record(tx, {
            action: 'orders.place',
            actor,
            targetType: 'order',
            targetId: `c-${i}`,
            payload: { i },
          }),
        ),
      ),
    );
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const v = await withTenant(app.db, tenant, (tx) => audit.verify(tx, { tenantId: tenant, pageSize: 7 }));
    expect(v, JSON.stringify(v)).toMatchObject({ ok: true, rows: 50 });
  });

  it('recordDetached survives the rollback of the action it describes', async () => {
    const tenant = asTenantId(randomUUID());
    await owner`insert into tenants (id, slug, name) values (${tenant}, ${`desk-${tenant.slice(0, 8)}`}, 'Detached desk')`;
    await expect(
      withTenant(app.db, tenant, async () => {
        await audit.recordDetached(app.db, {
          tenantId: tenant,
          action: 'orders.place',
          actor,
          outcome: 'denied',
          details: 'max position',
        });
        throw new Error('risk denied');
      }),
    ).rejects.toThrow('risk denied');
    const page = await withTenant(app.db, tenant, (tx) => audit.list(tx, { tenantId: tenant }));
    expect(page.items.map((e) => [e.seq, e.action, e.outcome])).toEqual([[1, 'orders.place', 'denied']]);
    // A platform event from inside a desk transaction goes to the platform chain.
    const p = await withTenant(app.db, tenant, () =>
      audit.recordDetached(app.db, { tenantId: null, action: 'auth.login', actor }),
    );
    expect(p.tenantId).toBeNull();
  });

  it('a rolled-back action leaves no audit row and no gap', async () => {
    const tenant = asTenantId(randomUUID());
    await owner`insert into tenants (id, slug, name) values (${tenant}, ${`desk-${tenant.slice(0, 8)}`}, 'Rollback desk')`;
    await withTenant(app.db, tenant, (tx) => audit.record(tx, { action: 'a.one', actor }));
    await expect(
      withTenant(app.db, tenant, async (tx) => {
        await audit.record(tx, { action: 'a.two', actor });
        throw new Error('action failed');
      }),
    ).rejects.toThrow('action failed');
    const r = await withTenant(app.db, tenant, (tx) => audit.record(tx, { action: 'a.three', actor }));
    expect(r.seq).toBe(2);
    expect(await withTenant(app.db, tenant, (tx) => audit.verify(tx, { tenantId: tenant }))).toMatchObject({
      ok: true,
      rows: 2,
    });
  });
});

describe('audit.verify detects tampering', () => {
  async function freshChain(n: number): Promise<TenantId> {
    const tenant = asTenantId(randomUUID());
    await owner`insert into tenants (id, slug, name) values (${tenant}, ${`desk-${tenant.slice(0, 8)}`}, 'Tamper desk')`;
    for (let i = 1; i <= n; i++) {
      await withTenant(app.db, tenant, (tx) =>
        audit.record(tx, { action: 'limits.change', actor, details: `change ${i}`, payload: { i } }),
      );
    }
    return tenant;
  }
  const verifyAsOwner = (tenantId: TenantId, anchor?: { seq: number; hash: string }) =>
    withTenant(app.db, tenantId, (tx) => audit.verify(tx, anchor ? { tenantId, anchor } : { tenantId }));

  it('a changed field (UPDATE by the table owner)', async () => {
    const tenant = await freshChain(5);
    await owner`update audit_log set details = 'nothing to see' where tenant_id = ${tenant} and seq = 3`;
    expect(await verifyAsOwner(tenant)).toMatchObject({ ok: false, brokenAtSeq: 3, reason: 'hash_mismatch' });
  });

  it('a changed field whose hash was recomputed breaks the next link', async () => {
    const tenant = await freshChain(5);
    await owner`update audit_log set outcome = 'denied', hash = repeat('a', 64) where tenant_id = ${tenant} and seq = 2`;
    const v = await verifyAsOwner(tenant);
    expect(v).toMatchObject({ ok: false, brokenAtSeq: 2 });
  });

  it('a removed row', async () => {
    const tenant = await freshChain(5);
    await owner`delete from audit_log where tenant_id = ${tenant} and seq = 4`;
    expect(await verifyAsOwner(tenant)).toMatchObject({ ok: false, brokenAtSeq: 4, reason: 'seq_gap' });
  });

  it('two rows swapped (their seq exchanged)', async () => {
    const tenant = await freshChain(5);
    await owner.begin(async (tx) => {
      await tx`update audit_log set seq = -2 where tenant_id = ${tenant} and seq = 2`;
      await tx`update audit_log set seq = 2 where tenant_id = ${tenant} and seq = 3`;
      await tx`update audit_log set seq = 3 where tenant_id = ${tenant} and seq = -2`;
    });
    expect(await verifyAsOwner(tenant)).toMatchObject({ ok: false, brokenAtSeq: 2 });
  });

  it('a truncated tail, against an anchored head', async () => {
    const tenant = await freshChain(4);
    const before = await verifyAsOwner(tenant);
    if (!before.ok) throw new Error('chain should verify');
    await owner`delete from audit_log where tenant_id = ${tenant} and seq = 4`;
    // Without an anchor the shorter chain is self-consistent; the anchor exposes the loss.
    expect(await verifyAsOwner(tenant)).toMatchObject({ ok: true, rows: 3 });
    expect(await verifyAsOwner(tenant, before.head)).toMatchObject({ ok: false, reason: 'anchor_missing' });
  });
});

describe('audit.list', () => {
  it('filters by action prefix, actor, target, outcome and time, and pages with a cursor', async () => {
    const tenant = asTenantId(randomUUID());
    await owner`insert into tenants (id, slug, name) values (${tenant}, ${`desk-${tenant.slice(0, 8)}`}, 'List desk')`;
    const other = { type: 'api_key' as const, id: 'key-1' };
    for (let i = 0; i < 12; i++) {
      await withTenant(app.db, tenant, (tx) =>
        audit.record(tx, {
          action: i % 3 === 0 ? 'auth.login' : 'orders.place',
          actor: i % 2 === 0 ? actor : other,
          targetType: 'order',
          targetId: `t-${i}`,
          outcome: i === 5 ? 'denied' : 'ok',
        }),
      );
    }
    const inTenant = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(app.db, tenant, fn);

    const orders = await inTenant((tx) => audit.list(tx, { tenantId: tenant, action: 'orders.' }));
    expect(orders.items).toHaveLength(8);
    expect(orders.items.every((r) => r.action === 'orders.place')).toBe(true);
    // LIKE metacharacters in a filter match literally.
    expect((await inTenant((tx) => audit.list(tx, { tenantId: tenant, action: '%*' }))).items).toHaveLength(
      0,
    );

    const byKey = await inTenant((tx) =>
      audit.list(tx, { tenantId: tenant, actorType: 'api_key', actorId: 'key-1' }),
    );
    expect(byKey.items).toHaveLength(6);
    expect(
      (await inTenant((tx) => audit.list(tx, { tenantId: tenant, targetId: 't-7' }))).items.map((r) => r.seq),
    ).toEqual([8]);
    expect(
      (await inTenant((tx) => audit.list(tx, { tenantId: tenant, outcome: 'denied' }))).items.map(
        (r) => r.seq,
      ),
    ).toEqual([6]);
    const future = new Date(Date.now() + 3_600_000);
    expect((await inTenant((tx) => audit.list(tx, { tenantId: tenant, from: future }))).items).toHaveLength(
      0,
    );
    expect((await inTenant((tx) => audit.list(tx, { tenantId: tenant, to: future }))).items).toHaveLength(12);

    const seen: number[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await inTenant((tx) =>
        audit.list(tx, { tenantId: tenant, limit: 5, ...(cursor ? { cursor } : {}) }),
      );
      seen.push(...page.items.map((r) => r.seq));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    await expect(inTenant((tx) => audit.list(tx, { tenantId: tenant, cursor: 'garbage' }))).rejects.toThrow(
      /invalid cursor/,
    );
  });
});

describe('platform chain (tenant null)', () => {
  it('is separate from every desk chain', async () => {
    const r1 = await audit.record(app.db, {
      tenantId: null,
      action: 'auth.login',
      actor: { type: 'user', id: null },
      outcome: 'failed',
      ip: '203.0.113.9',
      payload: { email: 'nobody@example.com', password: 'wrong-password' },
    });
    const r2 = await audit.record(app.db, {
      tenantId: null,
      action: 'desks.create',
      actor,
      targetType: 'tenant',
      targetId: tenantA,
    });
    expect(r2.seq).toBe(r1.seq + 1);
    expect(await audit.verify(app.db, { tenantId: null })).toMatchObject({ ok: true, rows: r2.seq });
  });

  it('stores explicit IPs as PostgreSQL normalizes them and drops invalid ones, keeping the chain valid', async () => {
    const ips = [
      '2001:DB8:0:0:0:0:0:1',
      '::ffff:192.0.2.1',
      'fe80::1%eth0',
      '198.51.100.7',
      'not-an-ip',
      "1.2.3.4'; drop table x;--",
    ];
    const stored: (string | null)[] = [];
    for (const ip of ips) {
      const r = await audit.record(app.db, {
        tenantId: null,
        action: 'auth.login',
        actor,
        ip,
        outcome: 'failed',
      });
      const [row] = await owner<
        { ip: string | null }[]
      >`select host(ip) as ip from audit_log where id = ${r.id}`;
      stored.push(row!.ip);
    }
    expect(stored).toEqual(['2001:db8::1', '::ffff:192.0.2.1', 'fe80::1', '198.51.100.7', null, null]);
    expect(await audit.verify(app.db, { tenantId: null })).toMatchObject({ ok: true });
  });
});
