import { brokerConnections } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import type { TenantId } from '@aegis/shared/ids';
import { eq, sql } from 'drizzle-orm';
import { audit } from '../../audit/service.ts';
import type { ApiKeyCredentials, CredentialSource } from '../../brokers/connection.ts';
import { BrokerError, BrokerErrorCode } from '../../brokers/types.ts';
import { bindingOf, type OAuthDeps, oauthProviderOf } from './link-service.ts';
import { clientCredentialsToken, oauthErrorOf, oauthGrantError, refreshTokens } from './token-endpoint.ts';

/**
 * The credentials of one linked connection, as adapters use them (CredentialSource).
 *
 * Refresh: a token that expires within REFRESH_SKEW_MS is refreshed before use. Exactly one
 * refresh runs per connection: in this process callers share one promise; across processes the
 * refresh runs under `SELECT … FOR UPDATE` of the connection row, and a process that waited for
 * the lock re-reads the row and uses the token the other one committed (`token_refreshed_at`
 * moved). The new refresh token is committed before the new access token is handed out, so a
 * crash cannot lose a rotated refresh token. `invalid_grant` marks the connection
 * `needs_relink` (its orders stop: the dispatcher sends only for active connections), audits it
 * and throws BROKER_AUTH.
 */
export const REFRESH_SKEW_MS = 60_000;

const inFlight = new Map<string, Promise<string>>();

const authError = (provider: string, message: string, operation = 'accessToken') =>
  new BrokerError(BrokerErrorCode.AUTH, message, { operation, broker: provider, retryable: false });

export function credentialSourceFor(
  deps: OAuthDeps,
  row: { id: string; tenantId: TenantId; provider: string },
): CredentialSource {
  const load = () =>
    withTenant(deps.db, row.tenantId, async (tx) => {
      const [c] = await tx.select().from(brokerConnections).where(eq(brokerConnections.id, row.id));
      return c ?? null;
    });

  const refresh = (force: boolean, seenRefreshedAt: Date | null): Promise<string> => {
    const running = inFlight.get(row.id);
    if (running) return running;
    const p = refreshUnderLock(deps, row, force, seenRefreshedAt).finally(() => inFlight.delete(row.id));
    inFlight.set(row.id, p);
    return p;
  };

  return {
    async accessToken() {
      const c = await load();
      if (!c || c.status === 'revoked') throw authError(row.provider, 'the connection is unlinked');
      if (c.status === 'needs_relink') throw authError(row.provider, 'the connection needs relinking');
      // Keys and gateways have no token to refresh: never mistake that for a refused grant.
      if (c.linkKind === 'api_key' || c.linkKind === 'gateway')
        throw authError(
          row.provider,
          `the connection is linked by ${c.linkKind.replace('_', ' ')}, not OAuth`,
        );
      const fresh = c.tokenExpiresAt === null || c.tokenExpiresAt.getTime() - Date.now() > REFRESH_SKEW_MS;
      if (c.accessTokenEnc && fresh)
        return deps.crypto.decrypt(c.accessTokenEnc, bindingOf(row.tenantId, row.id, 'access_token'));
      return refresh(false, c.tokenRefreshedAt);
    },
    async refreshAccessToken() {
      const c = await load();
      if (c && (c.linkKind === 'api_key' || c.linkKind === 'gateway'))
        throw authError(
          row.provider,
          `the connection is linked by ${c.linkKind.replace('_', ' ')}, not OAuth`,
        );
      return refresh(true, c?.tokenRefreshedAt ?? null);
    },
    async apiKey(): Promise<ApiKeyCredentials> {
      const c = await load();
      if (!c?.credentialsEnc) throw authError(row.provider, 'the connection has no API key', 'apiKey');
      const parsed = JSON.parse(
        deps.crypto.decrypt(c.credentialsEnc, bindingOf(row.tenantId, row.id, 'credentials')),
      ) as ApiKeyCredentials;
      return parsed;
    },
  };
}

async function refreshUnderLock(
  deps: OAuthDeps,
  row: { id: string; tenantId: TenantId; provider: string },
  force: boolean,
  seenRefreshedAt: Date | null,
): Promise<string> {
  const outcome = await withTenant(deps.db, row.tenantId, async (tx) => {
    const [c] = await tx
      .select()
      .from(brokerConnections)
      .where(eq(brokerConnections.id, row.id))
      .for('update');
    if (!c) return { error: authError(row.provider, 'the connection is unlinked') };
    if (c.status === 'revoked' || c.status === 'needs_relink')
      return { error: authError(row.provider, `the connection is ${c.status.replace('_', ' ')}`) };
    // Another process refreshed while we waited for the lock: use its token.
    const movedOn =
      c.tokenRefreshedAt !== null &&
      (seenRefreshedAt === null || c.tokenRefreshedAt.getTime() > seenRefreshedAt.getTime());
    const stillFresh = c.tokenExpiresAt === null || c.tokenExpiresAt.getTime() - Date.now() > REFRESH_SKEW_MS;
    if (c.accessTokenEnc && movedOn && (stillFresh || force))
      return {
        token: deps.crypto.decrypt(c.accessTokenEnc, bindingOf(row.tenantId, row.id, 'access_token')),
      };
    const provider = await oauthProviderOf(deps, tx, row.tenantId, c.provider);
    if (!provider) return { error: authError(row.provider, 'the provider is no longer configured') };
    try {
      let tokens: Awaited<ReturnType<typeof refreshTokens>>;
      if (c.linkKind === 'client_credentials') tokens = await clientCredentialsToken(provider);
      else {
        if (!c.refreshTokenEnc) throw oauthGrantError('invalid_grant', 'no refresh token');
        const refreshToken = deps.crypto.decrypt(
          c.refreshTokenEnc,
          bindingOf(row.tenantId, row.id, 'refresh_token'),
        );
        tokens = await refreshTokens(provider, refreshToken);
      }
      const now = new Date();
      await tx
        .update(brokerConnections)
        .set({
          accessTokenEnc: deps.crypto.encrypt(
            tokens.accessToken,
            bindingOf(row.tenantId, row.id, 'access_token'),
          ),
          // A provider that does not rotate keeps the old refresh token valid (RFC 6749 §6).
          ...(tokens.refreshToken && {
            refreshTokenEnc: deps.crypto.encrypt(
              tokens.refreshToken,
              bindingOf(row.tenantId, row.id, 'refresh_token'),
            ),
          }),
          tokenExpiresAt: tokens.expiresAt,
          tokenRefreshedAt: now,
          ...(tokens.scopes && { scopes: [...tokens.scopes] }),
          updatedAt: now,
        })
        .where(eq(brokerConnections.id, row.id));
      return { token: tokens.accessToken };
    } catch (err) {
      const oauthError = oauthErrorOf(err);
      if (oauthError === undefined) throw err;
      if (
        oauthError === 'invalid_grant' ||
        oauthError === 'invalid_client' ||
        oauthError === 'unauthorized_client'
      ) {
        const reason = `${oauthError}: the provider refused the grant; link the account again`;
        await tx
          .update(brokerConnections)
          .set({ status: 'needs_relink', statusReason: reason, updatedAt: sql`now()` })
          .where(eq(brokerConnections.id, row.id));
        await audit.record(tx, {
          action: 'brokers.needs_relink',
          actor: { type: 'system', id: 'oauth' },
          targetType: 'broker_connection',
          targetId: row.id,
          payload: { provider: c.provider, oauthError },
          details: reason,
        });
        deps.log.warn(
          { tenantId: row.tenantId, connectionId: row.id, oauthError },
          'broker connection needs relinking',
        );
        return { error: authError(row.provider, reason), relink: true };
      }
      // Unreachable or timed out: nothing changed; the caller may retry.
      return {
        error: new BrokerError(BrokerErrorCode.UNAVAILABLE, `token refresh failed: ${oauthError}`, {
          operation: 'refresh',
          broker: row.provider,
        }),
      };
    }
  });
  if ('token' in outcome && outcome.token !== undefined) return outcome.token;
  if (outcome.relink) deps.onNeedsRelink?.(row.tenantId, row.id);
  throw outcome.error!;
}
