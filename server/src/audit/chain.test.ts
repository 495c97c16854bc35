import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChainedFields,
  canonicalJson,
  checkChainRows,
  GENESIS_HASH,
  payloadDigest,
  rowHash,
  type StoredChainRow,
  stripSecrets,
} from './chain.ts';

describe('canonicalJson', () => {
  it('sorts keys, drops undefined, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: { z: 1, y: 2 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"d":{"y":2,"z":1}}',
    );
  });

  it('is independent of key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
      }),
    );
  });

  it('round-trips through JSON.parse for JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('serializes dates and bigints, rejects non-finite numbers and cycles', () => {
    expect(canonicalJson({ t: new Date(0), n: 10n })).toBe('{"n":"10","t":"1970-01-01T00:00:00.000Z"}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => canonicalJson(cyc)).toThrow(TypeError);
  });
});

describe('payloadDigest', () => {
  it('never depends on secret values', () => {
    const a = payloadDigest({ email: 'a@b.c', password: 'hunter2hunter2', nested: { apiKey: 'aegis_x' } });
    const b = payloadDigest({ email: 'a@b.c', password: 'other', nested: { apiKey: 'aegis_y' } });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(stripSecrets({ token: 't', refreshToken: 'r', codeVerifier: 'v', keep: 1 })).toEqual({ keep: 1 });
  });

  it('changes when a non-secret value changes', () => {
    expect(payloadDigest({ qty: '1' })).not.toBe(payloadDigest({ qty: '2' }));
  });
});

function buildChain(n: number): StoredChainRow[] {
  const rows: StoredChainRow[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const fields: ChainedFields = {
      tenantId: null,
      seq,
      ts: new Date(seq * 1000).toISOString(),
      actorType: 'system',
      actorId: null,
      action: `test.${seq}`,
      targetType: null,
      targetId: null,
      outcome: 'ok',
      requestId: null,
      ip: null,
      payloadDigest: payloadDigest({ seq }),
      details: null,
    };
    const hash = rowHash(prev, fields);
    rows.push({ ...fields, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

describe('checkChainRows', () => {
  const start = { seq: 0, hash: GENESIS_HASH };

  it('accepts an intact chain and can resume from a cursor', () => {
    const rows = buildChain(6);
    const first = checkChainRows(start, rows.slice(0, 3));
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(checkChainRows(first.cursor, rows.slice(3))).toEqual({
      ok: true,
      cursor: { seq: 6, hash: rows[5]!.hash },
    });
  });

  it('reports a changed field, a removed row and swapped rows', () => {
    const changed = buildChain(5);
    changed[2] = { ...changed[2]!, details: 'edited' };
    expect(checkChainRows(start, changed)).toEqual({ ok: false, seq: 3, reason: 'hash_mismatch' });

    const removed = buildChain(5);
    removed.splice(1, 1);
    expect(checkChainRows(start, removed)).toEqual({ ok: false, seq: 2, reason: 'seq_gap' });

    const swapped = buildChain(5);
    const [r2, r3] = [swapped[1]!, swapped[2]!];
    swapped[1] = { ...r3, seq: 2 };
    swapped[2] = { ...r2, seq: 3 };
    expect(checkChainRows(start, swapped)).toEqual({ ok: false, seq: 2, reason: 'prev_hash_mismatch' });
  });
});
