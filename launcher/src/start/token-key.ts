import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The single-machine default for TOKEN_ENCRYPTION_KEY (the AES-256-GCM key that seals broker
 * tokens and API keys at rest): generated once, kept beside the embedded database under the data
 * directory with mode 0600, reused on every start (a new key per start would make every stored
 * token unreadable). Used only when neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEYS is
 * set; production sets its own (docs/brokers.md: keys and rotation).
 */
export function embeddedTokenKey(dataDir: string): string {
  const file = join(dataDir, 'token-encryption.key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (Buffer.from(key, 'base64').length !== 32) throw new Error(`${file} is not base64 of 32 bytes`);
    return key;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}
