import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrationStatus } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../../src/testing/database.ts';
import { TEST_ADMIN_DATABASE_URL, TEST_APP_ROLE } from '../../src/testing/services.ts';

/** Everything a migration could change in schema public, in a comparable form. */
async function catalogSnapshot(sql: Sql): Promise<unknown> {
  const relations = await sql`
    select c.relname, c.relkind::text, c.relrowsecurity, c.relforcerowsecurity,
           coalesce(c.relacl::text, '') as acl, pg_get_userbyid(c.relowner) as owner
    from pg_class c where c.relnamespace = 'public'::regnamespace order by c.relname`;
  const columns = await sql`
    select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull,
           coalesce(pg_get_expr(d.adbin, d.adrelid), '') as def
    from pg_attribute a join pg_class c on c.oid = a.attrelid
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where c.relnamespace = 'public'::regnamespace and a.attnum > 0 and not a.attisdropped
    order by c.relname, a.attnum`;
  const constraints = await sql`
    select conrelid::regclass::text as rel, conname, pg_get_constraintdef(oid) as def
    from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`;
  const indexes =
    await sql`select indexname, indexdef from pg_indexes where schemaname = 'public' order by 1`;
  const policies = await sql`
    select polrelid::regclass::text as rel, polname, polcmd::text,
           coalesce(pg_get_expr(polqual, polrelid), '') as using_expr,
           coalesce(pg_get_expr(polwithcheck, polrelid), '') as check_expr
    from pg_policy order by 1, 2`;
  const routines = await sql`
    select p.oid::regprocedure::text as sig, md5(p.prosrc) as src, p.prosecdef, coalesce(p.proacl::text, '') as acl
    from pg_proc p where p.pronamespace = 'public'::regnamespace order by 1`;
  const migrations = await sql`select hash, created_at from drizzle.__drizzle_migrations order by id`;
  return { relations, columns, constraints, indexes, policies, routines, migrations };
}

describe('migrations', () => {
  let database: TestDatabase;
  let owner: Sql;

  beforeAll(async () => {
    database = await createTestDatabase();
    owner = postgres(database.url, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await owner?.end();
    await database?.drop();
  });

  it('applies every migration from zero, then nothing, and the second run changes nothing', async () => {
    const before = await migrationStatus(database.url);
    expect(before.current).toBe(false);
    expect(before.pending[0]).toBe('0000_init');

    const first = await migrate({ ownerUrl: database.url, appRole: { name: TEST_APP_ROLE } });
    expect(first.applied).toEqual(before.pending);
    expect(first.applied).toEqual(expect.arrayContaining(['0000_init', '0001_timeseries', '0002_rls']));
    expect(first.timeseries).toBe('native-partitions');
    expect(first.appRole).toBe(TEST_APP_ROLE);
    expect(await migrationStatus(database.url)).toEqual({ current: true, pending: [] });

    const snapshot = await catalogSnapshot(owner);
    const second = await migrate({ ownerUrl: database.url, appRole: { name: TEST_APP_ROLE } });
    expect(second.applied).toEqual([]);
    expect(await catalogSnapshot(owner)).toEqual(snapshot);
  });

  it('two runners started together apply each migration once (advisory lock)', async () => {
    const other = await createTestDatabase();
    try {
      const [a, b] = await Promise.all([
        migrate({ ownerUrl: other.url, appRole: { name: TEST_APP_ROLE } }),
        migrate({ ownerUrl: other.url, appRole: { name: TEST_APP_ROLE } }),
      ]);
      const applied = [...a.applied, ...b.applied].sort();
      const sql = postgres(other.url, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
        expect(rows[0]?.n).toBe(applied.length);
        expect(new Set(applied).size).toBe(applied.length);
      } finally {
        await sql.end();
      }
    } finally {
      await other.drop();
    }
  });

  it('the application role is a plain login role that owns nothing', async () => {
    const [role] = await owner`
      select rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolreplication, rolcanlogin
      from pg_roles where rolname = ${TEST_APP_ROLE}`;
    expect(role).toEqual({
      rolsuper: false,
      rolbypassrls: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolcanlogin: true,
    });
    const owned = await owner`
      select c.relname from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = ${TEST_APP_ROLE}
      union all
      select p.proname from pg_proc p join pg_roles r on r.oid = p.proowner where r.rolname = ${TEST_APP_ROLE}
      union all
      select n.nspname from pg_namespace n join pg_roles r on r.oid = n.nspowner where r.rolname = ${TEST_APP_ROLE}`;
    expect(owned).toHaveLength(0);
  });

  it('the application role may append to audit_log but never change or remove a row', async () => {
    const appUrl = new URL(database.url);
    appUrl.username = TEST_APP_ROLE;
    const app = postgres(appUrl.toString(), { max: 1, onnotice: () => {} });
    try {
      // Platform chain (tenant_id null): allowed without a desk set.
      await app`insert into audit_log (tenant_id, seq, actor_type, action, payload_digest, prev_hash, hash)
                values (null, 1, 'system', 'test.append', 'd', 'p', 'h')`;
      expect(await app`select seq from audit_log`).toHaveLength(1);
      await expect(app`update audit_log set action = 'tampered'`).rejects.toMatchObject({ code: '42501' });
      await expect(app`delete from audit_log`).rejects.toMatchObject({ code: '42501' });
      await expect(app`truncate audit_log`).rejects.toMatchObject({ code: '42501' });
      // And no DDL: the role owns nothing and may not create in public.
      await expect(app.unsafe('alter table audit_log disable row level security')).rejects.toMatchObject({
        code: '42501',
      });
      await expect(app.unsafe('create table evil (id int)')).rejects.toMatchObject({ code: '42501' });
      // /health/ready runs as this role.
      expect(await migrationStatus(app)).toEqual({ current: true, pending: [] });
    } finally {
      await app.end();
    }
  });

  it('works with a non-superuser owner: RLS binds it, the auth functions still see what they must', async () => {
    const ownerRole = 'aegis_owner_test';
    const appRole = 'aegis_app_owner_test';
    const admin = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
    const dbName = `aegis_test_${Date.now().toString(36)}_owner`;
    try {
      try {
        await admin.unsafe(`CREATE ROLE ${ownerRole} LOGIN NOSUPERUSER CREATEROLE NOBYPASSRLS`);
      } catch (err) {
        // Another run created it first (roles are cluster-wide).
        if (!['42710', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
      }
      await admin.unsafe(`CREATE DATABASE "${dbName}" OWNER ${ownerRole}`);
      const ownerUrl = new URL(TEST_ADMIN_DATABASE_URL);
      ownerUrl.username = ownerRole;
      ownerUrl.pathname = `/${dbName}`;
      const result = await migrate({ ownerUrl: ownerUrl.toString(), appRole: { name: appRole } });
      expect(result.applied.length).toBeGreaterThanOrEqual(3);

      const own = postgres(ownerUrl.toString(), { max: 1, onnotice: () => {} });
      const appUrl = new URL(ownerUrl);
      appUrl.username = appRole;
      const app = postgres(appUrl.toString(), { max: 1, onnotice: () => {} });
      try {
        const desk = '00000000-0000-4000-8000-0000000000d1';
        const user = '00000000-0000-4000-8000-0000000000e1';
        await own`insert into tenants (id, slug, name) values (${desk}, 'd', 'D')`;
        await own`insert into users (id, email, display_name, password_hash) values (${user}, 'o@example.test', 'O', 'x')`;
        // FORCE RLS binds the owner too: it must name the desk to write desk rows.
        await expect(
          own`insert into memberships (tenant_id, user_id, role) values (${desk}, ${user}, 'trader')`,
        ).rejects.toMatchObject({
          code: '42501',
        });
        await own.begin(async (tx) => {
          await tx`select set_config('app.tenant_id', ${desk}, true)`;
          await tx`insert into memberships (tenant_id, user_id, role) values (${desk}, ${user}, 'trader')`;
        });
        expect(await app`select * from aegis_auth_memberships(${user})`).toEqual([
          { tenant_id: desk, role: 'trader' },
        ]);
        expect(await app`select * from memberships`).toHaveLength(0);
        // Definer upkeep and refresh run with the owner's rights for the app role.
        expect(await app`select * from aegis_partition_upkeep(1)`).toHaveLength(6);
        await app`call aegis_refresh_bars(now() - interval '1 hour', now())`;
      } finally {
        await app.end();
        await own.end();
      }
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
