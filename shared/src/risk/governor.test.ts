// One file over 400 lines: every governor rule is tested against the same order, context and
// limits fixtures defined at the top of this file.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RISK_LIMITS,
  effectiveLimits,
  evaluateOrder,
  type OrderIntent,
  type RiskContext,
  type RiskLimits,
  RiskReason,
  RiskRule,
  resolveLimits,
  toRiskLimits,
} from './governor.ts';
import { FLAT_BOOK, NO_LIMITS, NOW } from './test-context.ts';

const aapl = {
  symbol: 'AAPL',
  assetClass: 'equity',
  multiplier: '1',
  calendar: 'XNYS',
  status: 'active',
} as const;

const baseOrder: OrderIntent = {
  symbol: 'AAPL',
  side: 'buy',
  orderType: 'limit',
  quantity: '10',
  limitPrice: '100',
  origin: 'human',
};

const baseCtx: RiskContext = {
  ...FLAT_BOOK,
  instrument: aapl,
  instruments: { AAPL: aapl },
  quote: { bid: '99.99', ask: '100.01', last: '100', ts: new Date(NOW.getTime() - 100) },
  marks: { AAPL: '100' },
};

function run(opts: {
  order?: Partial<OrderIntent>;
  ctx?: Partial<RiskContext>;
  limits?: Partial<RiskLimits>;
}) {
  return evaluateOrder(
    { ...baseOrder, ...opts.order },
    { ...baseCtx, ...opts.ctx },
    { ...NO_LIMITS, ...opts.limits },
  );
}
const verdict = (d: ReturnType<typeof run>, rule: string) => d.verdicts.find((v) => v.rule === rule)!;

describe('risk governor', () => {
  it('evaluates every rule and allows a clean order', () => {
    const d = run({});
    expect(d.allowed).toBe(true);
    expect(d.verdicts.map((v) => v.rule).sort()).toEqual(Object.values(RiskRule).sort());
  });

  it('reports every failing rule at once, with its numbers', () => {
    const d = run({ order: { quantity: '11' }, limits: { maxOrderQty: '10', maxOrderNotional: '1000' } });
    expect(d.allowed).toBe(false);
    expect(d.denials.map((v) => v.code)).toEqual([RiskReason.MAX_ORDER_QTY, RiskReason.MAX_ORDER_NOTIONAL]);
    expect(verdict(d, RiskRule.ORDER_QTY)).toMatchObject({ limit: '10', requested: '11' });
    expect(verdict(d, RiskRule.ORDER_NOTIONAL)).toMatchObject({ limit: '1000', requested: '1100' });
  });

  it('max order quantity: at the limit passes, one lot over fails', () => {
    expect(run({ order: { quantity: '10' }, limits: { maxOrderQty: '10' } }).allowed).toBe(true);
    expect(run({ order: { quantity: '10.000001' }, limits: { maxOrderQty: '10' } }).denials[0]?.code).toBe(
      RiskReason.MAX_ORDER_QTY,
    );
  });

  it('max order notional uses limit price × qty × multiplier; market orders use the touch', () => {
    expect(run({ limits: { maxOrderNotional: '1000' } }).allowed).toBe(true);
    expect(
      run({ order: { limitPrice: '100.01' }, limits: { maxOrderNotional: '1000' } }).denials[0],
    ).toMatchObject({
      code: RiskReason.MAX_ORDER_NOTIONAL,
      requested: '1000.1',
    });
    // market buy of 10 at ask 100.01 = 1000.1
    expect(
      run({ order: { orderType: 'market', limitPrice: null }, limits: { maxOrderNotional: '1000.1' } })
        .allowed,
    ).toBe(true);
    expect(
      run({ order: { orderType: 'market', limitPrice: null }, limits: { maxOrderNotional: '1000.09' } })
        .allowed,
    ).toBe(false);
    // no price at all: deny by default
    const noPrice = run({
      order: { orderType: 'market', limitPrice: null },
      ctx: { quote: null, marks: {} },
      limits: { maxOrderNotional: '1e9' },
    });
    expect(verdict(noPrice, RiskRule.ORDER_NOTIONAL).code).toBe(RiskReason.NO_REFERENCE_PRICE);
  });

  it('max position counts working orders at once', () => {
    const ctx = {
      positions: [{ symbol: 'AAPL', quantity: '50' }],
      workingOrders: [{ symbol: 'AAPL', side: 'buy' as const, leavesQty: '40' }],
    };
    expect(run({ ctx, limits: { maxPosition: '100' } }).allowed).toBe(true); // 50 + 40 + 10 = 100
    const d = run({ ctx, order: { quantity: '11' }, limits: { maxPosition: '100' } });
    expect(d.denials[0]).toMatchObject({
      code: RiskReason.MAX_POSITION,
      limit: '100',
      requested: '101',
      current: '90',
    });
  });

  it('max position lets a desk above a lowered limit trade out of it', () => {
    const ctx = { positions: [{ symbol: 'AAPL', quantity: '150' }] };
    expect(
      run({ ctx, order: { side: 'sell', limitPrice: '100' }, limits: { maxPosition: '100' } }).allowed,
    ).toBe(true);
    expect(run({ ctx, order: { side: 'buy' }, limits: { maxPosition: '100' } }).allowed).toBe(false);
  });

  it('max gross exposure: just inside and just outside', () => {
    const ctx = {
      positions: [{ symbol: 'MSFT', quantity: '-10' }],
      instruments: { AAPL: aapl, MSFT: { ...aapl, symbol: 'MSFT' } },
      marks: { AAPL: '100', MSFT: '400' },
    };
    // |−10 × 400| + 10 × 100 = 5000
    expect(run({ ctx, limits: { maxGrossExposure: '5000' } }).allowed).toBe(true);
    expect(run({ ctx, limits: { maxGrossExposure: '4999.99' } }).denials[0]).toMatchObject({
      code: RiskReason.MAX_GROSS_EXPOSURE,
      requested: '5000',
      current: '4000',
    });
  });

  it('max net exposure: just inside and just outside', () => {
    const ctx = {
      positions: [{ symbol: 'MSFT', quantity: '-10' }],
      instruments: { AAPL: aapl, MSFT: { ...aapl, symbol: 'MSFT' } },
      marks: { AAPL: '100', MSFT: '400' },
    };
    // net = −4000 + 1000 = −3000 → |3000|; a sell of AAPL would make it −5000
    expect(run({ ctx, order: { side: 'sell' }, limits: { maxNetExposure: '5000' } }).allowed).toBe(true);
    expect(run({ ctx, order: { side: 'sell' }, limits: { maxNetExposure: '4999' } }).denials[0]?.code).toBe(
      RiskReason.MAX_NET_EXPOSURE,
    );
    // the buy reduces net short exposure: passes even with a tight limit
    expect(run({ ctx, limits: { maxNetExposure: '3000' } }).allowed).toBe(true);
  });

  it('max net delta is options-aware (delta × multiplier × underlying)', () => {
    const call = {
      symbol: 'AAPL261218C00100000',
      assetClass: 'option',
      multiplier: '100',
      calendar: 'XNYS',
      status: 'active',
      underlyingSymbol: 'AAPL',
      delta: 0.5,
    } as const;
    const ctx = {
      instrument: call,
      instruments: { AAPL: aapl, [call.symbol]: call },
      marks: { AAPL: '100', [call.symbol]: '5' },
      positions: [{ symbol: 'AAPL', quantity: '-20' }],
      quote: { bid: '4.99', ask: '5.01', ts: baseCtx.quote!.ts },
    };
    const order = { symbol: call.symbol, quantity: '1', limitPrice: '5' };
    // stock −20 × 100 = −2000 $delta; +1 call × 0.5 × 100 × 100 = +5000 → net +3000
    expect(run({ ctx, order, limits: { maxNetDelta: '3000' } }).allowed).toBe(true);
    expect(run({ ctx, order, limits: { maxNetDelta: '2999.99' } }).denials[0]).toMatchObject({
      code: RiskReason.MAX_NET_DELTA,
      requested: '3000',
      current: '2000',
    });
    // an option without greeks cannot be proven inside the limit
    const noGreeks = { ...call, delta: null };
    const d = run({
      ctx: { ...ctx, instrument: noGreeks, instruments: { AAPL: aapl, [call.symbol]: noGreeks } },
      order,
      limits: { maxNetDelta: '1e9' },
    });
    expect(verdict(d, RiskRule.NET_DELTA).code).toBe(RiskReason.NO_REFERENCE_PRICE);
  });

  it('max open legs counts positions and working orders', () => {
    const ctx = {
      positions: [{ symbol: 'MSFT', quantity: '1' }],
      workingOrders: [{ symbol: 'NVDA', side: 'buy' as const, leavesQty: '1' }],
      instruments: { AAPL: aapl, MSFT: { ...aapl, symbol: 'MSFT' }, NVDA: { ...aapl, symbol: 'NVDA' } },
      marks: { AAPL: '100', MSFT: '400', NVDA: '150' },
    };
    expect(run({ ctx, limits: { maxOpenLegs: 3 } }).allowed).toBe(true);
    expect(run({ ctx, limits: { maxOpenLegs: 2 } }).denials[0]).toMatchObject({
      code: RiskReason.MAX_OPEN_LEGS,
      requested: '3',
      current: '2',
    });
  });

  it('max daily loss: realized + unrealized; reducing orders still pass', () => {
    const limits = { maxDailyLoss: '1000' };
    expect(run({ ctx: { dailyPnl: { realized: '-600', unrealized: '-399.99' } }, limits }).allowed).toBe(
      true,
    );
    const d = run({ ctx: { dailyPnl: { realized: '-600', unrealized: '-400' } }, limits });
    expect(d.denials[0]).toMatchObject({ code: RiskReason.MAX_DAILY_LOSS, limit: '1000', current: '1000' });
    const reducing = run({
      order: { side: 'sell' },
      ctx: {
        dailyPnl: { realized: '-600', unrealized: '-500' },
        positions: [{ symbol: 'AAPL', quantity: '10' }],
      },
      limits,
    });
    expect(reducing.allowed).toBe(true);
  });

  it('stale reference data blocks risk-increasing orders only', () => {
    const limits = { maxReferenceAgeMs: 1000 };
    const at = (age: number) => ({ ...baseCtx.quote!, ts: new Date(NOW.getTime() - age) });
    expect(run({ ctx: { quote: at(1000) }, limits }).allowed).toBe(true);
    expect(run({ ctx: { quote: at(1001) }, limits }).denials[0]).toMatchObject({
      code: RiskReason.STALE_REFERENCE_PRICE,
      limit: '1000',
      current: '1001',
    });
    const reducing = run({
      order: { side: 'sell' },
      ctx: { quote: at(60_000), positions: [{ symbol: 'AAPL', quantity: '10' }] },
      limits,
    });
    expect(reducing.allowed).toBe(true);
    expect(run({ ctx: { quote: null }, limits }).denials[0]?.code).toBe(RiskReason.NO_REFERENCE_PRICE);
  });

  it('price collar: buy limit at most reference × (1 + bps)', () => {
    const limits = { priceCollarBps: 100 }; // 1 % of mid 100 → 101
    expect(run({ order: { limitPrice: '101' }, limits }).allowed).toBe(true);
    expect(run({ order: { limitPrice: '101.01' }, limits }).denials[0]).toMatchObject({
      code: RiskReason.PRICE_OUTSIDE_COLLAR,
      limit: '101',
      requested: '101.01',
      current: '100',
    });
    expect(run({ order: { side: 'sell', limitPrice: '99' }, limits }).allowed).toBe(true);
    expect(run({ order: { side: 'sell', limitPrice: '98.99' }, limits }).allowed).toBe(false);
  });

  it('spread guard in bps of the mid', () => {
    // bid 99.99 ask 100.01 → 2 bps
    expect(run({ limits: { maxSpreadBps: 2 } }).allowed).toBe(true);
    expect(run({ limits: { maxSpreadBps: 1 } }).denials[0]).toMatchObject({
      code: RiskReason.SPREAD_TOO_WIDE,
      current: '2',
    });
    expect(
      run({ ctx: { quote: { last: '100', ts: NOW } }, limits: { maxSpreadBps: 100 } }).denials[0]?.code,
    ).toBe(RiskReason.NO_QUOTE);
  });

  it('market hours: XNYS regular session, weekends, holidays, early closes; crypto 24/7', () => {
    const at = (iso: string) =>
      run({ ctx: { now: new Date(iso), quote: { ...baseCtx.quote!, ts: new Date(iso) } } });
    expect(at('2026-11-25T14:30:00Z').allowed).toBe(true); // 09:30 ET: open
    expect(at('2026-11-25T14:29:59Z').denials[0]?.code).toBe(RiskReason.MARKET_CLOSED);
    expect(at('2026-11-25T20:59:59Z').allowed).toBe(true); // 15:59:59 ET
    expect(at('2026-11-25T21:00:00Z').denials[0]?.code).toBe(RiskReason.MARKET_CLOSED);
    expect(at('2026-11-26T16:00:00Z').denials[0]?.code).toBe(RiskReason.MARKET_CLOSED); // Thanksgiving
    expect(at('2026-11-27T17:59:00Z').allowed).toBe(true); // 12:59 ET, early close day
    expect(at('2026-11-27T18:00:00Z').denials[0]?.code).toBe(RiskReason.MARKET_CLOSED); // 13:00 ET
    expect(at('2026-11-28T16:00:00Z').denials[0]?.code).toBe(RiskReason.MARKET_CLOSED); // Saturday
    expect(at('2026-07-01T13:30:00Z').allowed).toBe(true); // summer time: 09:30 EDT
    expect(at('2026-07-01T13:29:00Z').allowed).toBe(false);
    expect(at('2031-03-03T15:00:00Z').denials[0]?.code).toBe(RiskReason.UNKNOWN_CALENDAR);
    const btc = {
      symbol: 'BTC-USD',
      assetClass: 'crypto',
      multiplier: '1',
      calendar: '24x7',
      status: 'active',
    } as const;
    const sunday = new Date('2026-11-29T03:00:00Z');
    const d = run({
      order: { symbol: 'BTC-USD', limitPrice: '100' },
      ctx: {
        now: sunday,
        instrument: btc,
        instruments: { 'BTC-USD': btc },
        marks: { 'BTC-USD': '100' },
        quote: { ...baseCtx.quote!, ts: sunday },
      },
    });
    expect(d.allowed).toBe(true);
    expect(run({ ctx: { instrument: { ...aapl, calendar: 'XLON' } } }).denials[0]?.code).toBe(
      RiskReason.UNKNOWN_CALENDAR,
    );
  });

  it('restricted, halted and delisted instruments', () => {
    expect(run({ limits: { restricted: true } }).denials[0]?.code).toBe(RiskReason.INSTRUMENT_RESTRICTED);
    expect(run({ ctx: { instrument: { ...aapl, status: 'halted' } } }).denials[0]?.code).toBe(
      RiskReason.INSTRUMENT_HALTED,
    );
    expect(run({ ctx: { instrument: { ...aapl, status: 'delisted' } } }).denials[0]?.code).toBe(
      RiskReason.INSTRUMENT_DELISTED,
    );
  });

  it('duplicate order within the window', () => {
    const recent = (ageMs: number, qty = '10') => ({
      symbol: 'AAPL',
      side: 'buy' as const,
      orderType: 'limit' as const,
      quantity: qty,
      limitPrice: '100.000',
      createdAt: new Date(NOW.getTime() - ageMs),
    });
    const limits = { duplicateWindowMs: 2000 };
    expect(run({ ctx: { recentOrders: [recent(2000)] }, limits }).allowed).toBe(true);
    expect(run({ ctx: { recentOrders: [recent(1999)] }, limits }).denials[0]?.code).toBe(
      RiskReason.DUPLICATE_ORDER,
    );
    expect(run({ ctx: { recentOrders: [recent(10, '10.5')] }, limits }).allowed).toBe(true);
  });

  it('order rate throttle over a rolling minute', () => {
    const recent = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        symbol: 'AAPL',
        side: 'buy' as const,
        orderType: 'market' as const,
        quantity: String(i + 100),
        createdAt: new Date(NOW.getTime() - 1000 * i),
      }));
    const limits = { maxOrdersPerMinute: 5 };
    expect(run({ ctx: { recentOrders: recent(4) }, limits }).allowed).toBe(true);
    expect(run({ ctx: { recentOrders: recent(5) }, limits }).denials[0]).toMatchObject({
      code: RiskReason.ORDER_RATE_EXCEEDED,
      limit: '5',
      requested: '6',
    });
  });

  it('throttle: a counted minute (recentOrderCount) is used instead of the listed orders', () => {
    const limits = { maxOrdersPerMinute: 5 };
    // The list holds only what the duplicate guard needs; the count is the minute's orders.
    expect(run({ ctx: { recentOrders: [], recentOrderCount: 4 }, limits }).allowed).toBe(true);
    expect(run({ ctx: { recentOrders: [], recentOrderCount: 5 }, limits }).denials[0]).toMatchObject({
      code: RiskReason.ORDER_RATE_EXCEEDED,
      limit: '5',
      requested: '6',
      current: '5',
    });
  });

  it('circuit breaker: 3 losses each worse than $500 stop automated orders, not humans', () => {
    const limits = { lossStreakCount: 3, lossStreakThreshold: '500' };
    const agent = { origin: 'agent' as const };
    expect(run({ order: agent, ctx: { recentTradePnls: ['-500', '-900', '-900'] }, limits }).allowed).toBe(
      true,
    );
    expect(
      run({ order: agent, ctx: { recentTradePnls: ['-500.01', '-900', '-900'] }, limits }).denials[0]?.code,
    ).toBe(RiskReason.LOSS_STREAK);
    expect(run({ order: agent, ctx: { recentTradePnls: ['-900', '-900'] }, limits }).allowed).toBe(true);
    expect(run({ ctx: { recentTradePnls: ['-900', '-900', '-900'] }, limits }).allowed).toBe(true); // human
    expect(run({ order: { origin: 'api' }, ctx: { automationEnabled: false } }).denials[0]?.code).toBe(
      RiskReason.AUTOMATION_DISABLED,
    );
    // defaults apply when the desk configured none: 3 × $500
    const defaults = { limits: DEFAULT_RISK_LIMITS };
    expect(
      run({ order: agent, ctx: { recentTradePnls: ['-501', '-501', '-501'] }, ...defaults }).allowed,
    ).toBe(false);
    // a removed streak limit switches the streak check off, not the tripped flag
    expect(run({ order: agent, ctx: { recentTradePnls: ['-501', '-501', '-501'] } }).allowed).toBe(true);
  });

  it('halt: only risk-reducing orders pass', () => {
    const long = { positions: [{ symbol: 'AAPL', quantity: '10' }] };
    expect(run({ ctx: { ...long, halt: { global: false, desk: true } } }).denials[0]?.code).toBe(
      RiskReason.DESK_HALT,
    );
    expect(run({ ctx: { ...long, halt: { global: true, desk: false } } }).denials[0]?.code).toBe(
      RiskReason.GLOBAL_HALT,
    );
    expect(
      run({ order: { side: 'sell', quantity: '10' }, ctx: { ...long, halt: { global: true, desk: true } } })
        .allowed,
    ).toBe(true);
    // selling more than the position would flip it short: not reducing
    expect(
      run({
        order: { side: 'sell', quantity: '10.01' },
        ctx: { ...long, halt: { global: true, desk: false } },
      }).allowed,
    ).toBe(false);
    // a working sell already covers part of the position
    const covered = { ...long, workingOrders: [{ symbol: 'AAPL', side: 'sell' as const, leavesQty: '5' }] };
    expect(
      run({
        order: { side: 'sell', quantity: '6' },
        ctx: { ...covered, halt: { global: false, desk: true } },
      }).allowed,
    ).toBe(false);
  });

  it('rejects non-positive quantities as bad input', () => {
    expect(() => run({ order: { quantity: '0' } })).toThrow(/positive/);
  });
});

describe('verdict statuses', () => {
  it('lists every rule with a status; not-applicable rules carry their reason, never a silent skip', () => {
    const d = evaluateOrder(
      { ...baseOrder, orderType: 'market', limitPrice: null },
      baseCtx,
      DEFAULT_RISK_LIMITS,
    );
    expect(d.verdicts.map((v) => v.rule).sort()).toEqual(Object.values(RiskRule).sort());
    for (const v of d.verdicts) {
      expect(['passed', 'failed', 'not_applicable']).toContain(v.status);
      expect(v.passed).toBe(v.status !== 'failed');
      if (v.status !== 'passed') expect(v.message).toBeTruthy();
    }
    expect(verdict(d, RiskRule.PRICE_COLLAR)).toMatchObject({
      status: 'not_applicable',
      message: 'market order: no limit price to collar',
    });
    expect(verdict(d, RiskRule.CIRCUIT_BREAKER).status).toBe('not_applicable');
  });

  it('a removed limit is not applicable with who-removed-when, not passed', () => {
    const limits = resolveLimits(
      {
        values: {},
        restricted: false,
        removed: { maxOrderQty: { at: '2026-11-25T14:00:00.000Z', by: null } },
      },
      null,
    );
    const v = verdict(run({ limits: { ...limits } }), RiskRule.ORDER_QTY);
    expect(v).toMatchObject({ status: 'not_applicable', passed: true });
    expect(v.message).toBe('limit removed by a desk admin at 2026-11-25T14:00:00.000Z');
  });
});

describe('default limits (a fresh desk refuses an oversized market order)', () => {
  it('a fresh desk is denied BUY 100,000 at market of a $168 stock by order notional', () => {
    const q = { bid: '167.99', ask: '168.01', last: '168', ts: new Date(NOW.getTime() - 100) };
    const d = evaluateOrder(
      { ...baseOrder, orderType: 'market', limitPrice: null, quantity: '100000' },
      { ...baseCtx, quote: q, marks: { AAPL: '168' } },
      resolveLimits(null, null),
    );
    expect(d.allowed).toBe(false);
    expect(verdict(d, RiskRule.ORDER_NOTIONAL)).toMatchObject({
      status: 'failed',
      code: RiskReason.MAX_ORDER_NOTIONAL,
      limit: '50000',
      requested: '16801000',
    });
  });

  it('every limit has a default: nothing is null for a desk that configured nothing', () => {
    for (const [k, v] of Object.entries(DEFAULT_RISK_LIMITS)) {
      if (k === 'removed') expect(v).toEqual({});
      else expect(v, k).not.toBeNull();
    }
  });
});

describe('resolveLimits', () => {
  const stored = (values: object, removed: object = {}, restricted = false) => ({
    values,
    removed,
    restricted,
  });

  it('gives options their own spread default; a desk or instrument value still replaces it', () => {
    expect(resolveLimits(null, null).maxSpreadBps).toBe(200);
    expect(resolveLimits(null, null, 'option').maxSpreadBps).toBe(1500);
    expect(resolveLimits(null, null, 'equity').maxSpreadBps).toBe(200);
    // Book-wide limits never vary by the ordered instrument.
    expect(resolveLimits(null, null, 'option').maxNetDelta).toBe(DEFAULT_RISK_LIMITS.maxNetDelta);
    expect(resolveLimits(stored({ maxSpreadBps: 300 }), null, 'option').maxSpreadBps).toBe(300);
    expect(resolveLimits(stored({}), stored({ maxSpreadBps: 900 }), 'option').maxSpreadBps).toBe(900);
  });

  it('uses platform defaults without rows, and a NULL column inherits instead of meaning no limit', () => {
    expect(resolveLimits(null, null)).toEqual(DEFAULT_RISK_LIMITS);
    // finding 2: a desk row that sets one field keeps every other protection at its default.
    const r = resolveLimits(stored({ maxOrderQty: '100', priceCollarBps: null }), null);
    expect(r).toEqual({ ...DEFAULT_RISK_LIMITS, maxOrderQty: '100' });
  });

  it('an instrument row replaces the desk value either way; its NULLs inherit the desk', () => {
    const r = resolveLimits(
      stored({ maxOrderQty: '100', maxPosition: '50', maxSpreadBps: 20 }),
      stored({ maxOrderQty: '250', maxPosition: null, maxSpreadBps: 10 }, {}, true),
    );
    expect(r).toMatchObject({ maxOrderQty: '250', maxPosition: '50', maxSpreadBps: 10, restricted: true });
    expect(r.priceCollarBps).toBe(DEFAULT_RISK_LIMITS.priceCollarBps);
  });

  it('an instrument row cannot touch book-wide limits', () => {
    const r = resolveLimits(stored({}), stored({ maxGrossExposure: '1', maxOrdersPerMinute: 1 }));
    expect(r.maxGrossExposure).toBe(DEFAULT_RISK_LIMITS.maxGrossExposure);
    expect(r.maxOrdersPerMinute).toBe(DEFAULT_RISK_LIMITS.maxOrdersPerMinute);
  });

  it('only an explicit removal yields no limit, with its source and reason', () => {
    const at = '2026-11-25T14:00:00.000Z';
    const desk = stored({ priceCollarBps: 100 }, { maxSpreadBps: { at, by: 'u1' } });
    const e = effectiveLimits(desk, stored({ priceCollarBps: null }, { maxOrderQty: { at, by: 'u1' } }));
    expect(e.fields.priceCollarBps).toEqual({ value: 100, source: 'desk' });
    expect(e.fields.maxSpreadBps).toMatchObject({ value: null, source: 'removed', removal: { scope: '*' } });
    expect(e.fields.maxOrderQty).toMatchObject({ source: 'removed', removal: { scope: 'instrument' } });
    expect(e.fields.maxPosition).toEqual({ value: DEFAULT_RISK_LIMITS.maxPosition, source: 'default' });
    const r = toRiskLimits(e);
    expect(r.maxSpreadBps).toBeNull();
    expect(r.removed?.maxOrderQty).toBe(`limit removed for this instrument by a desk admin at ${at}`);
  });
});
