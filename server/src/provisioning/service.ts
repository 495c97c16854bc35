import { randomUUID } from 'node:crypto';
import { agentSettings, memberships, tenants, users } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { asTenantId, asUserId, type TenantId, type UserId } from '@aegis/shared/ids';
import type { Member } from '@aegis/shared/schemas/identity';
import { and, asc, count, eq, sql } from 'drizzle-orm';
import { revokeUserApiKeys } from '../auth/api-keys.ts';
import { authInvalidations } from '../auth/auth-cache.ts';
import { checkPasswordPolicy, generateOneTimePassword, PasswordHasher } from '../auth/password.ts';
import type { Role } from '../auth/permissions.ts';
import { invalidateUserSessions } from '../auth/session.ts';
import { type Db, type Tx, withTenant } from '../db/database.ts';

/**
 * Provisioning: there is no public sign-up. The first administrator is created by the main
 * command (or `npm run aegis -- admin create`); after that, administrators create desks and
 * users and grant roles. Audit rows for these actions are written by the callers (routers),
 * inside the same transaction where there is one.
 */

const UNIQUE_VIOLATION = '23505';
const isUniqueViolation = (e: unknown, constraint?: string): boolean => {
  const err = (e as { cause?: unknown }).cause ?? e;
  const pg = err as { code?: string; constraint_name?: string };
  return pg.code === UNIQUE_VIOLATION && (constraint === undefined || pg.constraint_name === constraint);
};

export function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return base || 'desk';
}

/** Inserts a desk, its settings row and the creator's admin membership, in the desk's own scope. */
async function insertDesk(
  tx: Tx,
  id: string,
  name: string,
  creatorId: string,
): Promise<{ id: string; slug: string }> {
  const base = slugify(name);
  // Slugs are unique across desks; on a clash, a short random suffix (savepoint keeps the tx).
  for (let attempt = 0; ; attempt++) {
    const slug = attempt === 0 ? base : `${base}-${randomUUID().slice(0, 6)}`;
    try {
      await tx.transaction(async (sp) => {
        await sp.insert(tenants).values({ id, slug, name });
      });
      await tx.insert(memberships).values({ tenantId: id, userId: creatorId, role: 'admin' });
      await tx.insert(agentSettings).values({ tenantId: id, updatedBy: creatorId });
      // The creator's cached desk list (auth-cache.ts) gains the desk on their next request.
      await authInvalidations.announce({ kind: 'user', userId: creatorId });
      return { id, slug };
    } catch (e) {
      if (attempt < 5 && isUniqueViolation(e)) continue;
      throw e;
    }
  }
}

/**
 * Creates the first platform administrator (and the default desk "Main desk", with the admin as
 * its admin) when the platform has no user yet. Returns the one-time password ONCE, for the
 * caller to show on the operator's terminal; it is never logged. The admin must change it at
 * first sign-in. Serialized by an advisory lock, so concurrent starts create one admin.
 */
export async function createFirstAdminIfNone(
  db: Db,
  options: { email?: string; displayName?: string; passwords?: PasswordHasher } = {},
): Promise<{ email: string; password: string; deskId: string } | null> {
  const email = (options.email ?? 'admin@aegis.local').trim();
  const passwords = options.passwords ?? new PasswordHasher({ maxConcurrency: 1 });
  const password = generateOneTimePassword();
  const passwordHash = await passwords.hash(password);
  const deskId = randomUUID();
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('aegis.first-admin', 0))`);
    const [n] = await tx.select({ n: count() }).from(users);
    if ((n?.n ?? 0) > 0) return null;
    const [user] = await tx
      .insert(users)
      .values({
        email,
        displayName: options.displayName ?? 'Administrator',
        passwordHash,
        isPlatformAdmin: true,
        mustChangePassword: true,
      })
      .returning({ id: users.id });
    if (!user) throw new Error('user insert returned no row');
    await tx.execute(sql`select set_config('app.tenant_id', ${deskId}, true)`);
    await insertDesk(tx, deskId, 'Main desk', user.id);
    return { email, password, deskId };
  });
}

export async function createDesk(db: Db, input: { name: string; creatorId: string }) {
  const id = asTenantId(randomUUID());
  const desk = await withTenant(db, id, (tx) => insertDesk(tx, id, input.name, input.creatorId));
  return { id, slug: desk.slug, name: input.name, role: 'admin' as Role };
}

/**
 * Creates a user with a role on the current desk (tx is the desk's tenant transaction). With no
 * initial password given, a one-time one is generated and returned once. Either way the user
 * must change it at first sign-in.
 */
export async function createUser(
  tx: Tx,
  passwords: PasswordHasher,
  input: {
    tenantId: TenantId;
    email: string;
    displayName: string;
    role: Role;
    initialPassword?: string | undefined;
  },
): Promise<{ userId: UserId; oneTimePassword: string | null }> {
  const generated = input.initialPassword === undefined ? generateOneTimePassword() : null;
  const password = input.initialPassword ?? generated!;
  const problem = checkPasswordPolicy(password, { email: input.email });
  if (problem) throw new AppError('BAD_INPUT', `initialPassword ${problem}`, { field: 'initialPassword' });
  const passwordHash = await passwords.hash(password);
  let userId: UserId;
  try {
    userId = await tx.transaction(async (sp) => {
      const [u] = await sp
        .insert(users)
        .values({
          email: input.email.trim(),
          displayName: input.displayName,
          passwordHash,
          mustChangePassword: true,
        })
        .returning({ id: users.id });
      return asUserId(u!.id);
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError('CONFLICT', 'A user with this email already exists');
    throw e;
  }
  await tx.insert(memberships).values({ tenantId: input.tenantId, userId, role: input.role });
  return { userId, oneTimePassword: generated };
}

async function adminCount(tx: Tx, tenantId: TenantId): Promise<number> {
  const [r] = await tx
    .select({ n: count() })
    .from(memberships)
    .where(and(eq(memberships.tenantId, tenantId), eq(memberships.role, 'admin')));
  return r?.n ?? 0;
}

/**
 * Grants, changes (role) or revokes (null) a user's role on the current desk. Every session of
 * the user ends (they sign in again under the new role); on revocation their keys on this desk
 * are revoked. A desk always keeps at least one admin.
 */
export async function setRole(
  tx: Tx,
  input: {
    tenantId: TenantId;
    userId: UserId;
    role: Role | null;
    /**
     * Whether a user who is not yet a member may be added by id. Only platform admins may:
     * a desk admin acts on its own members only, so another desk's user ids are "not found".
     */
    mayAddExistingUser: boolean;
  },
): Promise<{ previousRole: Role | null; role: Role | null; sessionsEnded: number; keysRevoked: number }> {
  // Lock the desk's memberships: two admins demoting each other at once must not leave none.
  await tx.execute(
    sql`select 1 from ${memberships} where ${memberships.tenantId} = ${input.tenantId} for update`,
  );
  const [current] = await tx
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.tenantId, input.tenantId), eq(memberships.userId, input.userId)));
  const previousRole = current?.role ?? null;
  if (previousRole === null && input.role === null)
    throw new AppError('NOT_FOUND', 'User is not a member of this desk');
  if (previousRole === null) {
    if (!input.mayAddExistingUser) throw new AppError('NOT_FOUND', 'User is not a member of this desk');
    const [u] = await tx.select({ id: users.id }).from(users).where(eq(users.id, input.userId));
    if (!u) throw new AppError('NOT_FOUND', 'User not found');
  }
  if (previousRole === 'admin' && input.role !== 'admin' && (await adminCount(tx, input.tenantId)) <= 1) {
    throw new AppError('CONFLICT', 'A desk must keep at least one admin');
  }
  const now = new Date();
  if (input.role === null) {
    await tx
      .delete(memberships)
      .where(and(eq(memberships.tenantId, input.tenantId), eq(memberships.userId, input.userId)));
  } else if (previousRole === null) {
    await tx.insert(memberships).values({ tenantId: input.tenantId, userId: input.userId, role: input.role });
  } else {
    await tx
      .update(memberships)
      .set({ role: input.role, updatedAt: now })
      .where(and(eq(memberships.tenantId, input.tenantId), eq(memberships.userId, input.userId)));
  }
  const sessionsEnded = previousRole === input.role ? 0 : await invalidateUserSessions(tx, input.userId);
  const keysRevoked = input.role === null ? await revokeUserApiKeys(tx, input.userId, now) : 0;
  return { previousRole, role: input.role, sessionsEnded, keysRevoked };
}

/** Members of the current desk (tx is its tenant transaction). */
export async function listMembers(tx: Tx, tenantId: TenantId): Promise<Member[]> {
  const rows = await tx
    .select({
      userId: users.id,
      email: users.email,
      displayName: users.displayName,
      role: memberships.role,
      disabledAt: users.disabledAt,
      createdAt: memberships.createdAt,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.tenantId, tenantId))
    .orderBy(asc(users.email));
  return rows.map((r) => ({
    userId: r.userId,
    email: r.email,
    displayName: r.displayName,
    role: r.role,
    disabled: r.disabledAt !== null,
    createdAt: r.createdAt.toISOString(),
  }));
}

/**
 * Disables a user everywhere (platform admins): sign-in refused, sessions ended; API keys stop
 * working because key verification checks the user (their rows stay for the audit trail).
 */
export async function disableUser(db: Db, userId: UserId): Promise<{ sessionsEnded: number }> {
  return db.transaction(async (tx) => {
    const [u] = await tx
      .update(users)
      .set({ disabledAt: new Date(), updatedAt: new Date() })
      .where(and(eq(users.id, userId), sql`${users.disabledAt} is null`))
      .returning({ id: users.id });
    if (!u) throw new AppError('NOT_FOUND', 'User not found or already disabled');
    return { sessionsEnded: await invalidateUserSessions(tx, userId) };
  });
}
