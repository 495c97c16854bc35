import { describe, expect, it } from 'vitest';
import type { PayoffLeg } from '../orders/combo.ts';
import { type ComboIntent, type ComboLegContext, type ComboRiskContext, evaluateCombo } from './combo.ts';
import {
  evaluateOrder,
  type InstrumentInfo,
  type RiskContext,
  type RiskLimits,
  RiskReason,
} from './governor.ts';
import { FLAT_BOOK, NO_LIMITS, NOW } from './test-context.ts';

const xyz: InstrumentInfo = {
  symbol: 'XYZ',
  assetClass: 'equity',
  multiplier: '1',
  calendar: '24x7',
  status: 'active',
};
const opt = (symbol: string, delta: number): InstrumentInfo => ({
  symbol,
  assetClass: 'option',
  multiplier: '100',
  calendar: '24x7',
  status: 'active',
  underlyingSymbol: 'XYZ',
  delta,
});
const terms: Record<string, Omit<PayoffLeg, 'side' | 'ratio'>> = {
  C100: {
    kind: 'option',
    right: 'call',
    strike: '100',
    expiry: '2026-12-18',
    underlying: 'XYZ',
    multiplier: '100',
  },
  C105: {
    kind: 'option',
    right: 'call',
    strike: '105',
    expiry: '2026-12-18',
    underlying: 'XYZ',
    multiplier: '100',
  },
  P95: {
    kind: 'option',
    right: 'put',
    strike: '95',
    expiry: '2026-12-18',
    underlying: 'XYZ',
    multiplier: '100',
  },
};
const insts: Record<string, InstrumentInfo> = {
  C100: opt('C100', 0.6),
  C105: opt('C105', 0.4),
  P95: opt('P95', -0.4),
};
const quotes: Record<string, { bid: string; ask: string }> = {
  C100: { bid: '4.9', ask: '5' },
  C105: { bid: '2', ask: '2.1' },
  P95: { bid: '1.9', ask: '2' },
};
const legCtx = (symbol: string, limits: Partial<RiskLimits> = {}): ComboLegContext => ({
  instrument: insts[symbol]!,
  quote: { ...quotes[symbol]!, last: null, ts: new Date(NOW.getTime() - 50) },
  limits: { ...NO_LIMITS, ...limits },
  payoff: { side: 'buy', ratio: 1, ...terms[symbol]! },
});
const ctxOf = (
  over: Partial<ComboRiskContext> = {},
  legLimits: Partial<RiskLimits> = {},
): ComboRiskContext => ({
  ...FLAT_BOOK,
  instruments: { XYZ: xyz, ...insts },
  marks: { XYZ: '100', C100: '4.95', C105: '2.05', P95: '1.95' },
  legs: { C100: legCtx('C100', legLimits), C105: legCtx('C105', legLimits), P95: legCtx('P95', legLimits) },
  recentCombos: [],
  ...over,
});
const combo = (legs: [string, 'buy' | 'sell'][], over: Partial<ComboIntent> = {}): ComboIntent => ({
  strategy: 'vertical',
  orderType: 'limit',
  quantity: '1',
  netLimitPrice: '3',
  origin: 'human',
  legs: legs.map(([symbol, side]) => ({ symbol, side, ratio: 1, quantity: over.quantity ?? '1' })),
  ...over,
});
/** The same leg as a single order through the single-order governor. */
const alone = (symbol: string, side: 'buy' | 'sell', ctx: ComboRiskContext, limits: RiskLimits) => {
  const l = ctx.legs[symbol]!;
  const single: RiskContext = { ...ctx, instrument: l.instrument, quote: l.quote };
  return evaluateOrder({ symbol, side, orderType: 'market', quantity: '1', origin: 'human' }, single, limits);
};
const rule = (d: { verdicts: readonly { rule: string; message?: string; passed: boolean }[] }, r: string) =>
  d.verdicts.filter((v) => v.rule === r);

describe('the combo governor judges the whole', () => {
  it('a vertical passes the net-delta limit that its long leg alone breaches', () => {
    // Dollar delta: C100 0.6 × 100 × 100 = 6,000; the vertical nets 0.2 × 100 × 100 = 2,000.
    const limits = { ...NO_LIMITS, maxNetDelta: '3000' };
    const ctx = ctxOf();
    expect(alone('C100', 'buy', ctx, limits).allowed).toBe(false);
    const d = evaluateCombo(
      combo([
        ['C100', 'buy'],
        ['C105', 'sell'],
      ]),
      ctx,
      limits,
    );
    expect(d.allowed).toBe(true);
    expect(rule(d, 'net_delta')[0]).toMatchObject({ passed: true, requested: '2000' });
  });

  it('a combo whose legs each pass alone is denied when together they breach net delta', () => {
    // Long call (+6,000) and short put (+4,000): 10,000 together against a limit of 8,000.
    const limits = { ...NO_LIMITS, maxNetDelta: '8000' };
    const ctx = ctxOf();
    expect(alone('C100', 'buy', ctx, limits).allowed).toBe(true);
    expect(alone('P95', 'sell', ctx, limits).allowed).toBe(true);
    const d = evaluateCombo(
      combo(
        [
          ['C100', 'buy'],
          ['P95', 'sell'],
        ],
        { strategy: 'custom', netLimitPrice: '3.1' },
      ),
      ctx,
      limits,
    );
    expect(d.allowed).toBe(false);
    expect(d.denials).toEqual([
      expect.objectContaining({
        rule: 'net_delta',
        code: RiskReason.MAX_NET_DELTA,
        requested: '10000',
        message: expect.stringContaining('combo (all legs)'),
      }),
    ]);
  });

  it('counts open legs after the fill: two new instruments on a desk at its limit less one', () => {
    const ctx = ctxOf({ positions: [{ symbol: 'XYZ', quantity: '10' }] });
    const d = evaluateCombo(
      combo([
        ['C100', 'buy'],
        ['C105', 'sell'],
      ]),
      ctx,
      { ...NO_LIMITS, maxOpenLegs: 2 },
    );
    expect(d.allowed).toBe(false);
    expect(d.denials[0]).toMatchObject({ rule: 'open_legs', requested: '3', current: '1' });
  });

  it('per-leg rules name their leg: a halted short leg denies the combo', () => {
    const ctx = ctxOf();
    const halted = {
      ...ctx,
      legs: {
        ...ctx.legs,
        C105: { ...ctx.legs.C105!, instrument: { ...insts.C105!, status: 'halted' as const } },
      },
    };
    const d = evaluateCombo(
      combo([
        ['C100', 'buy'],
        ['C105', 'sell'],
      ]),
      halted,
      NO_LIMITS,
    );
    expect(d.denials).toEqual([
      expect.objectContaining({
        rule: 'instrument',
        code: 'INSTRUMENT_HALTED',
        message: expect.stringContaining('leg C105 (sell 1×)'),
      }),
    ]);
  });
});

describe('maximum loss', () => {
  it('a debit vertical: debit × qty × multiplier, bounded by the max order notional', () => {
    const c = combo(
      [
        ['C100', 'buy'],
        ['C105', 'sell'],
      ],
      { quantity: '4', netLimitPrice: '3' },
    );
    const ok = evaluateCombo(c, ctxOf(), { ...NO_LIMITS, maxOrderNotional: '1200' });
    expect(ok.maxLoss).toBe('1200');
    expect(ok.allowed).toBe(true);
    const denied = evaluateCombo(c, ctxOf(), { ...NO_LIMITS, maxOrderNotional: '1199' });
    expect(denied.denials).toEqual([
      expect.objectContaining({
        rule: 'combo_max_loss',
        code: 'MAX_ORDER_NOTIONAL',
        limit: '1199',
        requested: '1200',
      }),
    ]);
    expect(denied.denials[0]!.message).toContain('max order notional');
  });
  it('a credit vertical: (width − credit) × qty × multiplier; a market combo is priced at the touches', () => {
    const credit = evaluateCombo(
      combo(
        [
          ['C100', 'sell'],
          ['C105', 'buy'],
        ],
        { netLimitPrice: '-2' },
      ),
      ctxOf(),
      NO_LIMITS,
    );
    expect(credit.maxLoss).toBe('300');
    const market = evaluateCombo(
      combo(
        [
          ['C100', 'buy'],
          ['C105', 'sell'],
        ],
        { orderType: 'market', netLimitPrice: null },
      ),
      ctxOf(),
      NO_LIMITS,
    );
    // Buy C100 at its ask 5, sell C105 at its bid 2: a 3.00 debit.
    expect(market.netPrice).toBe('3');
    expect(market.maxLoss).toBe('300');
  });
  it('naked short calls are denied as unbounded, unless the desk holds the shares that cover them', () => {
    const ratio = combo(
      [
        ['C100', 'buy'],
        ['C105', 'sell'],
      ],
      { strategy: 'custom', netLimitPrice: '-1' },
    );
    const twoShort = { ...ratio, legs: [ratio.legs[0]!, { ...ratio.legs[1]!, ratio: 2, quantity: '2' }] };
    const naked = evaluateCombo(twoShort, ctxOf(), NO_LIMITS);
    expect(naked.allowed).toBe(false);
    expect(naked.maxLoss).toBeNull();
    expect(naked.denials[0]).toMatchObject({ rule: 'combo_max_loss', code: 'UNBOUNDED_LOSS' });
    const covered = evaluateCombo(
      twoShort,
      ctxOf({ positions: [{ symbol: 'XYZ', quantity: '100' }] }),
      NO_LIMITS,
    );
    expect(covered.allowed).toBe(true);
  });
});

describe('halts, duplicates, throttle', () => {
  it('under a halt only a combo that reduces every leg passes', () => {
    const halted = { halt: { global: false, desk: true } };
    const opening = evaluateCombo(
      combo([
        ['C100', 'buy'],
        ['C105', 'sell'],
      ]),
      ctxOf(halted),
      NO_LIMITS,
    );
    expect(opening.denials.map((v) => v.code)).toEqual(['DESK_HALT']);
    const closing = evaluateCombo(
      combo(
        [
          ['C100', 'sell'],
          ['C105', 'buy'],
        ],
        { netLimitPrice: '-2' },
      ),
      ctxOf({
        ...halted,
        positions: [
          { symbol: 'C100', quantity: '1' },
          { symbol: 'C105', quantity: '-1' },
        ],
      }),
      NO_LIMITS,
    );
    expect(closing.allowed).toBe(true);
  });
  it('the same combo within the duplicate window is denied; the throttle counts it once', () => {
    const c = combo([
      ['C100', 'buy'],
      ['C105', 'sell'],
    ]);
    const sig = 'vertical|limit|1|3|C100:buy:1,C105:sell:1';
    const d = evaluateCombo(
      c,
      ctxOf({ recentCombos: [{ signature: sig, createdAt: new Date(NOW.getTime() - 500) }] }),
      {
        ...NO_LIMITS,
        duplicateWindowMs: 2000,
        maxOrdersPerMinute: 1,
      },
    );
    expect(d.denials.map((v) => v.code)).toEqual(['DUPLICATE_ORDER']);
  });
});
