import { brokerConnections, oauthProviders, oauthTransactions, tenants } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { bindingOf } from './link-service.ts';
import { TokenCrypto } from './token-crypto.ts';

/**
 * Key rotation by re-encryption: every sealed secret not under the active key is decrypted with
 * the key it names and sealed again under the active one, desk by desk, one row per statement
 * (a crash leaves every row readable: each is under either key). Idempotent: a second run finds
 * nothing to do. Afterwards the old key can be removed from TOKEN_ENCRYPTION_KEYS.
 */
export interface RotationResult {
  readonly activeKid: string;
  readonly resealed: number;
  readonly alreadyCurrent: number;
}

export async function rotateTokenKeys(db: Db, crypto: TokenCrypto): Promise<RotationResult> {
  const active = crypto.activeKid;
  if (!active)
    throw new Error('no token encryption key configured (TOKEN_ENCRYPTION_KEY / TOKEN_ENCRYPTION_KEYS)');
  let resealed = 0;
  let alreadyCurrent = 0;
  const reseal = (sealed: string | null, tenantId: string, rowId: string, purpose: string): string | null => {
    if (sealed === null) return null;
    if (TokenCrypto.kidOf(sealed) === active) {
      alreadyCurrent++;
      return sealed;
    }
    resealed++;
    const b = bindingOf(tenantId, rowId, purpose);
    return crypto.encrypt(crypto.decrypt(sealed, b), b);
  };
  const desks = await db.select({ id: tenants.id }).from(tenants);
  for (const { id: tenantId } of desks) {
    await withTenant(db, tenantId, async (tx) => {
      for (const c of await tx
        .select()
        .from(brokerConnections)
        .where(eq(brokerConnections.tenantId, tenantId))
        .for('update')) {
        await tx
          .update(brokerConnections)
          .set({
            accessTokenEnc: reseal(c.accessTokenEnc, tenantId, c.id, 'access_token'),
            refreshTokenEnc: reseal(c.refreshTokenEnc, tenantId, c.id, 'refresh_token'),
            credentialsEnc: reseal(c.credentialsEnc, tenantId, c.id, 'credentials'),
          })
          .where(eq(brokerConnections.id, c.id));
      }
      for (const p of await tx
        .select()
        .from(oauthProviders)
        .where(eq(oauthProviders.tenantId, tenantId))
        .for('update')) {
        await tx
          .update(oauthProviders)
          .set({ clientSecretEnc: reseal(p.clientSecretEnc, tenantId, p.id, 'client_secret') })
          .where(eq(oauthProviders.id, p.id));
      }
      for (const t of await tx
        .select()
        .from(oauthTransactions)
        .where(eq(oauthTransactions.tenantId, tenantId))
        .for('update')) {
        await tx
          .update(oauthTransactions)
          .set({ codeVerifierEnc: reseal(t.codeVerifierEnc, tenantId, t.id, 'code_verifier')! })
          .where(eq(oauthTransactions.id, t.id));
      }
    });
  }
  return { activeKid: active, resealed, alreadyCurrent };
}
