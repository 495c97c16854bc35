import { sessions, users } from '@aegis/shared/db';
import {
  asSessionId,
  asTenantId,
  asUserId,
  type SessionId,
  type TenantId,
  type UserId,
} from '@aegis/shared/ids';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { and, desc, eq, gt, ne, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import type { ServerConfig } from '../env.ts';
import { authInvalidations } from './auth-cache.ts';
import type { AuthUser, SessionRecord } from './principal.ts';

/**
 * Sessions, following Lucia's reference design (lucia-auth/lucia `code/auth_session.ts`, the
 * Copenhagen Book):
 * - the token is 20 bytes from the CSPRNG (160 bits), base32 lower-case: 32 characters;
 * - only SHA-256(token) is stored, as the session id, so a database leak yields no usable token;
 * - sliding expiry: a session used in the second half of its idle window is extended to
 *   `now + idle`, never beyond its absolute lifetime;
 * - a new session on every login (no fixation), deleted on logout; password or role changes
 *   delete the user's other (or all) sessions.
 */

const TOKEN_PATTERN = /^[a-z2-7]{32}$/;

export function generateSessionToken(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

export function sessionIdOf(token: string): SessionId {
  return asSessionId(encodeHexLowerCase(sha256(new TextEncoder().encode(token))));
}

export const isSessionTokenShape = (token: string): boolean => TOKEN_PATTERN.test(token);

export interface CreateSessionInput {
  readonly userId: UserId;
  readonly activeTenantId: TenantId | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export async function createSession(
  db: Queryable,
  config: ServerConfig,
  input: CreateSessionInput,
  now = new Date(),
): Promise<{ token: string; session: SessionRecord }> {
  const token = generateSessionToken();
  const id = sessionIdOf(token);
  const absoluteExpiresAt = new Date(now.getTime() + config.session.absoluteMs);
  const expiresAt = new Date(Math.min(now.getTime() + config.session.idleMs, absoluteExpiresAt.getTime()));
  const [row] = await db
    .insert(sessions)
    .values({
      id,
      userId: input.userId,
      activeTenantId: input.activeTenantId,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      absoluteExpiresAt,
      ip: input.ip,
      userAgent: input.userAgent,
    })
    .returning();
  if (!row) throw new Error('session insert returned no row');
  return { token, session: toSessionRecord(row) };
}

export interface ValidatedSession {
  readonly session: SessionRecord;
  readonly user: AuthUser;
  /** True when the expiry slid forward: the cookie must be re-sent with the new expiry. */
  readonly refreshed: boolean;
}

/** Returns the live session for a token, or null (unknown, expired, user disabled). */
export async function validateSessionToken(
  db: Queryable,
  config: ServerConfig,
  token: string,
  now = new Date(),
): Promise<ValidatedSession | null> {
  if (!isSessionTokenShape(token)) return null;
  const id = sessionIdOf(token);
  const [row] = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, id))
    .limit(1);
  // No second, "constant-time" comparison: the row was found by equality on the id, so comparing
  // it with the id again could never fail. The lookup is by the SHA-256 of the token, not by the
  // token: how long the index takes to miss says nothing about the secret.
  if (!row) return null;
  const t = now.getTime();
  if (t >= row.session.expiresAt.getTime() || t >= row.session.absoluteExpiresAt.getTime()) {
    await db.delete(sessions).where(eq(sessions.id, id));
    return null;
  }
  if (row.user.disabledAt) {
    await db.delete(sessions).where(eq(sessions.id, id));
    return null;
  }
  let session = toSessionRecord(row.session);
  let refreshed = false;
  if (row.session.expiresAt.getTime() - t < config.session.idleMs / 2) {
    const expiresAt = new Date(Math.min(t + config.session.idleMs, row.session.absoluteExpiresAt.getTime()));
    if (expiresAt.getTime() > row.session.expiresAt.getTime()) {
      await db.update(sessions).set({ expiresAt, lastSeenAt: now }).where(eq(sessions.id, id));
      session = { ...session, expiresAt };
      refreshed = true;
    }
  }
  return { session, user: toAuthUser(row.user), refreshed };
}

export async function invalidateSession(db: Queryable, sessionId: SessionId): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, sessionId));
  await authInvalidations.announce({ kind: 'session', sessionId });
}

/** Deletes every session of a user, or every one but `exceptSessionId`. Returns how many. */
export async function invalidateUserSessions(
  db: Queryable,
  userId: UserId,
  exceptSessionId?: SessionId,
): Promise<number> {
  const where = exceptSessionId
    ? and(eq(sessions.userId, userId), ne(sessions.id, exceptSessionId))
    : eq(sessions.userId, userId);
  const rows = await db.delete(sessions).where(where).returning({ id: sessions.id });
  // Called on password change, role change and disabling: whatever is cached of the user goes.
  await authInvalidations.announce({ kind: 'user', userId });
  return rows.length;
}

export async function setSessionReauthenticated(db: Queryable, sessionId: SessionId, now = new Date()) {
  await db.update(sessions).set({ reauthenticatedAt: now }).where(eq(sessions.id, sessionId));
  await authInvalidations.announce({ kind: 'session', sessionId });
}

export async function setSessionActiveTenant(db: Queryable, sessionId: SessionId, tenantId: TenantId) {
  await db.update(sessions).set({ activeTenantId: tenantId }).where(eq(sessions.id, sessionId));
  await authInvalidations.announce({ kind: 'session', sessionId });
}

/** Removes expired sessions (run periodically; validation also deletes the ones it meets). */
export async function deleteExpiredSessions(db: Queryable, now = new Date()): Promise<number> {
  const rows = await db
    .delete(sessions)
    .where(sql`${sessions.expiresAt} <= ${now} or ${sessions.absoluteExpiresAt} <= ${now}`)
    .returning({ id: sessions.id });
  return rows.length;
}

function toSessionRecord(row: typeof sessions.$inferSelect): SessionRecord {
  return {
    id: asSessionId(row.id),
    userId: asUserId(row.userId),
    activeTenantId: row.activeTenantId === null ? null : asTenantId(row.activeTenantId),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    absoluteExpiresAt: row.absoluteExpiresAt,
    reauthenticatedAt: row.reauthenticatedAt,
  };
}

export function toAuthUser(row: typeof users.$inferSelect): AuthUser {
  return {
    id: asUserId(row.id),
    email: row.email,
    displayName: row.displayName,
    isPlatformAdmin: row.isPlatformAdmin,
    mustChangePassword: row.mustChangePassword,
  };
}

// ---- cookies ---------------------------------------------------------------------------------

/**
 * `__Host-` pins the cookie to this exact host, path `/`, and Secure; browsers reject a
 * `__Host-` cookie that is not Secure. On plain http (local development at http://localhost)
 * a Secure cookie would not be stored, so there the cookie is `aegis_session` without the prefix.
 */
export function sessionCookieName(config: Pick<ServerConfig, 'secureCookies'>): string {
  return config.secureCookies ? '__Host-aegis_session' : 'aegis_session';
}

export function serializeSessionCookie(
  config: Pick<ServerConfig, 'secureCookies'>,
  token: string,
  expiresAt: Date,
): string {
  const attrs = [
    `${sessionCookieName(config)}=${token}`,
    'HttpOnly',
    'SameSite=Lax',
    'Path=/',
    `Expires=${expiresAt.toUTCString()}`,
  ];
  if (config.secureCookies) attrs.push('Secure');
  return attrs.join('; ');
}

export function serializeBlankSessionCookie(config: Pick<ServerConfig, 'secureCookies'>): string {
  const attrs = [`${sessionCookieName(config)}=`, 'HttpOnly', 'SameSite=Lax', 'Path=/', 'Max-Age=0'];
  if (config.secureCookies) attrs.push('Secure');
  return attrs.join('; ');
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    // First occurrence wins (the most specific path comes first in browsers).
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

/** A user's live sessions, newest first (for "where am I signed in"). */
export async function listUserSessions(db: Queryable, userId: UserId, now = new Date()) {
  return db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
      expiresAt: sessions.expiresAt,
      ip: sql<string | null>`host(${sessions.ip})`,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, now), gt(sessions.absoluteExpiresAt, now)))
    .orderBy(desc(sessions.createdAt))
    .limit(200);
}

/** Ends one of the user's own sessions; false when there is no such session of theirs. */
export async function invalidateOwnSession(
  db: Queryable,
  userId: UserId,
  sessionId: SessionId,
): Promise<boolean> {
  const rows = await db
    .delete(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)))
    .returning({ id: sessions.id });
  if (rows.length > 0) await authInvalidations.announce({ kind: 'session', sessionId });
  return rows.length > 0;
}
