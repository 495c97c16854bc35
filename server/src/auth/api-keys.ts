import { timingSafeEqual } from 'node:crypto';
import { apiKeys, users } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { type ApiKeyId, asTenantId, asUserId, type TenantId, type UserId } from '@aegis/shared/ids';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db, Queryable, Tx } from '../db/database.ts';
import { authInvalidations } from './auth-cache.ts';
import type { ApiKeyScope } from './permissions.ts';
import type { ApiKeyRecord, AuthUser } from './principal.ts';
import { toAuthUser } from './session.ts';

/**
 * API keys for scripts: `aegis_<prefix>_<secret>`.
 * - prefix: 10 random bytes, base32 (16 chars): public, unique, the lookup handle shown in lists;
 * - secret: 32 random bytes, base32 (52 chars): shown once at creation, never stored.
 *
 * The database keeps SHA-256(secret). A fast hash is right here, unlike for passwords: the
 * secret is 256 bits from the CSPRNG, so no dictionary or brute force can reach it and a slow
 * KDF would only add latency to every API call. (Passwords are low-entropy and need argon2.)
 * Comparison is constant-time so response timing reveals nothing about a partial match.
 *
 * Lookup happens before the request has a tenant, so it goes through the SECURITY DEFINER
 * function `aegis_auth_api_key(prefix)` (RLS stays forced for every other read of api_keys).
 */

const KEY_PATTERN = /^aegis_([a-z2-7]{16})_([a-z2-7]{52})$/;

export const isApiKeyShape = (token: string): boolean => token.startsWith('aegis_');

function randomBase32(bytes: number): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return encodeBase32LowerCaseNoPadding(b);
}

const hashSecret = (secret: string) => encodeHexLowerCase(sha256(new TextEncoder().encode(secret)));

export interface CreatedApiKey {
  /** The full key: returned once, never retrievable again. */
  readonly key: string;
  readonly record: ApiKeyRecord & { readonly createdAt: Date };
}

/** Runs inside the desk's tenant transaction. */
export async function createApiKey(
  tx: Tx,
  input: {
    tenantId: TenantId;
    userId: UserId;
    name: string;
    scopes: readonly ApiKeyScope[];
    expiresAt: Date | null;
  },
): Promise<CreatedApiKey> {
  const prefix = randomBase32(10);
  const secret = randomBase32(32);
  const [row] = await tx
    .insert(apiKeys)
    .values({
      tenantId: input.tenantId,
      userId: input.userId,
      name: input.name,
      prefix,
      secretHash: hashSecret(secret),
      scopes: [...new Set(input.scopes)].sort(),
      expiresAt: input.expiresAt,
    })
    .returning();
  if (!row) throw new Error('api key insert returned no row');
  return { key: `aegis_${prefix}_${secret}`, record: { ...toRecord(row), createdAt: row.createdAt } };
}

interface AuthApiKeyRow extends Record<string, unknown> {
  id: string;
  tenant_id: string;
  user_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  scopes: string[];
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
}

const asDate = (v: Date | string | null): Date | null =>
  v === null ? null : v instanceof Date ? v : new Date(v);

/** Resolves a presented key to its record and user, or null (unknown, wrong secret, revoked, expired). */
export async function verifyApiKey(
  db: Db,
  token: string,
  now = new Date(),
): Promise<{ apiKey: ApiKeyRecord; user: AuthUser } | null> {
  const m = KEY_PATTERN.exec(token);
  if (!m) return null;
  const [, prefix, secret] = m as unknown as [string, string, string];
  const rows = await db.execute<AuthApiKeyRow>(sql`select * from aegis_auth_api_key(${prefix})`);
  const row = rows[0];
  const presented = Buffer.from(hashSecret(secret));
  // Compare even when no row matched, against a fixed value, so both paths do the same work.
  const stored = Buffer.from(row?.secret_hash ?? '0'.repeat(64));
  const match = stored.length === presented.length && timingSafeEqual(stored, presented);
  if (!row || !match) return null;
  if (row.revoked_at !== null) return null;
  const expiresAt = asDate(row.expires_at);
  if (expiresAt && expiresAt.getTime() <= now.getTime()) return null;
  const [user] = await db.select().from(users).where(eq(users.id, row.user_id)).limit(1);
  if (!user || user.disabledAt) return null;
  return {
    apiKey: {
      id: row.id,
      tenantId: asTenantId(row.tenant_id),
      userId: asUserId(row.user_id),
      name: row.name,
      prefix: row.prefix,
      scopes: row.scopes.filter(isScope),
      expiresAt,
      lastUsedAt: asDate(row.last_used_at),
    },
    user: toAuthUser(user),
  };
}

const isScope = (s: string): s is ApiKeyScope => s === 'read' || s === 'trade' || s === 'admin';

/** Records use at most once a minute per key, so reads do not turn into a write per request. */
export async function touchApiKeyLastUsed(
  tx: Queryable,
  key: ApiKeyRecord,
  now = new Date(),
): Promise<boolean> {
  if (key.lastUsedAt && now.getTime() - key.lastUsedAt.getTime() < 60_000) return false;
  await tx.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, key.id));
  return true;
}

export interface ApiKeyListItem {
  readonly id: string;
  readonly userId: UserId;
  readonly name: string;
  readonly prefix: string;
  readonly scopes: ApiKeyScope[];
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
}

/** Keys of the desk (RLS scopes the transaction to it); `userId` narrows to one user's keys. */
export async function listApiKeys(tx: Tx, filter: { userId?: UserId }): Promise<ApiKeyListItem[]> {
  const rows = await tx
    .select()
    .from(apiKeys)
    .where(filter.userId ? eq(apiKeys.userId, filter.userId) : undefined)
    .orderBy(desc(apiKeys.createdAt))
    .limit(500);
  return rows.map((r) => ({
    id: r.id,
    userId: asUserId(r.userId),
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes.filter(isScope),
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
    lastUsedAt: r.lastUsedAt,
  }));
}

/** Revokes a key of the desk; `ownerId` restricts it to that user's keys. Not found ⇒ NOT_FOUND. */
export async function revokeApiKey(tx: Tx, keyId: ApiKeyId, ownerId: UserId | null, now = new Date()) {
  const where = ownerId
    ? and(eq(apiKeys.id, keyId), eq(apiKeys.userId, ownerId), isNull(apiKeys.revokedAt))
    : and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt));
  const [row] = await tx.update(apiKeys).set({ revokedAt: now }).where(where).returning();
  if (!row) throw new AppError('NOT_FOUND', 'API key not found');
  // Every server stops accepting it before this transaction commits (auth-cache.ts).
  await authInvalidations.announce({ kind: 'api_key', keyId: row.id });
  return { id: row.id, prefix: row.prefix, revokedAt: now };
}

/** Revokes every key of a user on the current desk (role revoked) — RLS limits it to the desk. */
export async function revokeUserApiKeys(tx: Tx, userId: UserId, now = new Date()): Promise<number> {
  const rows = await tx
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (rows.length > 0) await authInvalidations.announce({ kind: 'user', userId });
  return rows.length;
}

function toRecord(row: typeof apiKeys.$inferSelect): ApiKeyRecord {
  return {
    id: row.id,
    tenantId: asTenantId(row.tenantId),
    userId: asUserId(row.userId),
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes.filter(isScope),
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
  };
}
