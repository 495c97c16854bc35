import { AppError } from '@aegis/shared/errors';
import { lazyChild } from '@aegis/shared/logging';
import { isApiKeyShape, verifyApiKey } from '../auth/api-keys.ts';
import { apiKeyCacheId } from '../auth/auth-cache.ts';
import type { Principal } from '../auth/principal.ts';
import {
  isSessionTokenShape,
  serializeBlankSessionCookie,
  serializeSessionCookie,
  sessionIdOf,
  validateSessionToken,
} from '../auth/session.ts';
import type { Context } from '../context.ts';
import { transientKindOf } from '../transient-errors.ts';
import { t } from './init.ts';

/**
 * Authentication: the caller from the request's credentials (bearer first, then cookie). A
 * session or key validated in the last seconds comes from the process's AuthCache
 * (auth/auth-cache.ts: invalidated at once on logout, revocation, password or role change);
 * otherwise from the database, and the result is cached.
 */
export const authenticate = t.middleware(async ({ ctx, meta, path, next }) => {
  let principal = ctx.principal;
  if (!principal) {
    try {
      principal = await resolvePrincipal(ctx);
      if (principal) ctx.outageAuthorizations?.rememberPrincipal(ctx.credentials, principal);
    } catch (err) {
      // The database is unreachable: a risk-reducing call (halt, cancel) from a caller it
      // confirmed minutes ago still goes through (auth/outage-authorization.ts); nothing else.
      const remembered =
        meta?.riskReducing && transientKindOf(err)
          ? ctx.outageAuthorizations?.principal(ctx.credentials)
          : null;
      if (!remembered) throw err;
      ctx.log.warn(
        { path, userId: remembered.user.id },
        'database unreachable: last-known authorization used',
      );
      principal = remembered;
    }
  }
  if (!principal) throw new AppError('UNAUTHENTICATED', 'Authentication required');
  const log = lazyChild(ctx.log, {
    userId: principal.user.id,
    ...(principal.kind === 'api_key' ? { apiKeyId: principal.apiKey.id } : {}),
  });
  return next({ ctx: { principal, log } });
});

async function resolvePrincipal(ctx: Context): Promise<Principal | null> {
  const { bearer, cookieToken } = ctx.credentials;
  if (bearer !== null) {
    if (isApiKeyShape(bearer)) return apiKeyPrincipal(ctx, bearer);
    const found = await sessionPrincipal(ctx, bearer);
    return found?.principal ?? null;
  }
  if (cookieToken !== null) {
    const found = await sessionPrincipal(ctx, cookieToken);
    if (!found) {
      // A stale cookie is cleared so the browser stops sending it.
      ctx.response.cookies.push(serializeBlankSessionCookie(ctx.config));
      return null;
    }
    if (found.refreshed) {
      ctx.response.cookies.push(
        serializeSessionCookie(ctx.config, cookieToken, found.principal.session.expiresAt),
      );
    }
    return found.principal;
  }
  return null;
}

async function apiKeyPrincipal(ctx: Context, key: string): Promise<Principal | null> {
  const cache = ctx.authCache;
  const cacheId = cache ? apiKeyCacheId(key) : '';
  const cached = cache?.apiKey(cacheId);
  if (cached) return { kind: 'api_key', user: cached.user, apiKey: cached.apiKey };
  const readStartedAt = Date.now();
  const found = await verifyApiKey(ctx.db, key);
  if (!found) return null;
  cache?.putApiKey(cacheId, found, readStartedAt);
  return { kind: 'api_key', user: found.user, apiKey: found.apiKey };
}

async function sessionPrincipal(
  ctx: Context,
  token: string,
): Promise<{ principal: Principal & { kind: 'session' }; refreshed: boolean } | null> {
  const cache = ctx.authCache;
  if (cache && isSessionTokenShape(token)) {
    const cached = cache.session(sessionIdOf(token), ctx.config.session.idleMs);
    if (cached) return { principal: { kind: 'session', ...cached }, refreshed: false };
  }
  const readStartedAt = Date.now();
  const found = await validateSessionToken(ctx.db, ctx.config, token);
  if (!found) return null;
  cache?.putSession({ session: found.session, user: found.user }, readStartedAt);
  return {
    principal: { kind: 'session', user: found.user, session: found.session },
    refreshed: found.refreshed,
  };
}
