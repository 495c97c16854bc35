import { describe, expect, it } from 'vitest';
import { HashingEmbedder, tokens } from './embedder.ts';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);

describe('hashing embedder', () => {
  const e = new HashingEmbedder();

  it('is deterministic and unit length', () => {
    const a = e.embedSync('BTC-USD breakout long loss');
    expect(a).toEqual(e.embedSync('BTC-USD breakout long loss'));
    expect(a).toHaveLength(256);
    expect(dot(a, a)).toBeCloseTo(1, 12);
  });

  it('ranks shared vocabulary above unrelated text', () => {
    const q = e.embedSync('btc-usd breakout long');
    const near = e.embedSync('LOSS on BTC-USD: breakout long failed at the high');
    const far = e.embedSync('eth-usd mean_reversion short win');
    expect(dot(q, near)).toBeGreaterThan(dot(q, far));
  });

  it('keeps instrument symbols and pattern names as single tokens', () => {
    expect(tokens('BTC-USD mean_reversion, 0.42!')).toEqual(['btc-usd', 'mean_reversion', '0.42']);
    expect(e.embedSync('')).toEqual(new Array(256).fill(0));
  });
});
