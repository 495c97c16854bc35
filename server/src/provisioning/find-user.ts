import { asUserId, type TenantId, type UserId } from '@aegis/shared/ids';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';

/** The most users one search returns (exact match first, then by email). */
export const FIND_USERS_MAX = 20;

const UTC_MS_ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

export interface FoundUser {
  userId: UserId;
  email: string;
  displayName: string;
  isPlatformAdmin: boolean;
  disabled: boolean;
  disabledAt: string | null;
  createdAt: string;
  /** The user's desks, read from `tenants`. */
  desks: { id: TenantId; slug: string; name: string; role: 'admin' | 'trader' | 'viewer' }[];
  /** The newest successful sign-in: a live session's start or the platform audit chain's row. */
  lastSignInAt: string | null;
  /** The newest failed sign-in of the account (platform audit chain). */
  lastFailedSignInAt: string | null;
}

/**
 * Users whose email equals `query` or starts with it, case-insensitively, across every desk,
 * with their desks and roles and when they last signed in. For platform administrators: the
 * caller authorizes before calling. Memberships are read through `aegis_auth_memberships` (the
 * table is desk-scoped by RLS); sign-ins from the platform chain, read without a desk setting.
 */
export async function findUsers(db: Db, query: string): Promise<FoundUser[]> {
  const q = query.trim().toLowerCase();
  const prefix = `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', '', true)`);
    const rows = (await tx.execute(sql`
      select u.id::text as user_id, u.email, u.display_name, u.is_platform_admin,
             to_char(u.disabled_at at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as disabled_at,
             to_char(u.created_at at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as created_at,
             coalesce((
               select json_agg(json_build_object('id', t.id, 'slug', t.slug, 'name', t.name, 'role', m.role)
                               order by t.name, t.id)
               from aegis_auth_memberships(u.id) m join tenants t on t.id = m.tenant_id), '[]'::json) as desks,
             to_char(greatest(
               (select max(s.created_at) from sessions s where s.user_id = u.id),
               (select max(a.ts) from audit_log a
                 where a.tenant_id is null and a.action = 'auth.login' and a.outcome = 'ok'
                   and a.actor_id = u.id::text)
             ) at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as last_sign_in_at,
             to_char((select max(a.ts) from audit_log a
                 where a.tenant_id is null and a.action = 'auth.login' and a.outcome = 'failed'
                   and a.actor_id = u.id::text) at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as last_failed_sign_in_at
      from users u
      where lower(u.email) like ${prefix}
      order by (lower(u.email) = ${q}) desc, lower(u.email), u.id
      limit ${FIND_USERS_MAX}`)) as unknown as Array<{
      user_id: string;
      email: string;
      display_name: string;
      is_platform_admin: boolean;
      disabled_at: string | null;
      created_at: string;
      desks: FoundUser['desks'];
      last_sign_in_at: string | null;
      last_failed_sign_in_at: string | null;
    }>;
    return rows.map((r) => ({
      userId: asUserId(r.user_id),
      email: r.email,
      displayName: r.display_name,
      isPlatformAdmin: r.is_platform_admin,
      disabled: r.disabled_at !== null,
      disabledAt: r.disabled_at,
      createdAt: r.created_at,
      desks: r.desks,
      lastSignInAt: r.last_sign_in_at,
      lastFailedSignInAt: r.last_failed_sign_in_at,
    }));
  });
}

/** Every desk, with the caller's role where it has one and the number of members. */
export async function listAllDesks(db: Db, callerId: UserId) {
  const rows = (await db.execute(sql`
    select t.id::text as id, t.slug, t.name,
           to_char(t.created_at at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as created_at,
           (select m.role from aegis_auth_memberships(${callerId}::uuid) m where m.tenant_id = t.id) as role
    from tenants t order by t.name, t.id`)) as unknown as Array<{
    id: string;
    slug: string;
    name: string;
    created_at: string;
    role: 'admin' | 'trader' | 'viewer' | null;
  }>;
  return rows.map((r) => ({ id: r.id, slug: r.slug, name: r.name, role: r.role, createdAt: r.created_at }));
}
