import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derivedKid, parseTokenKeys, TokenCrypto, tokenCryptoReason } from './token-crypto.ts';

const key = () => randomBytes(32).toString('base64');
const binding = { tenantId: 't1', rowId: 'c1', purpose: 'access_token' };

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    const reason = tokenCryptoReason(e);
    expect(reason).not.toBeNull();
    return reason ?? 'not a token crypto error';
  }
};

describe('TokenCrypto', () => {
  it('round-trips, with a fresh nonce per encryption and the key id in the ciphertext', () => {
    const k = key();
    const c = new TokenCrypto(parseTokenKeys(`main:${k}`, undefined));
    const a = c.encrypt('secret-token', binding);
    const b = c.encrypt('secret-token', binding);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.main\.[A-Za-z0-9_-]{16}\./);
    expect(a).not.toContain('secret-token');
    expect(c.decrypt(a, binding)).toBe('secret-token');
    expect(TokenCrypto.kidOf(a)).toBe('main');
  });

  it('refuses a ciphertext moved to another desk, row or purpose, and a tampered one', () => {
    const c = new TokenCrypto(parseTokenKeys(undefined, key()));
    const sealed = c.encrypt('x', binding);
    expect(codeOf(() => c.decrypt(sealed, { ...binding, tenantId: 't2' }))).toBe('AUTH_FAILED');
    expect(codeOf(() => c.decrypt(sealed, { ...binding, rowId: 'c2' }))).toBe('AUTH_FAILED');
    expect(codeOf(() => c.decrypt(sealed, { ...binding, purpose: 'refresh_token' }))).toBe('AUTH_FAILED');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0]! ^= 1;
    parts[3] = body.toString('base64url');
    expect(codeOf(() => c.decrypt(parts.join('.'), binding))).toBe('AUTH_FAILED');
    expect(codeOf(() => c.decrypt('plaintext', binding))).toBe('MALFORMED');
  });

  it('rotates: the first key encrypts, older keys still decrypt, a removed key is named', () => {
    const oldKey = key();
    const newKey = key();
    const before = new TokenCrypto(parseTokenKeys(`old:${oldKey}`, undefined));
    const sealedOld = before.encrypt('t', binding);
    const during = new TokenCrypto(parseTokenKeys(`new:${newKey},old:${oldKey}`, undefined));
    expect(during.activeKid).toBe('new');
    expect(during.decrypt(sealedOld, binding)).toBe('t');
    const resealed = during.encrypt(during.decrypt(sealedOld, binding), binding);
    const after = new TokenCrypto(parseTokenKeys(`new:${newKey}`, undefined));
    expect(after.decrypt(resealed, binding)).toBe('t');
    expect(codeOf(() => after.decrypt(sealedOld, binding))).toBe('UNKNOWN_KEY');
  });

  it('refuses to encrypt without a key, naming the setting', () => {
    const c = new TokenCrypto([]);
    expect(c.configured).toBe(false);
    expect(() => c.encrypt('x', binding)).toThrow(/TOKEN_ENCRYPTION_KEY/);
  });

  it('parses the key ring strictly and merges TOKEN_ENCRYPTION_KEY with a derived kid', () => {
    const k = key();
    expect(parseTokenKeys(undefined, k)).toEqual([
      { kid: derivedKid(Buffer.from(k, 'base64')), key: Buffer.from(k, 'base64') },
    ]);
    expect(parseTokenKeys(`a:${k}`, k)).toHaveLength(1);
    expect(() => parseTokenKeys('a:short', undefined)).toThrow(/exactly 32 bytes/);
    expect(() => parseTokenKeys(`a:${k},a:${key()}`, undefined)).toThrow(/twice/);
    expect(() => parseTokenKeys(`bad kid:${k}`, undefined)).toThrow(/kid/);
    expect(() => parseTokenKeys(`a:short`, undefined)).not.toThrow(/short/);
  });
});
