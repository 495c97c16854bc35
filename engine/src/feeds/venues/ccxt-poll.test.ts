import type { Trade } from 'ccxt';
import { describe, expect, it } from 'vitest';
import { TradeWatermark } from './ccxt-poll.ts';

describe('poll trade watermark', () => {
  const t = (id: string, timestamp: number) => ({ id, timestamp }) as Trade;
  it('admits each trade once across overlapping polls (since is inclusive) and nothing older', () => {
    const w = new TradeWatermark(1_000);
    expect(w.admit(t('a', 999))).toBe(false);
    expect(w.admit(t('b', 1_000))).toBe(true);
    expect(w.admit(t('c', 1_000))).toBe(true);
    // The next poll asks since 1000 and gets b and c again, then d.
    expect(w.admit(t('b', 1_000))).toBe(false);
    expect(w.admit(t('c', 1_000))).toBe(false);
    expect(w.admit(t('d', 1_001))).toBe(true);
    expect(w.admit(t('c', 1_000))).toBe(false);
    expect(w.lastTs).toBe(1_001);
  });

  it('a quiet symbol’s watermark follows the venue clock (a minute behind), never backwards', () => {
    const w = new TradeWatermark(1_000);
    w.idle(10_000); // less than a minute later: unchanged
    expect(w.lastTs).toBe(1_000);
    w.idle(3_600_000);
    expect(w.lastTs).toBe(3_540_000);
    expect(w.admit(t('late', 3_539_999))).toBe(false);
    expect(w.admit(t('e', 3_550_000))).toBe(true);
    w.idle(3_600_000);
    expect(w.lastTs).toBe(3_550_000);
  });
});
