import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec, dec, decCached, decStr } from './decimal.ts';

describe('decCached: parsed strings are remembered', () => {
  it('hands back the same value for the same string, one instance while it is held', () => {
    const a = decCached('100.000000000000');
    expect(decStr(a)).toBe('100');
    expect(decCached('100.000000000000')).toBe(a);
    // Arithmetic never changes a held instance: every operation returns a new one.
    const sum = a.plus(decCached('0.5'));
    expect(decStr(sum)).toBe('100.5');
    expect(decStr(decCached('100.000000000000'))).toBe('100');
    // dec() parses afresh: the cache is only for text that repeats.
    expect(dec('100.000000000000')).not.toBe(a);
  });

  it('still refuses bad input every time (nothing is remembered for it)', () => {
    expect(() => decCached('12,5')).toThrow();
    expect(() => decCached('12,5')).toThrow();
    expect(() => decCached('')).toThrow();
  });

  it('equals a fresh parse for any decimal string, past the bound of what it holds', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: -(10n ** 26n), max: 10n ** 26n }), fc.integer({ min: 0, max: 12 }))
      .map(([units, scale]) => {
        const neg = units < 0n;
        const digits = (neg ? -units : units).toString().padStart(scale + 1, '0');
        const s = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
        return neg ? `-${s}` : s;
      });
    // 20,000 strings: more than the 8,192 held, so the bound is crossed at least twice.
    fc.assert(
      fc.property(decimal, (s) => {
        expect(decCached(s).eq(new Dec(s))).toBe(true);
        expect(decStr(decCached(s))).toBe(decStr(new Dec(s)));
      }),
      { numRuns: 20_000 },
    );
    // A string met before the bound was crossed still parses to its value.
    expect(decStr(decCached('100.000000000000'))).toBe('100');
  });
});
