import type { TokenCrypto } from '@aegis/shared/crypto/token-crypto';
import { alertEndpoints, tenants } from '@aegis/shared/db';
import { and, eq } from 'drizzle-orm';
import { type RotationResult, resealer } from '../auth/oauth/rotate-keys.ts';
import type { Db } from '../db/database.ts';
import { bindingOf } from './delivery-sender.ts';

/**
 * Key rotation for webhook signing secrets (`alert_endpoints.secret_sealed`): the same re-sealing
 * as the broker secrets, desk by desk in batches of one transaction each, so that once
 * `npm run tokens:rotate` has run no endpoint needs the old key. The secret itself does not
 * change: receivers keep verifying with the one they were shown. Idempotent, like rotateTokenKeys.
 */
export async function rotateWebhookSecrets(
  db: Db,
  crypto: TokenCrypto,
  options: { readonly batchSize?: number } = {},
): Promise<RotationResult> {
  const { stale, notSkipped, reseal, drain, batchSize, result } = resealer(db, crypto, options);
  const desks = await db.select({ id: tenants.id }).from(tenants);
  for (const { id: tenantId } of desks) {
    await drain(tenantId, async (tx) => {
      const rows = await tx
        .select({ id: alertEndpoints.id, secretSealed: alertEndpoints.secretSealed })
        .from(alertEndpoints)
        .where(
          and(
            eq(alertEndpoints.tenantId, tenantId),
            notSkipped('alert_endpoints', alertEndpoints.id),
            stale(alertEndpoints.secretSealed),
          ),
        )
        .limit(batchSize)
        .for('update');
      for (const e of rows)
        await tx
          .update(alertEndpoints)
          .set({ secretSealed: reseal('alert_endpoints', e.secretSealed, bindingOf(tenantId, e.id))! })
          .where(eq(alertEndpoints.id, e.id));
      return rows.length;
    });
  }
  return result();
}
