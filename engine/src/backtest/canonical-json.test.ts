import { describe, expect, it } from 'vitest';
import { canonicalDigest, canonicalJson } from './canonical-json.ts';

describe('canonical JSON', () => {
  it('sorts keys at every depth, keeps array order and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 'x', c: null }, 2], e: undefined })).toBe(
      '{"a":[{"c":null,"d":"x"},2],"b":1}',
    );
  });

  it('equal values built in a different key order hash the same; a changed value does not', () => {
    const one = { metrics: { sharpe: 1.5, trades: 3 }, digestOf: 'x' };
    const two = { digestOf: 'x', metrics: { trades: 3, sharpe: 1.5 } };
    expect(canonicalDigest(one)).toBe(canonicalDigest(two));
    expect(canonicalDigest({ ...one, metrics: { sharpe: 1.5, trades: 4 } })).not.toBe(canonicalDigest(one));
  });

  it('refuses numbers JSON cannot carry', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/not finite/);
  });
});
