import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError, ErrorCode, isAppError } from '../errors.ts';

/**
 * Secrets at rest (broker access and refresh tokens, API keys, OAuth client secrets, PKCE
 * verifiers): AES-256-GCM, a fresh random 96-bit nonce per encryption (NIST SP 800-38D §8.2.2:
 * at most 2^32 encryptions per key with random nonces — rotate long before), the key id stored
 * with the ciphertext so keys can rotate, and associated data binding the ciphertext to its row
 * and purpose: a ciphertext copied into another desk's or connection's row fails to decrypt.
 *
 * Format: `v1.<kid>.<nonce base64url>.<ciphertext‖tag base64url>`.
 *
 * Lives in shared because two processes open these secrets: the server (which seals them when a
 * broker is linked) and the engine (which unseals an API-key connection's keys for a venue's
 * market-data stream: engine/src/feeds/venues/feed-credentials.ts). Both read the same variables.
 *
 * Keys: `TOKEN_ENCRYPTION_KEYS` = `kid:base64,kid:base64` (the first encrypts, all decrypt) and/or
 * `TOKEN_ENCRYPTION_KEY` = base64 of 32 bytes (its kid is derived from the key). Rotation: put the
 * new key first, run `npm run tokens:rotate` (re-encrypts every secret under it), then drop the old.
 */

/** Why a secret could not be sealed or opened: kept as `details.reason` of an INTERNAL AppError. */
export type TokenCryptoReason = 'NO_KEY' | 'UNKNOWN_KEY' | 'MALFORMED' | 'AUTH_FAILED';

function tokenCryptoError(reason: TokenCryptoReason, message: string): AppError {
  return new AppError(ErrorCode.INTERNAL, message, { reason });
}

/** The reason a TokenCrypto failure carries; null for any other error. */
export function tokenCryptoReason(e: unknown): TokenCryptoReason | null {
  if (!isAppError(e, ErrorCode.INTERNAL)) return null;
  const reason = e.details?.reason;
  return reason === 'NO_KEY' || reason === 'UNKNOWN_KEY' || reason === 'MALFORMED' || reason === 'AUTH_FAILED'
    ? reason
    : null;
}

export interface TokenKey {
  readonly kid: string;
  readonly key: Buffer;
}

const KID_RE = /^[A-Za-z0-9_-]{1,32}$/;

/** The kid of a key given without one: the first 8 hex digits of SHA-256(key). */
export const derivedKid = (key: Buffer): string =>
  `k${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;

/**
 * Parses the key configuration; throws naming what is wrong (never echoing a key). Returns the
 * keys with the active (encrypting) one first; empty when nothing is configured.
 */
export function parseTokenKeys(keysList: string | undefined, single: string | undefined): TokenKey[] {
  const out: TokenKey[] = [];
  for (const item of (keysList ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = item.indexOf(':');
    if (i <= 0) throw new Error('TOKEN_ENCRYPTION_KEYS: each entry must be kid:base64-key');
    const kid = item.slice(0, i);
    if (!KID_RE.test(kid)) throw new Error('TOKEN_ENCRYPTION_KEYS: a kid is 1-32 letters, digits, _ or -');
    const key = Buffer.from(item.slice(i + 1), 'base64');
    if (key.length !== 32)
      throw new Error(`TOKEN_ENCRYPTION_KEYS: key ${kid} must be base64 of exactly 32 bytes`);
    if (out.some((k) => k.kid === kid)) throw new Error(`TOKEN_ENCRYPTION_KEYS: kid ${kid} appears twice`);
    out.push({ kid, key });
  }
  if (single) {
    const key = Buffer.from(single, 'base64');
    if (key.length !== 32) throw new Error('TOKEN_ENCRYPTION_KEY must be base64 of exactly 32 bytes');
    if (!out.some((k) => k.key.equals(key))) out.push({ kid: derivedKid(key), key });
  }
  return out;
}

/** What a ciphertext is bound to (its associated data). */
export interface SecretBinding {
  readonly tenantId: string;
  /** The row: a connection id, a transaction id, a provider config id. */
  readonly rowId: string;
  /** `access_token`, `refresh_token`, `credentials`, `code_verifier`, `client_secret`. */
  readonly purpose: string;
}

const aadOf = (b: SecretBinding) => Buffer.from(`aegis:v1:${b.tenantId}:${b.rowId}:${b.purpose}`, 'utf8');

export class TokenCrypto {
  readonly #keys: readonly TokenKey[];
  readonly #byKid: ReadonlyMap<string, Buffer>;

  constructor(keys: readonly TokenKey[]) {
    this.#keys = keys;
    this.#byKid = new Map(keys.map((k) => [k.kid, k.key]));
  }

  get configured(): boolean {
    return this.#keys.length > 0;
  }

  /** The kid new secrets are encrypted under. */
  get activeKid(): string | null {
    return this.#keys[0]?.kid ?? null;
  }

  encrypt(plaintext: string, binding: SecretBinding): string {
    const active = this.#keys[0];
    if (!active)
      throw tokenCryptoError(
        'NO_KEY',
        'no token encryption key: set TOKEN_ENCRYPTION_KEY (base64 of 32 random bytes) or TOKEN_ENCRYPTION_KEYS',
      );
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', active.key, nonce);
    cipher.setAAD(aadOf(binding));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1.${active.kid}.${nonce.toString('base64url')}.${ct.toString('base64url')}`;
  }

  decrypt(sealed: string, binding: SecretBinding): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1')
      throw tokenCryptoError('MALFORMED', 'not an encrypted secret');
    const [, kid, nonceB64, ctB64] = parts as [string, string, string, string];
    const key = this.#byKid.get(kid);
    if (!key)
      throw tokenCryptoError('UNKNOWN_KEY', `secret encrypted under key ${kid}, which is not configured`);
    const nonce = Buffer.from(nonceB64, 'base64url');
    const data = Buffer.from(ctB64, 'base64url');
    if (nonce.length !== 12 || data.length < 16)
      throw tokenCryptoError('MALFORMED', 'not an encrypted secret');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(aadOf(binding));
      decipher.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw tokenCryptoError(
        'AUTH_FAILED',
        'secret failed authentication (tampered, or bound to another row)',
      );
    }
  }

  /** The kid a sealed value is under (rotation skips what is already under the active key). */
  static kidOf(sealed: string): string | null {
    const parts = sealed.split('.');
    return parts.length === 4 && parts[0] === 'v1' ? parts[1]! : null;
  }
}
