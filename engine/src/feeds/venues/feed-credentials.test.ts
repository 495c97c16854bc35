import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alpacaKeysOf, parseConnectionRef, resolveAlpacaKeys, venueKeyRing } from './feed-credentials.ts';

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

describe('Alpaca key source', () => {
  const desk = '0b7f4c4e-4f7e-4f7a-9f4c-1d2e3f4a5b6c';
  const conn = '7c1e2d3f-9a8b-4c7d-8e6f-5a4b3c2d1e0f';

  it('parses <desk>/<connection> and refuses anything else', () => {
    expect(parseConnectionRef(`${desk}/${conn}`)).toEqual({ tenantId: desk, connectionId: conn });
    for (const bad of ['', desk, `${desk}/`, `${desk}/${conn}/x`, `${desk}/not-a-uuid`])
      expect(parseConnectionRef(bad), bad).toBeNull();
  });

  it('passes keys given directly through, and needs the database for a connection', async () => {
    expect(await resolveAlpacaKeys({ kind: 'keys', keyId: 'PK', secretKey: 's' }, {})).toEqual({
      keyId: 'PK',
      secretKey: 's',
    });
    await expect(
      resolveAlpacaKeys({ kind: 'connection', ref: { tenantId: desk, connectionId: conn } }, {}),
    ).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });
});
