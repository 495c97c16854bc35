import { users } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { asTenantId, asUserId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import { eq, sql } from 'drizzle-orm';
import { audit } from '../audit/service.ts';
import type { Db } from '../db/database.ts';
import type { ServerConfig } from '../env.ts';
import { revokeUserApiKeys } from './api-keys.ts';
import {
  FALLBACK_LOGIN_POLICY,
  FailoverLoginThrottle,
  type LoginThrottle,
  MemoryLoginThrottle,
} from './login-throttle.ts';
import { listUserDesks } from './memberships.ts';
import { checkPasswordPolicy, type PasswordHasher } from './password.ts';
import type { AuthUser, SessionRecord } from './principal.ts';
import { createSession, invalidateUserSessions, setSessionReauthenticated, toAuthUser } from './session.ts';

/**
 * Credential checks: login, re-authentication, password change.
 *
 * Unknown user and wrong password are indistinguishable to the caller: the same error, and the
 * same work (an unknown user's attempt verifies against a dummy hash). Disabled users get the
 * same answer too. Every attempt is counted (login-throttle.ts) BEFORE its password is verified,
 * so the throttle bounds the argon2 work however the attempts arrive; success refunds it.
 */

export interface CredentialDeps {
  readonly db: Db;
  readonly config: ServerConfig;
  readonly passwords: PasswordHasher;
  readonly loginThrottle: LoginThrottle;
  readonly log: Logger;
}

export interface RequestMeta {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string;
}

const INVALID_CREDENTIALS = 'Invalid email or password';

async function findUserByEmail(db: Db, email: string) {
  const [row] = await db.select().from(users).where(sql`lower(${users.email}) = lower(${email})`).limit(1);
  return row;
}

/** A platform-chain row for the request: sign-ins and password checks belong to no desk. */
async function auditQuietly(
  deps: CredentialDeps,
  meta: RequestMeta,
  event: Omit<Parameters<typeof audit.record>[1], 'tenantId' | 'requestId' | 'ip'>,
) {
  try {
    await audit.record(deps.db, { ...event, tenantId: null, requestId: meta.requestId, ip: meta.ip });
  } catch (err) {
    // The action already happened (or was refused); losing its audit row is logged loudly.
    deps.log.error({ err, action: event.action }, 'audit record failed');
  }
}

export async function login(
  deps: CredentialDeps,
  input: { email: string; password: string },
  meta: RequestMeta,
): Promise<{ token: string; session: SessionRecord; user: AuthUser }> {
  const email = input.email.trim();
  const attempt = await deps.loginThrottle.attempt({ account: email, ip: meta.ip });

  const row = await findUserByEmail(deps.db, email);
  let ok: boolean;
  if (row) {
    ok = await deps.passwords.verify(row.passwordHash, input.password);
    if (row.disabledAt) ok = false;
  } else {
    ok = await deps.passwords.verifyDummy(input.password);
  }

  if (!row || !ok) {
    await auditQuietly(deps, meta, {
      action: 'auth.login',
      actor: { type: 'user', id: row?.id ?? null },
      outcome: 'failed',
      targetType: 'user',
      targetId: row?.id ?? null,
      // Only a digest of the payload is stored; the address helps correlate guessing.
      payload: { email: email.toLowerCase() },
      details: row ? (row.disabledAt ? 'disabled account' : 'wrong password') : 'unknown account',
    });
    throw new AppError('UNAUTHENTICATED', INVALID_CREDENTIALS);
  }

  await attempt.succeeded();
  if (deps.passwords.needsRehash(row.passwordHash)) {
    // Parameters rose since this hash was made: upgrade it while the plaintext is at hand.
    const passwordHash = await deps.passwords.hash(input.password);
    await deps.db.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, row.id));
  }
  const desks = await listUserDesks(deps.db, asUserId(row.id));
  const { token, session } = await createSession(deps.db, deps.config, {
    userId: asUserId(row.id),
    activeTenantId: desks[0] ? asTenantId(desks[0].id) : null,
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  await auditQuietly(deps, meta, {
    action: 'auth.login',
    actor: { type: 'user', id: row.id },
    targetType: 'session',
    // The session id is SHA-256 of the token; its first 16 hex chars identify it in the log.
    targetId: session.id.slice(0, 16),
  });
  return { token, session, user: toAuthUser(row) };
}

/**
 * Re-entering one's password happens inside a proven session, and the halt depends on it
 * (engage/release need a recent re-entry), so it must keep working when Redis is down. Instead
 * of failing closed like sign-in, it falls back to a stricter per-process throttle.
 */
const reauthThrottles = new WeakMap<LoginThrottle, LoginThrottle>();

function ownPasswordThrottle(primary: LoginThrottle): LoginThrottle {
  let throttle = reauthThrottles.get(primary);
  if (!throttle) {
    throttle = new FailoverLoginThrottle(primary, new MemoryLoginThrottle({ policy: FALLBACK_LOGIN_POLICY }));
    reauthThrottles.set(primary, throttle);
  }
  return throttle;
}

/** Checks the password of a signed-in user (re-authentication, password change). */
async function checkOwnPassword(deps: CredentialDeps, user: AuthUser, password: string, meta: RequestMeta) {
  const attempt = await ownPasswordThrottle(deps.loginThrottle).attempt({ account: user.email, ip: meta.ip });
  const [row] = await deps.db.select().from(users).where(eq(users.id, user.id)).limit(1);
  const ok = row ? await deps.passwords.verify(row.passwordHash, password) : false;
  if (!row || !ok) {
    await auditQuietly(deps, meta, {
      action: 'auth.password_check',
      actor: { type: 'user', id: user.id },
      outcome: 'failed',
    });
    throw new AppError('FORBIDDEN', 'Password incorrect', { reason: 'wrong_password' });
  }
  await attempt.succeeded();
  return row;
}

export async function reauthenticate(
  deps: CredentialDeps,
  user: AuthUser,
  session: SessionRecord,
  password: string,
  meta: RequestMeta,
): Promise<Date> {
  await checkOwnPassword(deps, user, password, meta);
  const now = new Date();
  await setSessionReauthenticated(deps.db, session.id, now);
  await auditQuietly(deps, meta, {
    action: 'auth.reauthenticate',
    actor: { type: 'user', id: user.id },
  });
  return new Date(now.getTime() + deps.config.session.reauthWindowMs);
}

/**
 * Changes the own password. Whoever knew the old password may have made sessions and API keys
 * with it, so every other session of the user ends and every API key of the user, on every desk,
 * is revoked — in the same transaction as the new hash, each desk's revocation audited in that
 * desk's chain. Open streams of those sessions and keys close within the re-check interval
 * (subscription-recheck.ts).
 */
export async function changePassword(
  deps: CredentialDeps,
  user: AuthUser,
  session: SessionRecord,
  input: { currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<{ otherSessionsEnded: number; apiKeysRevoked: number }> {
  await checkOwnPassword(deps, user, input.currentPassword, meta);
  const problem = checkPasswordPolicy(input.newPassword, { email: user.email });
  if (problem) throw new AppError('BAD_INPUT', `New password ${problem}`, { field: 'newPassword' });
  if (input.newPassword === input.currentPassword) {
    throw new AppError('BAD_INPUT', 'New password must differ from the current one', {
      field: 'newPassword',
    });
  }
  const passwordHash = await deps.passwords.hash(input.newPassword);
  // Keys live only on desks the user belongs to: losing a role revokes that desk's keys.
  const desks = await listUserDesks(deps.db, user.id);
  const now = new Date();
  const result = await deps.db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ passwordHash, mustChangePassword: false, passwordChangedAt: now, updatedAt: now })
      .where(eq(users.id, user.id));
    const otherSessionsEnded = await invalidateUserSessions(tx, user.id, session.id);
    let apiKeysRevoked = 0;
    for (const desk of desks) {
      // A member desk listUserDesks read from tenants (the shared Desk type is unbranded).
      const deskId = asTenantId(desk.id);
      // api_keys is row-level secured per desk: act as each desk in turn (transaction-local).
      await tx.execute(sql`select set_config('app.tenant_id', ${deskId}, true)`);
      const revoked = await revokeUserApiKeys(tx, user.id, now);
      if (revoked === 0) continue;
      apiKeysRevoked += revoked;
      await audit.record(tx, {
        action: 'keys.revoke',
        actor: { type: 'user', id: user.id },
        tenantId: deskId,
        requestId: meta.requestId,
        ip: meta.ip,
        targetType: 'user',
        targetId: user.id,
        details: `password changed: ${revoked} API key(s) of the user revoked`,
      });
    }
    await tx.execute(sql`select set_config('app.tenant_id', '', true)`);
    return { otherSessionsEnded, apiKeysRevoked };
  });
  await auditQuietly(deps, meta, {
    action: 'auth.change_password',
    actor: { type: 'user', id: user.id },
    targetType: 'user',
    targetId: user.id,
    details: `other sessions ended: ${result.otherSessionsEnded}; api keys revoked: ${result.apiKeysRevoked}`,
  });
  return result;
}
