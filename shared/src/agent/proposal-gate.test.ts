import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketCapacity,
  consumeToken,
  countLastHour,
  type DeskGateView,
  type GateState,
  gateProposal,
  type InstrumentHistory,
  type ProposalGateSettings,
  scoreBar,
  tokensAt,
} from './proposal-gate.ts';

const EMPTY: InstrumentHistory = { pending: [], lastProposal: null, positionClosedAtMs: null };
const HOUR = 3_600_000;

function settings(over: Partial<ProposalGateSettings> = {}): ProposalGateSettings {
  return { maxProposalsPerHour: 20, minHoldingSeconds: 300, scoreFloor: 0.6, ...over };
}

/**
 * Runs a stream of signals through the gate the way the agent does (budget rules only: every
 * signal on its own instrument): an allowed signal becomes a proposal and takes a token.
 */
function run(
  max: number,
  signals: readonly { atMs: number; score: number }[],
  opts: { hardCap: boolean } = { hardCap: true },
) {
  let state: GateState = null;
  const proposed: { atMs: number; score: number }[] = [];
  const verdicts = [];
  for (const [i, s] of signals.entries()) {
    const desk: DeskGateView = {
      proposalsLastHour: opts.hardCap
        ? countLastHour(
            proposed.map((p) => p.atMs),
            s.atMs,
          )
        : 0,
      instrument: EMPTY,
    };
    const v = gateProposal(
      state,
      settings({ maxProposalsPerHour: max }),
      { symbol: `S${i}`, direction: 'long', score: s.score, price: 100 },
      desk,
      s.atMs,
    );
    verdicts.push(v);
    if (v.allow) {
      proposed.push(s);
      state = consumeToken(state, max, s.atMs);
    }
  }
  return { proposed, verdicts };
}

const signalsArb = fc
  .array(
    fc.record({
      gapMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 900_000 })),
      score: fc.double({ min: 0.6, max: 1, noNaN: true }),
    }),
    { maxLength: 300 },
  )
  .map((xs) => {
    let t = 1_000_000;
    return xs.map((x) => {
      t += x.gapMs;
      return { atMs: t, score: x.score };
    });
  });

describe('proposal gate: token bucket', () => {
  it('never lets more than maxProposalsPerHour through in any trailing hour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), signalsArb, (max, signals) => {
        const { proposed } = run(max, signals);
        for (const p of proposed) {
          const inWindow = proposed.filter((q) => q.atMs > p.atMs - HOUR && q.atMs <= p.atMs).length;
          expect(inWindow).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the bucket alone admits at most capacity + rate × window in any window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), signalsArb, (max, signals) => {
        const { proposed } = run(max, signals, { hardCap: false });
        const cap = bucketCapacity(max);
        for (const [i, a] of proposed.entries()) {
          for (const b of proposed.slice(i)) {
            const windowS = (b.atMs - a.atMs) / 1000;
            const n = proposed.filter((q) => q.atMs >= a.atMs && q.atMs <= b.atMs).length;
            expect(n).toBeLessThanOrEqual(cap + (windowS * max) / 3600 + 1e-9);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a burst of signals in one minute takes at most the burst, not the hour', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.double({ min: 0.6, max: 1, noNaN: true }), { minLength: 1, maxLength: 80 }),
        (max, scores) => {
          const signals = scores.map((score, i) => ({ atMs: 1_000_000 + i * 750, score }));
          const { proposed } = run(max, signals);
          expect(proposed.length).toBeLessThanOrEqual(bucketCapacity(max) + Math.ceil((60 * max) / 3600));
          expect(proposed.length).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });

  it('best score first: a signal skipped for its score means no lower score got a token at that level or below', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 120 }), signalsArb, (max, signals) => {
        const { verdicts } = run(max, signals);
        const admitted = verdicts.flatMap((v, i) =>
          v.allow ? [{ score: signals[i]!.score, tokens: v.tokens }] : [],
        );
        for (const [i, v] of verdicts.entries()) {
          if (v.allow || v.code !== 'below_budget_bar') continue;
          const tokens = Number(v.details.tokens);
          const score = signals[i]!.score;
          // Nobody with fewer (or as few) tokens left got in with a lower score.
          for (const a of admitted) {
            if (a.tokens <= tokens - 0.01) expect(a.score).toBeGreaterThanOrEqual(score);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the bar never falls as the bucket empties, and a higher score passes wherever a lower one does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        (max, t1, t2, floor) => {
          const [lo, hi] = t1 <= t2 ? [t1, t2] : [t2, t1];
          expect(scoreBar(lo, max, floor)).toBeGreaterThanOrEqual(scoreBar(hi, max, floor));
          expect(scoreBar(hi, max, floor)).toBeGreaterThanOrEqual(floor);
          expect(scoreBar(lo, max, floor)).toBeLessThanOrEqual(1);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        (max, s1, s2, tokens) => {
          const state: GateState = { tokens, atMs: 0 };
          const [lo, hi] = s1 <= s2 ? [s1, s2] : [s2, s1];
          const desk = { proposalsLastHour: 0, instrument: EMPTY };
          const at = (score: number) =>
            gateProposal(
              state,
              settings({ maxProposalsPerHour: max }),
              { symbol: 'X', direction: 'long', score, price: 1 },
              desk,
              0,
            ).allow;
          if (at(lo)) expect(at(hi)).toBe(true);
        },
      ),
    );
  });

  it('refills at max/3600 per second up to the capacity, and a clock going back refills nothing', () => {
    expect(bucketCapacity(20)).toBe(2);
    expect(bucketCapacity(1)).toBe(1);
    expect(bucketCapacity(1000)).toBe(10);
    expect(bucketCapacity(0)).toBe(0);
    const s = { tokens: 0, atMs: 1_000_000 };
    expect(tokensAt(s, 20, 1_000_000 + 90_000)).toBeCloseTo(0.5, 9);
    expect(tokensAt(s, 20, 1_000_000 + 10 * HOUR)).toBe(2);
    expect(tokensAt(s, 20, 0)).toBe(0);
    expect(tokensAt(null, 20, 0)).toBe(2);
  });

  it('a burst: 30 signals in 80 s on a 20-per-hour desk give 2 proposals, the rest skip with the numbers', () => {
    const signals = Array.from({ length: 30 }, (_, i) => ({
      atMs: 1_000_000 + Math.round(i * 2_700),
      score: 0.62 + (i % 7) * 0.05,
    }));
    const { proposed, verdicts } = run(20, signals);
    expect(proposed.length).toBe(2);
    const skipped = verdicts.filter((v) => !v.allow);
    expect(skipped.length).toBe(28);
    const reasons = skipped.map((v) => (v.allow ? '' : v.reason));
    expect(reasons.some((r) => /budget bar 0\.8\d: 1\.\d\d of 2 tokens left \(20 per hour\)/.test(r))).toBe(
      true,
    );
    expect(
      reasons.some((r) =>
        /proposal budget spent: 0\.\d\d of 2 tokens left \(20 per hour, one token every 180 s\); next token in \d+ s/.test(
          r,
        ),
      ),
    ).toBe(true);
    // The second token went to a signal at or above the bar: the best of the burst so far.
    expect(proposed[1]!.score).toBeGreaterThanOrEqual(0.8);
  });

  it('a steady stream of strong signals for two hours: the hard cap holds in every hour, the budget is used', () => {
    const signals = Array.from({ length: 720 }, (_, i) => ({ atMs: 1_000_000 + i * 10_000, score: 1 }));
    const { proposed } = run(20, signals);
    const perHour = proposed.map(
      (p) => proposed.filter((q) => q.atMs > p.atMs - HOUR && q.atMs <= p.atMs).length,
    );
    expect(Math.max(...perHour)).toBe(20);
    expect(proposed.length).toBeGreaterThanOrEqual(38);
    // Spread: any 15 minutes hold at most the burst plus a quarter of the hour's budget.
    for (const p of proposed) {
      const in15 = proposed.filter((q) => q.atMs >= p.atMs && q.atMs < p.atMs + 900_000).length;
      expect(in15).toBeLessThanOrEqual(bucketCapacity(20) + 5);
    }
  });

  it('a budget of 0 proposals per hour skips everything as rate limited', () => {
    const v = gateProposal(
      null,
      settings({ maxProposalsPerHour: 0 }),
      { symbol: 'X', direction: 'long', score: 1, price: 1 },
      { proposalsLastHour: 0, instrument: EMPTY },
      0,
    );
    expect(v).toMatchObject({ allow: false, code: 'rate_limited' });
  });
});

describe('proposal gate: duplicates and flip-flops', () => {
  const now = 10_000_000;
  const gate = (
    instrument: InstrumentHistory,
    direction: 'long' | 'short',
    price: number | null = 100,
    over = {},
  ) =>
    gateProposal(
      null,
      settings(over),
      { symbol: 'TSLA', direction, score: 0.9, price },
      { proposalsLastHour: 0, instrument },
      now,
    );
  const bought = (agoS: number, extra: Partial<NonNullable<InstrumentHistory['lastProposal']>> = {}) => ({
    side: 'buy' as const,
    atMs: now - agoS * 1000,
    filledAtMs: null,
    stopPrice: 95,
    targetPrice: 110,
    ...extra,
  });

  it('no second proposal on the same instrument and side while one is pending', () => {
    const v = gate({ ...EMPTY, pending: [{ id: 'p1', side: 'buy' }] }, 'long');
    expect(v).toMatchObject({ allow: false, code: 'duplicate_pending' });
    expect(v.allow ? '' : v.reason).toBe('a buy proposal on TSLA is already pending (p1)');
  });

  it('no opposite proposal while the other side is pending, whatever the time', () => {
    const v = gate(
      { pending: [{ id: 'p1', side: 'buy' }], lastProposal: bought(3600), positionClosedAtMs: null },
      'short',
    );
    expect(v).toMatchObject({ allow: false, code: 'flip_flop' });
  });

  it('BUY then SELL 9 s apart is skipped with the holding time and the levels not hit', () => {
    const v = gate({ ...EMPTY, lastProposal: bought(9) }, 'short', 99);
    expect(v).toMatchObject({ allow: false, code: 'flip_flop' });
    expect(v.allow ? '' : v.reason).toBe(
      'sell TSLA 9 s after the buy proposal; minimum holding time 300 s (stop 95, target 110 not hit at 99)',
    );
  });

  it('holding time counts from the fill when the proposal filled', () => {
    expect(gate({ ...EMPTY, lastProposal: bought(400, { filledAtMs: now - 100_000 }) }, 'short').allow).toBe(
      false,
    );
    expect(gate({ ...EMPTY, lastProposal: bought(400, { filledAtMs: now - 301_000 }) }, 'short').allow).toBe(
      true,
    );
  });

  it('the opposite side is allowed once the stop or the target is hit, or the position was closed', () => {
    expect(gate({ ...EMPTY, lastProposal: bought(9) }, 'short', 95).allow).toBe(true);
    expect(gate({ ...EMPTY, lastProposal: bought(9) }, 'short', 111).allow).toBe(true);
    const sold = { ...bought(9), side: 'sell' as const, stopPrice: 105, targetPrice: 90 };
    expect(gate({ ...EMPTY, lastProposal: sold }, 'long', 104).allow).toBe(false);
    expect(gate({ ...EMPTY, lastProposal: sold }, 'long', 105).allow).toBe(true);
    expect(gate({ ...EMPTY, lastProposal: sold }, 'long', 89).allow).toBe(true);
    const filled = bought(9, { filledAtMs: now - 8_000 });
    expect(gate({ ...EMPTY, lastProposal: filled, positionClosedAtMs: now - 1_000 }, 'short', 99).allow).toBe(
      true,
    );
    // A close before the entry filled is not this position's exit.
    expect(gate({ ...EMPTY, lastProposal: filled, positionClosedAtMs: now - 9_000 }, 'short', 99).allow).toBe(
      false,
    );
  });

  it('same side after the holding time is not a flip-flop; 0 s holding turns the rule off', () => {
    expect(gate({ ...EMPTY, lastProposal: bought(9) }, 'long').allow).toBe(true);
    expect(gate({ ...EMPTY, lastProposal: bought(301) }, 'short').allow).toBe(true);
    expect(gate({ ...EMPTY, lastProposal: bought(9) }, 'short', 99, { minHoldingSeconds: 0 }).allow).toBe(
      true,
    );
  });
});
