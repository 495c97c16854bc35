import type { TenantId, UserId } from '@aegis/shared/ids';
import type { Desk } from '@aegis/shared/schemas/identity';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import type { AuthCache } from './auth-cache.ts';
import type { Role } from './permissions.ts';

/**
 * A user's desks, before any desk is chosen. memberships is tenant-scoped by RLS, so this one
 * cross-desk read goes through the SECURITY DEFINER function `aegis_auth_memberships(user_id)`
 * (drizzle/0002_rls.sql), which returns only that user's (tenant_id, role) rows. tenants itself
 * is not tenant-owned (no RLS): names and slugs are read directly.
 */
interface MembershipRow extends Record<string, unknown> {
  tenant_id: string;
  role: Role;
}

interface DeskRow extends Record<string, unknown> {
  id: string;
  name: string;
  slug: string;
  role: Role;
}

export async function listUserDesks(db: Db, userId: UserId): Promise<Desk[]> {
  // One round trip: the memberships (through the function) joined with the desks' names.
  const rows = await db.execute<DeskRow>(
    sql`select t.id, t.name, t.slug, m.role from aegis_auth_memberships(${userId}::uuid) m join tenants t on t.id = m.tenant_id`,
  );
  return rows
    .map((d) => ({ id: d.id, name: d.name, slug: d.slug, role: d.role }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/**
 * listUserDesks for display (`auth.me`, `desks.list`), served from the auth cache for its few
 * seconds when there is one. Membership changes announce the user (auth-cache.ts), so a granted or
 * revoked desk shows on the next request; authorization never reads this list.
 */
export async function listUserDesksCached(
  deps: { readonly db: Db; readonly authCache?: AuthCache | undefined },
  userId: UserId,
): Promise<Desk[]> {
  const cached = deps.authCache?.desks(userId);
  if (cached) return [...cached]; // a copy: the cached list is shared by every request
  const readStartedAt = Date.now();
  const desks = await listUserDesks(deps.db, userId);
  deps.authCache?.putDesks(userId, desks, readStartedAt);
  return desks;
}

/**
 * The user's role on one desk, or null: one round trip and no transaction, for checks that
 * repeat often (open subscriptions re-check it on every event).
 */
export async function roleOnDesk(db: Db, userId: UserId, tenantId: TenantId): Promise<Role | null> {
  const rows = await db.execute<MembershipRow>(
    sql`select tenant_id, role from aegis_auth_memberships(${userId}::uuid) where tenant_id = ${tenantId}::uuid`,
  );
  return rows[0]?.role ?? null;
}
