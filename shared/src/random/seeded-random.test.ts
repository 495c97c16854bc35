import { describe, expect, it } from 'vitest';
import { Mulberry32, seededRandom, Xoshiro128 } from './seeded-random.ts';

/**
 * The sequences are pinned: committed outputs (the trained model, the evaluation report, test
 * fixtures) were produced from them, so a change here would silently change those. The values
 * are the first draws of each generator as it was before the engine's copies were merged.
 */
describe('seeded random', () => {
  it('xoshiro128** keeps its sequence (the synthetic feed, the evaluation market)', () => {
    const r = new Xoshiro128(42);
    expect(Array.from({ length: 4 }, () => r.nextU32())).toEqual([
      2837322924, 544945897, 479756282, 3500138142,
    ]);
    expect([r.normal(), r.normal(), r.normal()]).toEqual([
      2.221739259712483, 0.3712366042533928, -0.16296452790841628,
    ]);
    expect(r.exponential(10)).toBe(21.260056717563124);
    expect(new Xoshiro128(0).nextU32()).toBe(3809008728);
  });

  it('mulberry32 keeps its sequence (model weights and training order)', () => {
    const r = new Mulberry32(42);
    expect(Array.from({ length: 4 }, () => r.nextU32())).toEqual([
      2581720956, 1925393290, 3661312704, 2876485805,
    ]);
    expect([r.normal(), r.normal(), r.normal()]).toEqual([
      -1.8416271847835968, -0.310605739735128, -1.1408820709540242,
    ]);
    expect(new Mulberry32(0).nextU32()).toBe(1541420728);
  });

  it('picks the generator by name, xoshiro128** by default', () => {
    expect(seededRandom(7).nextU32()).toBe(new Xoshiro128(7).nextU32());
    expect(seededRandom(7, 'mulberry32').nextU32()).toBe(new Mulberry32(7).nextU32());
  });

  it('draws within their ranges and shuffles to a permutation', () => {
    const r = new Xoshiro128(3);
    for (let i = 0; i < 1000; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      const k = r.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
      expect(r.exponential(2)).toBeGreaterThanOrEqual(0);
    }
    const a = Array.from({ length: 50 }, (_, i) => i);
    new Mulberry32(5).shuffle(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
