import { brokerConnections } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { AppError } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { eq } from 'drizzle-orm';
import { audit } from '../../audit/service.ts';
import { bindingOf, type OAuthDeps, oauthProviderOf } from './link-service.ts';
import { revokeToken } from './token-endpoint.ts';

/**
 * Unlinks a connection: revokes its tokens at the provider where it has a revocation endpoint
 * (RFC 7009; the refresh token first, which ends the grant, then the access token), then deletes
 * every secret and marks the connection `revoked` (kept: its orders point at it). A provider that
 * cannot be reached does not keep the secrets here: they are deleted anyway and the response
 * says the provider did not confirm.
 */
export async function unlinkConnection(
  deps: OAuthDeps,
  tenantId: TenantId,
  actor: { type: 'user' | 'api_key'; id: string },
  connectionId: string,
): Promise<{ connectionId: string; revokedAtProvider: boolean }> {
  const c = await withTenant(deps.db, tenantId, async (tx) => {
    const [row] = await tx.select().from(brokerConnections).where(eq(brokerConnections.id, connectionId));
    if (!row) return null;
    const provider = row.accessTokenEnc ? await oauthProviderOf(deps, tx, tenantId, row.provider) : null;
    return { row, provider };
  });
  if (!c)
    throw new AppError('NOT_FOUND', 'connectionId: no such connection on this desk', {
      field: 'connectionId',
    });
  let revokedAtProvider = false;
  if (c.provider?.revocationUrl) {
    try {
      if (c.row.refreshTokenEnc)
        await revokeToken(
          c.provider,
          deps.crypto.decrypt(c.row.refreshTokenEnc, bindingOf(tenantId, connectionId, 'refresh_token')),
          'refresh_token',
        );
      if (c.row.accessTokenEnc)
        await revokeToken(
          c.provider,
          deps.crypto.decrypt(c.row.accessTokenEnc, bindingOf(tenantId, connectionId, 'access_token')),
          'access_token',
        );
      revokedAtProvider = true;
    } catch (err) {
      deps.log.warn(
        { tenantId, connectionId, err },
        'token revocation at the provider failed; secrets deleted anyway',
      );
    }
  }
  const now = new Date();
  await withTenant(deps.db, tenantId, async (tx) => {
    await tx
      .update(brokerConnections)
      .set({
        accessTokenEnc: null,
        refreshTokenEnc: null,
        credentialsEnc: null,
        tokenExpiresAt: null,
        status: 'revoked',
        statusReason: 'unlinked',
        revokedAt: now,
        updatedAt: now,
      })
      .where(eq(brokerConnections.id, connectionId));
    await audit.record(tx, {
      action: 'brokers.unlink',
      actor,
      targetType: 'broker_connection',
      targetId: connectionId,
      payload: { provider: c.row.provider, revokedAtProvider },
      details: `${c.row.provider}${revokedAtProvider ? ' (revoked at the provider)' : ''}`,
    });
  });
  return { connectionId, revokedAtProvider };
}
