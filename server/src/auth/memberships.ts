import { tenants } from '@aegis/shared/db';
import type { Desk } from '@aegis/shared/schemas/identity';
import { eq, sql } from 'drizzle-orm';
import { type Db, withTenant } from '../db/database.ts';
import type { Role } from './permissions.ts';

/**
 * A user's desks, before any desk is chosen. memberships and tenants are tenant-scoped by RLS,
 * so this one cross-desk read goes through the SECURITY DEFINER function
 * `aegis_auth_memberships(user_id)`, which returns only that user's rows.
 */
interface MembershipRow extends Record<string, unknown> {
  tenant_id: string;
  role: Role;
  name?: string;
  slug?: string;
  tenant_name?: string;
  tenant_slug?: string;
}

export async function listUserDesks(db: Db, userId: string): Promise<Desk[]> {
  const rows = await db.execute<MembershipRow>(sql`select * from aegis_auth_memberships(${userId}::uuid)`);
  const desks: Desk[] = [];
  for (const r of rows) {
    let name = r.tenant_name ?? r.name;
    let slug = r.tenant_slug ?? r.slug;
    if (name === undefined || slug === undefined) {
      // The function returns ids and roles only: read the desk under its own tenant setting.
      const [t] = await withTenant(db, r.tenant_id, (tx) =>
        tx
          .select({ name: tenants.name, slug: tenants.slug })
          .from(tenants)
          .where(eq(tenants.id, r.tenant_id)),
      );
      name = t?.name ?? '(unknown desk)';
      slug = t?.slug ?? r.tenant_id;
    }
    desks.push({ id: r.tenant_id, role: r.role, name, slug });
  }
  desks.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return desks;
}
