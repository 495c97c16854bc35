import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DatabaseHandle, withTenant, withTenantSql } from '../../src/db/client.ts';
import { orders } from '../../src/db/schema/index.ts';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '../../src/testing/database.ts';

/** Tables without tenant_id by design (platform-wide or market data). */
const NOT_TENANT_OWNED = ['users', 'sessions', 'tenants', 'instruments', 'ticks', 'features', 'signals'];

describe('row-level security', () => {
  let database: MigratedTestDatabase;
  let owner: Sql;
  let app: DatabaseHandle;
  const deskA = randomUUID();
  const deskB = randomUUID();
  const user = randomUUID();

  const orderRow = (tenantId: string, clientOrderId: string) => ({
    tenant_id: tenantId,
    client_order_id: clientOrderId,
    symbol: 'BTC-USD',
    side: 'buy',
    order_type: 'market',
    quantity: '1.5',
    origin: 'human',
  });

  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    owner = postgres(database.url, { max: 2, onnotice: () => {} });
    // Fixtures as the owner (a superuser here, so RLS does not apply to it).
    await owner`insert into tenants (id, slug, name) values (${deskA}, 'desk-a', 'Desk A'), (${deskB}, 'desk-b', 'Desk B')`;
    await owner`insert into users (id, email, display_name, password_hash) values (${user}, 'a@example.test', 'A', 'x')`;
    await owner`insert into memberships (tenant_id, user_id, role) values (${deskA}, ${user}, 'admin'), (${deskB}, ${user}, 'viewer')`;
    await owner`insert into orders ${owner([orderRow(deskA, 'a-1'), orderRow(deskA, 'a-2'), orderRow(deskB, 'b-1')])}`;
    await owner`insert into api_keys (tenant_id, user_id, name, prefix, secret_hash, scopes)
                values (${deskB}, ${user}, 'bot', 'pfx123', 'hash', ${['read']})`;
    await owner`insert into halts (scope, tenant_id, engaged) values ('global', null, false), ('desk', ${deskA}, true), ('desk', ${deskB}, false)`;
    app = createDb(database.appUrl, { max: 2 });
  });
  afterAll(async () => {
    await app?.close();
    await owner?.end();
    await database?.drop();
  });

  it('every table with a tenant_id column has RLS enabled, forced, and policies', async () => {
    const tables = await owner<{ relname: string; enabled: boolean; forced: boolean; policies: number }[]>`
      select c.relname, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
             (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
      from pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
        and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
      order by c.relname`;
    // A catalog query that finds nothing proves nothing.
    expect(tables.length).toBeGreaterThanOrEqual(22);
    const unprotected = tables
      .filter((t) => !t.enabled || !t.forced || t.policies === 0)
      .map((t) => t.relname);
    expect(unprotected).toEqual([]);
    for (const name of [
      'orders',
      'fills',
      'positions',
      'audit_log',
      'halts',
      'jobs',
      'orderflow_events',
      'equity_snapshots',
    ]) {
      expect(tables.map((t) => t.relname)).toContain(name);
    }
    const open =
      await owner`select relname from pg_class where relname = any(${NOT_TENANT_OWNED}) and relrowsecurity`;
    expect(open).toHaveLength(0);
  });

  it('without app.tenant_id the application role sees no desk rows', async () => {
    expect(await app.sql`select * from orders`).toHaveLength(0);
    expect(await app.sql`select * from memberships`).toHaveLength(0);
    expect(await app.sql`select * from api_keys`).toHaveLength(0);
    expect(await app.db.select().from(orders)).toHaveLength(0);
  });

  it("with desk A's id it sees exactly desk A's rows, through raw SQL and drizzle", async () => {
    const raw = await withTenantSql(
      app.sql,
      deskA,
      (tx) => tx`select client_order_id from orders order by 1`,
    );
    expect(raw.map((r) => r.client_order_id)).toEqual(['a-1', 'a-2']);
    const viaDrizzle = await withTenant(app.db, deskA, (tx) =>
      tx.select().from(orders).orderBy(orders.clientOrderId),
    );
    expect(viaDrizzle.map((o) => o.clientOrderId)).toEqual(['a-1', 'a-2']);
    expect(viaDrizzle.every((o) => o.tenantId === deskA)).toBe(true);
    // Even naming desk B's row explicitly finds nothing.
    const probe = await withTenant(app.db, deskA, (tx) =>
      tx.select().from(orders).where(eq(orders.tenantId, deskB)),
    );
    expect(probe).toHaveLength(0);
    // The setting ends with the transaction: the pooled connection is clean afterwards.
    expect(await app.sql`select * from orders`).toHaveLength(0);
  });

  it("writing desk B's rows while acting for desk A fails", async () => {
    await expect(
      withTenantSql(app.sql, deskA, (tx) => tx`insert into orders ${tx(orderRow(deskB, 'sneaky'))}`),
    ).rejects.toMatchObject({ code: '42501' });
    // Moving an own row to another desk is refused too (WITH CHECK on update).
    await expect(
      withTenantSql(
        app.sql,
        deskA,
        (tx) => tx`update orders set tenant_id = ${deskB} where client_order_id = 'a-1'`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    // Updates and deletes of desk B's rows silently match nothing.
    const touched = await withTenantSql(
      app.sql,
      deskA,
      (tx) => tx`delete from orders where tenant_id = ${deskB}`,
    );
    expect(touched.count).toBe(0);
    const [left] = await owner`select count(*)::int as n from orders where tenant_id = ${deskB}`;
    expect(left?.n).toBe(1);
    // Own rows work.
    await withTenantSql(app.sql, deskA, (tx) => tx`insert into orders ${tx(orderRow(deskA, 'a-3'))}`);
  });

  it('halts: the global row is visible to every desk, desk rows only to their desk', async () => {
    const seenByA = await withTenantSql(
      app.sql,
      deskA,
      (tx) => tx`select scope, tenant_id from halts order by scope`,
    );
    expect(seenByA).toEqual([
      { scope: 'desk', tenant_id: deskA },
      { scope: 'global', tenant_id: null },
    ]);
    // A desk cannot release the global switch (it matches no row for writing).
    const released = await withTenantSql(
      app.sql,
      deskA,
      (tx) => tx`update halts set engaged = false where scope = 'global'`,
    );
    expect(released.count).toBe(0);
    // Platform context (no desk) may engage it, and sees no desk rows.
    const engaged = await app.sql`update halts set engaged = true where scope = 'global'`;
    expect(engaged.count).toBe(1);
    expect((await app.sql`select scope from halts`).map((r) => r.scope)).toEqual(['global']);
  });

  it('audit_log: desk trails and the platform chain never see each other', async () => {
    await withTenantSql(
      app.sql,
      deskA,
      (tx) => tx`insert into audit_log (tenant_id, seq, actor_type, action, payload_digest, prev_hash, hash)
                 values (${deskA}, 1, 'user', 'order.place', 'd', 'p', 'h')`,
    );
    await app.sql`insert into audit_log (tenant_id, seq, actor_type, action, payload_digest, prev_hash, hash)
                  values (null, 1, 'system', 'login.failed', 'd', 'p', 'h')`;
    await expect(
      withTenantSql(
        app.sql,
        deskA,
        (tx) => tx`insert into audit_log (tenant_id, seq, actor_type, action, payload_digest, prev_hash, hash)
                   values (null, 2, 'user', 'forged.platform', 'd', 'p', 'h')`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    expect(
      (await withTenantSql(app.sql, deskA, (tx) => tx`select action from audit_log`)).map((r) => r.action),
    ).toEqual(['order.place']);
    expect((await withTenantSql(app.sql, deskB, (tx) => tx`select action from audit_log`)).length).toBe(0);
    expect((await app.sql`select action from audit_log`).map((r) => r.action)).toEqual(['login.failed']);
  });

  it('jobs: the dispatcher (no desk) sees all, a desk only its own', async () => {
    await owner`insert into jobs (tenant_id, kind) values (null, 'partition_upkeep'), (${deskA}, 'reconcile'), (${deskB}, 'reconcile')`;
    expect(await app.sql`select id from jobs`).toHaveLength(3);
    const seenByB = await withTenantSql(app.sql, deskB, (tx) => tx`select tenant_id from jobs`);
    expect(seenByB).toEqual([{ tenant_id: deskB }]);
  });

  it('pre-tenant lookups work before a desk is known, and only through the functions', async () => {
    const memberships = await app.sql`select * from aegis_auth_memberships(${user}) order by role`;
    expect(memberships).toEqual([
      { tenant_id: deskA, role: 'admin' },
      { tenant_id: deskB, role: 'viewer' },
    ]);
    const [key] = await app.sql`select * from aegis_auth_api_key('pfx123')`;
    expect(key).toMatchObject({ tenant_id: deskB, user_id: user, prefix: 'pfx123', secret_hash: 'hash' });
    expect(await app.sql`select * from aegis_auth_api_key('nope')`).toHaveLength(0);
    // The definer functions do not open the tables themselves to the role.
    expect(await app.sql`select * from memberships`).toHaveLength(0);
    // SECURITY DEFINER with a pinned search_path: a caller's objects cannot shadow the tables.
    const [fns] = await owner`
      select bool_and(prosecdef) as definer, bool_and(proconfig::text like '%search_path=pg_catalog, public%') as pinned
      from pg_proc where proname in ('aegis_auth_memberships', 'aegis_auth_api_key')`;
    expect(fns).toEqual({ definer: true, pinned: true });
  });

  it('migration-only helpers and definer functions are not executable by PUBLIC', async () => {
    const rows = await owner<{ proname: string; public_exec: boolean; app_exec: boolean }[]>`
      select p.proname,
             has_function_privilege('public', p.oid, 'EXECUTE') as public_exec,
             has_function_privilege(${database.appRole}, p.oid, 'EXECUTE') as app_exec
      from pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname like 'aegis\\_%'
        and (p.prosecdef or p.proname like 'aegis\\_ddl\\_%')`;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.public_exec, r.proname).toBe(false);
      expect(r.app_exec, r.proname).toBe(!r.proname.startsWith('aegis_ddl_'));
    }
  });
});
