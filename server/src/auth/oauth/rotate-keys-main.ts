import { createDb } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { loadServerConfigFromProcess } from '../../env.ts';
import { rotateTokenKeys } from './rotate-keys.ts';
import { TokenCrypto } from './token-crypto.ts';

/**
 * `npm run tokens:rotate`: re-encrypts every broker secret under the first key of
 * TOKEN_ENCRYPTION_KEYS (docs/brokers.md, "Keys and rotation"). Uses the server's DATABASE_URL.
 */
const config = loadServerConfigFromProcess();
const log = createLogger({ name: 'tokens-rotate', level: config.logLevel });
const database = createDb(config.databaseUrl, { max: 2, applicationName: 'aegis-tokens-rotate' });
try {
  const r = await rotateTokenKeys(database.db, new TokenCrypto(config.tokenKeys));
  if (r.failed.length > 0) {
    // Named so the operator can look at them; everything else is under the active key.
    log.error(
      { activeKid: r.activeKid, resealed: r.resealed, failed: r.failed },
      'token keys rotated except secrets that could not be opened',
    );
    process.exitCode = 1;
  } else log.info({ activeKid: r.activeKid, resealed: r.resealed, batches: r.batches }, 'token keys rotated');
} catch (err) {
  log.error({ err }, 'token key rotation failed');
  process.exitCode = 1;
} finally {
  await database.close();
}
