import type { TokenCrypto } from '@aegis/shared/crypto/token-crypto';
import { alertEndpoints } from '@aegis/shared/db';
import { type RotationResult, rotateSealedTables } from '../auth/oauth/rotate-keys.ts';
import type { Db } from '../db/database.ts';
import { bindingOf } from './delivery-sender.ts';

/**
 * Key rotation for webhook signing secrets (`alert_endpoints.secret_sealed`): the same re-sealing
 * as the broker secrets, desk by desk in batches of one transaction each, so that once
 * `npm run tokens:rotate` has run no endpoint needs the old key. The secret itself does not
 * change: receivers keep verifying with the one they were shown. Idempotent, like rotateTokenKeys.
 */
export function rotateWebhookSecrets(
  db: Db,
  crypto: TokenCrypto,
  options: { readonly batchSize?: number } = {},
): Promise<RotationResult> {
  return rotateSealedTables(
    db,
    crypto,
    [
      {
        name: 'alert_endpoints',
        table: alertEndpoints,
        id: alertEndpoints.id,
        tenantId: alertEndpoints.tenantId,
        sealed: { secretSealed: { column: alertEndpoints.secretSealed, binding: bindingOf } },
      },
    ],
    options,
  );
}
