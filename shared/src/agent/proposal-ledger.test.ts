import { describe, expect, it } from 'vitest';
import type { GateSignal } from './proposal-gate.ts';
import { ProposalLedger } from './proposal-ledger.ts';

const SETTINGS = { maxProposalsPerHour: 20, minHoldingSeconds: 300, scoreFloor: 0.6 };
const T0 = 1_700_000_000_000;
const sig = (symbol: string, direction: 'long' | 'short', score = 0.9, price = 100): GateSignal => ({
  symbol,
  direction,
  score,
  price,
});

/** Stores a proposal the way a backtest would after the decider answered. */
function propose(ledger: ProposalLedger, id: string, symbol: string, side: 'buy' | 'sell', atMs: number) {
  ledger.proposed({
    id,
    symbol,
    side,
    atMs,
    expiresAtMs: atMs + 300_000,
    stopPrice: side === 'buy' ? 95 : 105,
    targetPrice: side === 'buy' ? 110 : 90,
  });
}

describe('proposal ledger (the gate on a simulated clock)', () => {
  it('the issue replayed: BUY, the same BUY again, SELL 9 s later — one proposal, two skips with reasons', () => {
    const ledger = new ProposalLedger(SETTINGS);
    expect(ledger.check(sig('TSLA', 'long'), T0).allow).toBe(true);
    propose(ledger, 'p1', 'TSLA', 'buy', T0);
    expect(ledger.check(sig('TSLA', 'long'), T0 + 2_000)).toMatchObject({ code: 'duplicate_pending' });
    ledger.filled('p1', T0 + 1_000);
    const flip = ledger.check(sig('TSLA', 'short', 0.9, 99), T0 + 9_000);
    expect(flip).toMatchObject({ allow: false, code: 'flip_flop' });
    expect(flip.allow ? '' : flip.reason).toBe(
      'sell TSLA 8 s after the buy fill; minimum holding time 300 s (stop 95, target 110 not hit at 99)',
    );
    // The stop fills and the position is flat: the opposite side is free.
    ledger.positionFlat('TSLA', T0 + 20_000);
    expect(ledger.check(sig('TSLA', 'short', 0.9, 99), T0 + 21_000).allow).toBe(true);
  });

  it('expired proposals stop counting as pending; the hourly count slides', () => {
    const ledger = new ProposalLedger(SETTINGS);
    propose(ledger, 'p1', 'A', 'buy', T0);
    expect(ledger.view('A', T0 + 299_000).instrument.pending).toHaveLength(1);
    expect(ledger.view('A', T0 + 300_000).instrument.pending).toHaveLength(0);
    expect(ledger.view('A', T0 + 3_599_000).proposalsLastHour).toBe(1);
    expect(ledger.view('A', T0 + 3_600_000).proposalsLastHour).toBe(0);
  });

  it('a day of strong signals every 10 s on 50 instruments: about 20 proposals an hour, never more', () => {
    const ledger = new ProposalLedger(SETTINGS);
    const created: number[] = [];
    let n = 0;
    for (let t = T0; t < T0 + 24 * 3_600_000; t += 10_000) {
      const symbol = `S${n++ % 50}`;
      const s = sig(symbol, n % 3 === 0 ? 'short' : 'long', 0.95);
      if (!ledger.check(s, t).allow) continue;
      const id = `p${n}`;
      propose(ledger, id, symbol, s.direction === 'long' ? 'buy' : 'sell', t);
      ledger.decided(id);
      created.push(t);
    }
    for (const t of created) {
      expect(created.filter((c) => c > t - 3_600_000 && c <= t).length).toBeLessThanOrEqual(20);
    }
    // 24 h at 20 per hour, plus the first burst.
    expect(created.length).toBeGreaterThanOrEqual(24 * 20 - 2);
    expect(created.length).toBeLessThanOrEqual(24 * 20 + 2);
  });
});
