import { describe, expect, it } from 'vitest';
import type { RecommendationEvent } from '../schemas/option-recommendation.ts';
import { recommendationEvent } from '../schemas/option-recommendation.ts';
import { filterChain, rankCandidates, SCORE_WEIGHTS, scoreContract } from './contract-selection.ts';
import { PRESETS } from './presets.ts';
import {
  type ProposedOrder,
  type RecommendDeps,
  type RecommendRequest,
  recommendStream,
  resolveStrategy,
} from './recommend.ts';
import { chainOf, contract, standardChain } from './recommend-test-chain.ts';

async function collect(
  req: RecommendRequest,
  deps: Partial<RecommendDeps> & { checked?: ProposedOrder[] } = {},
) {
  const checked: ProposedOrder[] = deps.checked ?? [];
  const events: RecommendationEvent[] = [];
  for await (const e of recommendStream(req, {
    chain: deps.chain ?? standardChain(),
    ...(deps.exposure ? { exposure: deps.exposure } : {}),
    check:
      deps.check ??
      (async (o) => {
        checked.push(o);
        return { allowed: true, verdicts: [{ rule: 'max_order_notional', status: 'passed', passed: true }] };
      }),
  })) {
    events.push(recommendationEvent.parse(e));
  }
  return { events, checked };
}

const kinds = (events: RecommendationEvent[]) =>
  events.map((e) => (e.type === 'layer' ? e.layer.kind : 'result'));
const ORDER = ['context', 'filters', 'scoring', 'sizing', 'risk', 'result'];
const resultOf = (events: RecommendationEvent[]) => {
  const last = events.at(-1);
  if (last?.type !== 'result') throw new Error('no result');
  return last;
};

describe('scoring', () => {
  it('weights sum to one', () => {
    expect(Object.values(SCORE_WEIGHTS).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('computes each component and the weighted total', () => {
    // On target delta, liquidity 80, spread 5 % of a 10 % maximum, IV rank 40 with IV = ATM IV,
    // dte at the window centre (14–45 ⇒ 29.5).
    const c = contract({
      right: 'call',
      strike: 100,
      delta: 0.45,
      mid: '4',
      liquidity: 80,
      spreadPct: 5,
      dte: 29.5,
    });
    const s = scoreContract(c, standardChain(), PRESETS.balanced);
    expect(s.delta).toBeCloseTo(1, 12);
    expect(s.liquidity).toBeCloseTo(0.8, 12);
    expect(s.spread).toBeCloseTo(0.5, 12);
    expect(s.ivCheapness).toBeCloseTo(0.8, 12); // ½(1 − 0.4) + ½·1
    expect(s.dteFit).toBeCloseTo(1, 12);
    expect(s.total).toBeCloseTo(0.35 + 0.2 + 0.075 + 0.12 + 0.1, 12);
  });

  it('prefers the contract nearer the target delta, all else equal', () => {
    const near = contract({ right: 'call', strike: 100, delta: 0.46, mid: '4' });
    const far = contract({ right: 'call', strike: 95, delta: 0.58, mid: '7' });
    const ranked = rankCandidates([far, near], standardChain(), PRESETS.balanced);
    expect(ranked.map((r) => r.contract.strike)).toEqual(['100', '95']);
  });

  it('a strike priced above the ATM IV scores lower on IV cheapness', () => {
    const cheap = contract({ right: 'call', strike: 100, delta: 0.45, mid: '4', iv: 0.3 });
    const rich = contract({ right: 'call', strike: 100, delta: 0.45, mid: '4', iv: 0.36 });
    const chain = standardChain();
    expect(scoreContract(rich, chain, PRESETS.balanced).ivCheapness).toBeCloseTo(0.3 + 0.4, 12);
    expect(scoreContract(cheap, chain, PRESETS.balanced).ivCheapness).toBeGreaterThan(
      scoreContract(rich, chain, PRESETS.balanced).ivCheapness,
    );
  });
});

describe('filters', () => {
  it('counts what each filter removed, in order', () => {
    const chain = chainOf([
      contract({ right: 'call', strike: 100, delta: 0.5, mid: '4' }),
      contract({ right: 'call', strike: 101, delta: 0.48, mid: '3.6', spreadPct: null }),
      contract({ right: 'call', strike: 102, delta: 0.45, mid: '3.3', dte: 5 }),
      contract({ right: 'call', strike: 103, delta: 0.42, mid: '3', liquidity: 10 }),
      contract({ right: 'call', strike: 104, delta: 0.4, mid: '2.7', spreadPct: 25 }),
      contract({ right: 'call', strike: 110, delta: 0.1, mid: '0.6' }),
      contract({ right: 'put', strike: 100, delta: -0.5, mid: '3.7' }),
    ]);
    const f = filterChain(chain, 'call', PRESETS.balanced);
    expect(f.layer.rows.map((r) => [r.value, r.note])).toEqual([
      ['removed 1', '6 remain'], // right
      ['removed 1', '5 remain'], // no quote
      ['removed 1', '4 remain'], // dte
      ['removed 1', '3 remain'], // liquidity
      ['removed 1', '2 remain'], // spread
      ['removed 1', '1 remain'], // delta band
    ]);
    expect(f.candidates.map((c) => c.strike)).toEqual(['100']);
    expect(f.tradable.map((c) => c.strike)).toEqual(['100', '110']);
  });
});

describe('recommendStream', () => {
  it('auto: verticals for balanced and conservative, single options for aggressive', () => {
    expect(resolveStrategy('auto', 'balanced')).toBe('vertical');
    expect(resolveStrategy('auto', 'conservative')).toBe('vertical');
    expect(resolveStrategy('auto', 'aggressive')).toBe('single');
    expect(resolveStrategy('delta_hedge', 'aggressive')).toBe('delta_hedge');
  });

  it('yields context, filters, scoring, sizing, risk, then the result (bullish balanced vertical)', async () => {
    const { events, checked } = await collect({
      view: 'bullish',
      preset: 'balanced',
      strategy: 'auto',
      capital: '100000',
    });
    expect(kinds(events)).toEqual(ORDER);
    const r = resultOf(events).recommendation!;
    // Long 100C (Δ .50 is nearest .45 within the band), short 105C; debit 2.20 ⇒ 220 per unit,
    // budget 100 000 × 2 % = 2000 ⇒ 9 units.
    expect(r).toMatchObject({
      strategy: 'vertical',
      quantity: '9',
      netPrice: '2.2',
      maxLoss: '1980',
      maxGain: '2520',
      breakevens: ['102.2'],
      allowed: true,
    });
    expect(r.netDelta).toBeCloseTo(225, 9);
    expect(r.legs.map((l) => [l.side, l.right, l.strike])).toEqual([
      ['buy', 'call', '100'],
      ['sell', 'call', '105'],
    ]);
    expect(checked).toEqual([
      {
        kind: 'combo',
        legs: [
          { symbol: r.legs[0]!.symbol, side: 'buy', ratio: 1 },
          { symbol: r.legs[1]!.symbol, side: 'sell', ratio: 1 },
        ],
        quantity: '9',
        netLimitPrice: '2.2',
      },
    ]);
    const risk = events[4]!;
    expect(risk.type === 'layer' && risk.layer.verdicts?.[0]?.rule).toBe('max_order_notional');
  });

  it('streams each layer before the next step runs: four layers are out before the governor is asked', async () => {
    const seen: string[] = [];
    const stream = recommendStream(
      { view: 'bullish', preset: 'balanced', strategy: 'vertical', capital: '100000' },
      {
        chain: standardChain(),
        check: async () => {
          seen.push(`check after ${seen.length} layers`);
          return { allowed: true, verdicts: [] };
        },
      },
    );
    for await (const e of stream) seen.push(e.type === 'layer' ? e.layer.kind : 'result');
    expect(seen).toEqual([
      'context',
      'filters',
      'scoring',
      'sizing',
      'check after 4 layers',
      'risk',
      'result',
    ]);
  });

  it('bearish picks puts', async () => {
    const { events } = await collect({
      view: 'bearish',
      preset: 'balanced',
      strategy: 'vertical',
      capital: '100000',
    });
    const r = resultOf(events).recommendation!;
    expect(r.legs.map((l) => [l.side, l.right, l.strike])).toEqual([
      ['buy', 'put', '100'],
      ['sell', 'put', '95'],
    ]);
    expect(r.netDelta).toBeLessThan(0);
  });

  it('aggressive single: one long call sized at 4 % of capital', async () => {
    const { events, checked } = await collect({
      view: 'bullish',
      preset: 'aggressive',
      strategy: 'auto',
      capital: '50000',
    });
    const r = resultOf(events).recommendation!;
    // Target .60: .50 (100C, gap .10) and .70 (95C, gap .10) both in the band; 95C scores on delta equally,
    // so the rest decides; either way one leg, budget 2000.
    expect(r.strategy).toBe('single');
    expect(r.legs).toHaveLength(1);
    const premium = Number(r.netPrice) * 100;
    expect(r.quantity).toBe(String(Math.floor(2000 / premium)));
    expect(checked[0]).toMatchObject({ kind: 'order', side: 'buy', limitPrice: r.netPrice });
  });

  it('no recommendation when the capital is too small, with the reason; no risk check', async () => {
    const { events, checked } = await collect({
      view: 'bullish',
      preset: 'balanced',
      strategy: 'vertical',
      capital: '10000',
    });
    expect(kinds(events)).toEqual(ORDER);
    const res = resultOf(events);
    expect(res.recommendation).toBeNull();
    expect(res.reason).toContain('one unit risks 220, more than the loss budget 200');
    expect(checked).toEqual([]);
  });

  it('a neutral view gets no directional strategy, and every layer says why', async () => {
    const { events } = await collect({
      view: 'neutral',
      preset: 'balanced',
      strategy: 'vertical',
      capital: '100000',
    });
    expect(kinds(events)).toEqual(ORDER);
    expect(resultOf(events).reason).toMatch(/neutral view has no direction/);
  });

  it('nothing passing the filters ends with that reason', async () => {
    const chain = standardChain();
    const thin = { ...chain, contracts: chain.contracts.map((c) => ({ ...c, liquidity: 5 })) };
    const { events } = await collect(
      { view: 'bullish', preset: 'balanced', strategy: 'vertical', capital: '100000' },
      { chain: thin },
    );
    expect(kinds(events)).toEqual(ORDER);
    expect(resultOf(events).reason).toBe('no contract passes the filters');
  });

  it('a denied verdict is carried to the result', async () => {
    const { events } = await collect(
      { view: 'bullish', preset: 'balanced', strategy: 'vertical', capital: '100000' },
      {
        check: async () => ({
          allowed: false,
          verdicts: [{ rule: 'max_open_legs', status: 'failed', passed: false, limit: '1', requested: '2' }],
        }),
      },
    );
    const risk = events[4]!;
    expect(risk.type === 'layer' && risk.layer.summary).toBe('denied by max_open_legs');
    expect(resultOf(events).recommendation?.allowed).toBe(false);
  });

  it('delta_hedge sells the desk’s long delta in whole units of the underlying', async () => {
    const { events, checked } = await collect(
      { view: 'neutral', preset: 'balanced', strategy: 'delta_hedge', capital: '100000' },
      {
        exposure: async () => ({
          underlyingMultiplier: '1',
          lotSize: '1',
          positions: [
            { symbol: 'SYN0001-270115C100', quantity: '3', unitDelta: 50, source: 'chain' },
            { symbol: 'SYN0001-270115P95', quantity: '-2', unitDelta: -30, source: 'chain' },
            { symbol: 'SYN0001', quantity: '-40.4', unitDelta: 1, source: 'linear' },
            { symbol: 'SYN0001-270115C200', quantity: '1', unitDelta: null, source: 'none' },
          ],
        }),
      },
    );
    expect(kinds(events)).toEqual(ORDER);
    // 150 + 60 − 40.4 = 169.6 ⇒ sell 170.
    const r = resultOf(events).recommendation!;
    expect(r).toMatchObject({ strategy: 'delta_hedge', quantity: '170', allowed: true });
    expect(r.legs[0]).toMatchObject({ symbol: 'SYN0001', side: 'sell' });
    expect(r.netDelta).toBeCloseTo(-0.4, 9);
    expect(checked).toEqual([
      { kind: 'order', symbol: 'SYN0001', side: 'sell', quantity: '170', limitPrice: null },
    ]);
    const filters = events[1]!;
    expect(filters.type === 'layer' && filters.layer.rows[1]?.value).toBe('removed 1');
  });
});
