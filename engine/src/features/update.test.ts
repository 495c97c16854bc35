// One file over 400 lines: every feature's reference definition is checked against the one
// incremental updater it tests, with shared tick builders and fixtures.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TickRecord } from '../feeds/tick.ts';
import { TICK, TICK_KIND } from '../ring/layout.ts';
import { RingBuffer } from '../ring/ring-buffer.ts';
import { writeTick } from '../ring/tick-ring-writer.ts';
import {
  alphaOfSpan,
  type Coefficients,
  coefficients,
  DEFAULT_PATTERN_PARAMS,
  type FeatureParams,
  featureParamsSchema,
} from './params.ts';
import { F, FeatureState, FIELD_WORDS, HALF0, PRICES_OFFSET, STATE_WORDS } from './state.ts';
import { computeTick } from './update.ts';

/**
 * Every feature against a straightforward, non-incremental definition computed from the whole
 * history at every step (closed-form exponential weights, explicit windows), on random data.
 *
 * Over 400 lines on purpose: the reference definitions of every feature sit beside the comparisons
 * that use them.
 */
type T = Omit<TickRecord, 'symbolId' | 'seq' | 'tsEventUs'> & { tsUs: number };

const US_PER_DAY = 86_400_000_000;
const quoteOk = (t: T) => t.bid > 0 && t.ask >= t.bid && Number.isFinite(t.ask);
const bookOk = (t: T) =>
  quoteOk(t) &&
  t.bidSize >= 0 &&
  t.askSize >= 0 &&
  t.bidSize + t.askSize > 0 &&
  Number.isFinite(t.bidSize + t.askSize);
const isTrade = (t: T) =>
  t.kind === TICK_KIND.trade &&
  t.size > 0 &&
  Number.isFinite(t.size) &&
  t.price > 0 &&
  Number.isFinite(t.price);
/** The mid of a usable quote; else a trade's price; else none (0). */
const refPrice = (t: T) => (quoteOk(t) ? (t.bid + t.ask) / 2 : isTrade(t) ? t.price : 0);
/** The aggressor, or the side of the mid the trade printed on when the feed does not say. */
const tradeSign = (t: T) =>
  t.aggressor !== 0 ? t.aggressor : quoteOk(t) ? Math.sign(t.price - (t.bid + t.ask) / 2) : 0;

/** EMA seeded with x[0], in closed form: Σ a(1−a)^(m−k) x_k + (1−a)^m x_0. */
function emaClosed(x: number[], a: number): number {
  const m = x.length - 1;
  let s = (1 - a) ** m * x[0]!;
  for (let k = 1; k <= m; k++) s += a * (1 - a) ** (m - k) * x[k]!;
  return s;
}
/** EWMA from 0: Σ a(1−a)^(m−k) x_k over k = 0..m. */
function ewmaFromZero(x: number[], a: number): number {
  const m = x.length - 1;
  let s = 0;
  for (let k = 0; k <= m; k++) s += a * (1 - a) ** (m - k) * x[k]!;
  return s;
}
/** Exponentially weighted mean and variance with the seeded-EMA weights. */
function ewMeanVar(x: number[], a: number): { mean: number; variance: number } {
  const m = x.length - 1;
  const w = x.map((_, k) => (k === 0 ? (1 - a) ** m : a * (1 - a) ** (m - k)));
  const mean = x.reduce((s, v, k) => s + w[k]! * v, 0);
  const variance = x.reduce((s, v, k) => s + w[k]! * (v - mean) ** 2, 0);
  return { mean, variance };
}

interface Expected {
  emaFast: number;
  emaSlow: number;
  vwap: number;
  realizedVol: number;
  tradeImbalanceFast: number;
  tradeImbalance: number;
  tradeImbalanceSlow: number;
  orderFlowImbalance: number;
  depthImbalance: number;
  depthChange: number;
  bookAvailability: number;
  tradeRate: number;
  volumeTrend: number;
  microPrice: number;
  spreadZ: number;
  momentum: number;
  devVar: number;
}

function reference(history: T[], p: FeatureParams): Expected & { skip: string[] } {
  const skip: string[] = [];
  const prices = history.map(refPrice).filter((x) => x > 0 && Number.isFinite(x));
  const m = prices.length - 1;
  const last = m >= 0 ? prices[m]! : 0;
  const aFast = alphaOfSpan(p.emaFastSpan);
  const aSlow = alphaOfSpan(p.emaSlowSpan);

  const trades = history.filter(isTrade);
  let vwap = last;
  if (trades.length > 0) {
    const day = Math.floor(trades[trades.length - 1]!.tsUs / US_PER_DAY);
    const session = trades.filter((t) => Math.floor(t.tsUs / US_PER_DAY) === day);
    vwap = session.reduce((s, t) => s + t.price * t.size, 0) / session.reduce((s, t) => s + t.size, 0);
  }
  const imbalance = (span: number) =>
    trades.length > 0
      ? ewmaFromZero(
          trades.map((t) => tradeSign(t) * t.size),
          alphaOfSpan(span),
        ) /
        ewmaFromZero(
          trades.map((t) => t.size),
          alphaOfSpan(span),
        )
      : 0;

  // Order flow at the touch: e_n against the previous tick that had a book, 0 on other ticks.
  const e: number[] = [];
  let prev: T | undefined;
  for (const t of history) {
    if (!bookOk(t)) {
      e.push(0);
      continue;
    }
    e.push(
      prev
        ? (t.bid >= prev.bid ? t.bidSize : 0) -
            (t.bid <= prev.bid ? prev.bidSize : 0) -
            (t.ask <= prev.ask ? t.askSize : 0) +
            (t.ask >= prev.ask ? prev.askSize : 0)
        : 0,
    );
    prev = t;
  }
  const books = history.filter(bookOk);
  /** The closed EMA of one size over the ticks with a book (0 when none has one). */
  const bookEma = (size: (t: T) => number, span: number) =>
    books.length > 0 ? emaClosed(books.map(size), alphaOfSpan(span)) : 0;
  const depthSlow = bookEma((t) => (t.bidSize + t.askSize) / 2, p.depthSlowSpan);
  const bidFast = bookEma((t) => t.bidSize, p.depthFastSpan);
  const askFast = bookEma((t) => t.askSize, p.depthFastSpan);
  const cks = ewmaFromZero(e, alphaOfSpan(p.cksSpan));
  // Ratios of near-zero books (sizes at denormal level) are ratios of rounding noise.
  if (depthSlow < 1e-6) skip.push('orderFlowImbalance', 'depthChange');
  if (bidFast + askFast < 1e-6) skip.push('depthImbalance', 'depthChange');
  const bookAvailability = ewmaFromZero(
    history.map((t) => (bookOk(t) ? 1 : 0)),
    alphaOfSpan(p.depthFastSpan),
  );

  const quotes = history.filter(quoteOk);
  const q = quotes.at(-1);
  const microPrice = q
    ? bookOk(q)
      ? (q.bid * q.askSize + q.ask * q.bidSize) / (q.bidSize + q.askSize)
      : (q.bid + q.ask) / 2
    : last;
  let spreadZ = 0;
  if (quotes.length > 1) {
    const spreads = quotes.map((t) => t.ask - t.bid);
    const { mean, variance } = ewMeanVar(spreads.slice(0, -1), alphaOfSpan(p.spreadSpan));
    spreadZ = variance > 0 ? (spreads.at(-1)! - mean) / Math.sqrt(variance) : 0;
    // A standard deviation at rounding level (≤ 1e-9 of the price) makes any z a ratio of noise.
    if (Math.sqrt(variance) <= 1e-9 * last) skip.push('spreadZ');
  }

  const returns = prices.slice(1).map((x, k) => Math.log(x / prices[k]!));
  const realizedVol =
    returns.length > 0
      ? Math.sqrt(
          ewmaFromZero(
            returns.map((r) => r * r),
            alphaOfSpan(p.realizedVolSpan),
          ),
        )
      : 0;
  const N = p.momentumTicks;
  const momentum = m >= N ? Math.log(last / prices[m - N]!) : 0;

  let devVar = 0;
  if (m >= 1) {
    const dev = prices.map((x, k) => x - emaClosed(prices.slice(0, k + 1), aSlow));
    devVar = ewmaFromZero(
      dev.slice(1).map((d) => d * d), // d_0 is 0 by the seed
      alphaOfSpan(p.deviationSpan),
    );
  }

  return {
    emaFast: m >= 0 ? emaClosed(prices, aFast) : 0,
    emaSlow: m >= 0 ? emaClosed(prices, aSlow) : 0,
    vwap,
    realizedVol,
    tradeImbalanceFast: imbalance(p.flowFastSpan),
    tradeImbalance: imbalance(p.ofiSpan),
    tradeImbalanceSlow: imbalance(p.flowSlowSpan),
    orderFlowImbalance: depthSlow > 0 ? cks / depthSlow : 0,
    depthImbalance: bidFast + askFast > 0 ? (bidFast - askFast) / (bidFast + askFast) : 0,
    depthChange: depthSlow > 0 && bidFast + askFast > 0 ? Math.log((bidFast + askFast) / 2 / depthSlow) : 0,
    bookAvailability,
    tradeRate: ewmaFromZero(
      history.map((t) => (isTrade(t) ? 1 : 0)),
      alphaOfSpan(p.ofiSpan),
    ),
    volumeTrend:
      trades.length > 0
        ? ewmaFromZero(
            trades.map((t) => t.size),
            alphaOfSpan(p.ofiSpan),
          ) /
          ewmaFromZero(
            trades.map((t) => t.size),
            alphaOfSpan(p.flowSlowSpan),
          )
        : 1,
    microPrice,
    spreadZ,
    momentum,
    devVar,
    skip,
  };
}

function actual(st: FeatureState): Expected {
  const g = (f: number) => st.get(0, f);
  return {
    emaFast: g(F.EMA_FAST),
    emaSlow: g(F.EMA_SLOW),
    vwap: g(F.VWAP),
    realizedVol: g(F.REALIZED_VOL),
    tradeImbalanceFast: g(F.TRADE_IMBALANCE_FAST),
    tradeImbalance: g(F.TRADE_IMBALANCE),
    tradeImbalanceSlow: g(F.TRADE_IMBALANCE_SLOW),
    orderFlowImbalance: g(F.ORDER_FLOW_IMBALANCE),
    depthImbalance: g(F.DEPTH_IMBALANCE),
    depthChange: g(F.DEPTH_CHANGE),
    bookAvailability: g(F.BOOK_AVAILABILITY),
    tradeRate: g(F.TRADE_RATE),
    volumeTrend: g(F.VOLUME_TREND),
    microPrice: g(F.MICRO_PRICE),
    spreadZ: g(F.SPREAD_Z),
    momentum: g(F.MOMENTUM),
    devVar: g(F.DEV_VAR),
  };
}

/** A one-record ring as the tick's record (computeTick reads ring slots). */
const record = RingBuffer.create({ capacity: 2, recordBytes: TICK.bytes, consumers: 1 });

/** Compute tick `t` into symbol 0's next half without committing it; returns the current half. */
function compute(st: FeatureState, t: T, abs: number, k: Coefficients): number {
  const half = st.active(0);
  const cur = HALF0 + half * STATE_WORDS;
  const nxt = HALF0 + (1 - half) * STATE_WORDS;
  writeTick(record, 0, { ...t, symbolId: 0, seq: 0, tsEventUs: t.tsUs });
  computeTick(st.f64, PRICES_OFFSET, cur, nxt, record, 0, k);
  st.f64[nxt + F.APPLIED_END] = abs + 1;
  return half;
}
function apply(st: FeatureState, t: T, abs: number, k: Coefficients): void {
  st.flip(0, 1 - compute(st, t, abs, k));
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 + 1e-7 * Math.max(Math.abs(a), Math.abs(b));
}

/** Random ticks: a random walk with trades and quotes, unusable quotes, zero sizes, a midnight. */
const ticksArb = fc
  .array(
    fc.record({
      dt: fc.oneof(fc.integer({ min: 0, max: 5_000_000 }), fc.constant(US_PER_DAY / 3)),
      kind: fc.constantFrom(TICK_KIND.trade, TICK_KIND.quote),
      aggressor: fc.constantFrom(-1, 0, 1),
      // Moves are 0 or ≥ 1e-6: a move at rounding level would make every z-score a ratio of noise.
      ret: fc.oneof(
        fc.constant(0),
        fc.double({ min: 1e-6, max: 0.01, noNaN: true }).chain((r) => fc.constantFrom(r, -r)),
      ),
      size: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 1000, noNaN: true })),
      halfSpread: fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max: 0.5, noNaN: true })),
      badQuote: fc.integer({ min: 0, max: 9 }).map((v) => v === 0),
      // Now and then one non-finite field: the tick must leave the features it cannot feed alone.
      poison: fc.integer({ min: 0, max: 40 }),
      // Now and then a feed without book sizes (NaN): the book features must decay visibly.
      noSizes: fc.integer({ min: 0, max: 5 }).map((v) => v === 0),
      bidSize: fc.double({ min: 0, max: 50, noNaN: true }),
      askSize: fc.double({ min: 0, max: 50, noNaN: true }),
    }),
    { minLength: 1, maxLength: 160 },
  )
  .map((steps) => {
    let ts = 1_764_028_800_000_000 - 40_000_000; // shortly before a UTC midnight
    let mid = 100;
    return steps.map((s): T => {
      ts += s.dt;
      mid *= Math.exp(s.ret);
      const bid = s.badQuote ? 0 : mid - s.halfSpread;
      const ask = mid + s.halfSpread;
      const t: T = {
        tsUs: ts,
        kind: s.kind,
        aggressor: s.kind === TICK_KIND.trade ? s.aggressor : 0,
        price: s.kind === TICK_KIND.trade ? mid + s.aggressor * s.halfSpread : 0,
        size: s.kind === TICK_KIND.trade ? s.size : 0,
        bid,
        ask,
        bidSize: s.noSizes ? Number.NaN : s.bidSize,
        askSize: s.noSizes ? Number.NaN : s.askSize,
      };
      if (s.poison === 0) t.price = Number.NaN;
      if (s.poison === 1) t.size = Number.POSITIVE_INFINITY;
      if (s.poison === 2) t.askSize = Number.POSITIVE_INFINITY;
      if (s.poison === 3) t.ask = Number.POSITIVE_INFINITY;
      if (s.poison === 4) t.bid = Number.NaN;
      return t;
    });
  });

describe('features against their reference definitions', () => {
  const paramsArb = fc.record({
    emaFastSpan: fc.integer({ min: 1, max: 20 }),
    emaSlowSpan: fc.integer({ min: 5, max: 80 }),
    realizedVolSpan: fc.integer({ min: 2, max: 80 }),
    ofiSpan: fc.integer({ min: 2, max: 60 }),
    spreadSpan: fc.integer({ min: 2, max: 60 }),
    deviationSpan: fc.integer({ min: 2, max: 60 }),
    flowFastSpan: fc.integer({ min: 1, max: 20 }),
    flowSlowSpan: fc.integer({ min: 2, max: 200 }),
    cksSpan: fc.integer({ min: 1, max: 40 }),
    depthFastSpan: fc.integer({ min: 1, max: 20 }),
    depthSlowSpan: fc.integer({ min: 2, max: 300 }),
    momentumTicks: fc.integer({ min: 1, max: 62 }),
  });

  it('EMAs, session VWAP, mid volatility, trade-sign imbalances, CKS order-flow imbalance, depth, book availability, micro-price, spread z, momentum, deviation variance', () => {
    fc.assert(
      fc.property(ticksArb, paramsArb, (ticks, pp) => {
        const params = featureParamsSchema.parse(pp);
        const k = coefficients(params, DEFAULT_PATTERN_PARAMS);
        const st = FeatureState.create(1);
        for (let i = 0; i < ticks.length; i++) {
          apply(st, ticks[i]!, i, k);
          const want = reference(ticks.slice(0, i + 1), params);
          const got = actual(st);
          for (const key of Object.keys(got) as (keyof Expected)[]) {
            if (!want.skip.includes(key) && !close(got[key], want[key])) {
              throw new Error(`tick ${i}: ${key} = ${got[key]}, reference ${want[key]}`);
            }
          }
          expect(st.get(0, F.TICKS)).toBe(i + 1);
          expect(st.get(0, F.APPLIED_END)).toBe(i + 1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a tick computed but never committed (crash before the flip) leaves a state that replays identically', () => {
    fc.assert(
      fc.property(ticksArb, fc.nat(), (ticks, cut) => {
        const k = coefficients(featureParamsSchema.parse({}), DEFAULT_PATTERN_PARAMS);
        const a = FeatureState.create(1);
        const b = FeatureState.create(1);
        const at = cut % ticks.length;
        for (let i = 0; i < ticks.length; i++) {
          const t = ticks[i]!;
          if (i === at) {
            // Compute the tick (this writes its history slot and the next half) and "die" before
            // the flip, with part of the next half garbage.
            const half = compute(b, t, i, k);
            const nxt = HALF0 + (1 - half) * STATE_WORDS;
            b.f64.fill(Number.NaN, nxt + (cut % FIELD_WORDS), nxt + FIELD_WORDS);
          }
          apply(a, t, i, k);
          apply(b, t, i, k);
        }
        expect(Buffer.from(b.sab)).toEqual(Buffer.from(a.sab));
      }),
      { numRuns: 100 },
    );
  });
});

describe('a feed without book sizes', () => {
  it('prices from the mid, book features neutral, and the missing book visible as availability 0', () => {
    const k = coefficients(featureParamsSchema.parse({}), DEFAULT_PATTERN_PARAMS);
    const st = FeatureState.create(1);
    let mid = 100;
    for (let i = 0; i < 400; i++) {
      // The mid steps ±2 bp; prints sit a cent (~1 bp) either side of it.
      mid *= Math.exp(i % 2 === 0 ? 2e-4 : -2e-4);
      const trade = i % 3 === 0;
      const side = i % 2 === 0 ? 1 : -1;
      apply(
        st,
        {
          tsUs: 1_764_000_000_000_000 + i * 1000,
          kind: trade ? TICK_KIND.trade : TICK_KIND.quote,
          // A feed that does not say who aggressed: the quote rule signs the trade.
          aggressor: 0,
          price: trade ? mid + side * 0.01 : 0,
          size: trade ? 10 : 0,
          bid: mid - 0.01,
          ask: mid + 0.01,
          bidSize: Number.NaN,
          askSize: Number.NaN,
        },
        i,
        k,
      );
    }
    expect(st.get(0, F.BOOK_AVAILABILITY)).toBe(0);
    expect(st.get(0, F.ORDER_FLOW_IMBALANCE)).toBe(0);
    expect(st.get(0, F.DEPTH_IMBALANCE)).toBe(0);
    expect(st.get(0, F.DEPTH_CHANGE)).toBe(0);
    // The reference price is the mid on every tick (trades too), and so is the micro-price.
    expect(st.get(0, F.LAST_PRICE)).toBeCloseTo(mid, 9);
    expect(st.get(0, F.MICRO_PRICE)).toBeCloseTo(mid, 9);
    // Volatility of the mid (2 bp steps), not of prints bouncing a spread of ~2 bp around it.
    expect(st.get(0, F.REALIZED_VOL)).toBeCloseTo(2e-4, 6);
    // Trade signs from the quote rule: alternating buys and sells, so about balanced but not 0/0.
    expect(st.get(0, F.FLOW_VOLUME)).toBeGreaterThan(0);
    expect(Math.abs(st.get(0, F.TRADE_IMBALANCE))).toBeLessThan(0.5);
    expect(Math.abs(st.get(0, F.TRADE_IMBALANCE_FAST))).toBeGreaterThan(0);
  });
});
