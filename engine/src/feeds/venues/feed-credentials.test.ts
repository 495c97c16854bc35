import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alpacaKeysOf, venueKeyRing } from './feed-credentials.ts';

describe('venue key ring', () => {
  it('reads the server variables: TOKEN_ENCRYPTION_KEYS first, TOKEN_ENCRYPTION_KEY added', () => {
    const a = randomBytes(32).toString('base64');
    const b = randomBytes(32).toString('base64');
    const ring = venueKeyRing(`k1:${a}`, b);
    expect(ring.configured).toBe(true);
    expect(ring.activeKid).toBe('k1');
    const binding = { tenantId: 't', rowId: 'r', purpose: 'credentials' };
    expect(venueKeyRing(`k1:${a}`, undefined).decrypt(ring.encrypt('x', binding), binding)).toBe('x');
    expect(venueKeyRing(undefined, undefined).configured).toBe(false);
  });

  it('refuses a malformed key naming the variable, never echoing the key', () => {
    const short = randomBytes(16).toString('base64');
    let error: unknown;
    try {
      venueKeyRing(`k1:${short}`, undefined);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('TOKEN_ENCRYPTION_KEYS'),
    });
    expect(String((error as Error).message)).not.toContain(short);
  });

  it("names the parts as Alpaca's stream does", () => {
    expect(alpacaKeysOf({ provider: 'alpaca', environment: 'paper', apiKey: 'PK1', apiSecret: 's' })).toEqual(
      { keyId: 'PK1', secretKey: 's' },
    );
  });
});
