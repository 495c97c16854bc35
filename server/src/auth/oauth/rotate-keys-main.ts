import { createDb } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { rotateWebhookSecrets } from '../../alerts/rotate-secrets.ts';
import { loadServerConfigFromProcess } from '../../env.ts';
import { rotateTokenKeys } from './rotate-keys.ts';
import { TokenCrypto } from './token-crypto.ts';

/**
 * `npm run tokens:rotate`: re-encrypts every broker secret and every alert webhook secret under
 * the first key of TOKEN_ENCRYPTION_KEYS (docs/brokers.md, "Keys and rotation"). Uses the
 * server's DATABASE_URL.
 */
const config = loadServerConfigFromProcess();
const log = createLogger({ name: 'tokens-rotate', level: config.logLevel });
const database = createDb(config.databaseUrl, { max: 2, applicationName: 'aegis-tokens-rotate' });
try {
  const crypto = new TokenCrypto(config.tokenKeys);
  const r = await rotateTokenKeys(database.db, crypto);
  const w = await rotateWebhookSecrets(database.db, crypto);
  const counts = {
    activeKid: r.activeKid,
    resealed: r.resealed,
    batches: r.batches,
    webhookResealed: w.resealed,
    webhookBatches: w.batches,
  };
  const failed = [...r.failed, ...w.failed];
  if (failed.length > 0) {
    // Named so the operator can look at them; everything else is under the active key.
    log.error({ ...counts, failed }, 'token keys rotated except secrets that could not be opened');
    process.exitCode = 1;
  } else log.info(counts, 'token keys rotated');
} catch (err) {
  log.error({ err }, 'token key rotation failed');
  process.exitCode = 1;
} finally {
  await database.close();
}
