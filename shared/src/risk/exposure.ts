import { Dec as D, type Dec, dec, decCached, decMax, decMin, ZERO } from '../accounting/decimal.ts';
import { type Book, type BookLeg, longExtreme, shortExtreme, worstAbs } from './book.ts';
import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { InstrumentInfo, RiskContext, RiskLimits } from './types.ts';
import { failed, limitRemoved, passed } from './verdict.ts';

/** How one unit of a symbol is valued: exposure (price × multiplier) and dollar delta. */
export interface UnitValue {
  readonly exposure: Dec;
  readonly delta: Dec;
}

/**
 * Values one unit of each symbol. Exposure = mark × multiplier. Dollar delta = delta × multiplier ×
 * underlying price: delta is 1 for linear instruments (priced on their own mark) and the
 * instrument's greeks delta for options (priced on the underlying's mark). Returns null when a
 * price or a delta is missing, which the rules treat as a denial (cannot prove inside the limit).
 */
export function unitValue(
  symbol: string,
  ctx: Pick<RiskContext, 'instrument' | 'instruments' | 'marks'>,
  fallbackPrice: Dec | null,
): UnitValue | null {
  const inst: InstrumentInfo | undefined =
    ctx.instruments[symbol] ?? (symbol === ctx.instrument.symbol ? ctx.instrument : undefined);
  if (!inst) return null;
  const markStr = ctx.marks[symbol];
  // Marks and multipliers repeat from one check to the next: parsed once while they hold.
  const mark =
    markStr !== undefined ? decCached(markStr) : symbol === ctx.instrument.symbol ? fallbackPrice : null;
  if (mark === null) return null;
  const mult = decCached(inst.multiplier);
  const exposure = mark.times(mult);
  if (inst.assetClass !== 'option') return { exposure, delta: exposure };
  if (inst.delta === null || inst.delta === undefined || !inst.underlyingSymbol) return null;
  const underlying = ctx.marks[inst.underlyingSymbol];
  if (underlying === undefined) return null;
  // Greeks are model outputs (float64 in jsonb), not money: converting through their shortest
  // decimal representation is exact enough for a limit check.
  const delta = new D(String(inst.delta));
  return { exposure, delta: delta.times(mult).times(decCached(underlying)) };
}

interface Totals {
  gross: Dec;
  netHigh: Dec;
  netLow: Dec;
  deltaHigh: Dec;
  deltaLow: Dec;
  missing: string[];
}

const emptyTotals = (): Totals => ({
  gross: ZERO,
  netHigh: ZERO,
  netLow: ZERO,
  deltaHigh: ZERO,
  deltaLow: ZERO,
  missing: [],
});

/** What one leg adds to the totals; null when it cannot be valued (the rules then deny). */
interface LegTotals {
  readonly gross: Dec;
  readonly netHigh: Dec;
  readonly netLow: Dec;
  readonly deltaHigh: Dec;
  readonly deltaLow: Dec;
}

function legTotals(
  leg: BookLeg,
  ctx: Pick<RiskContext, 'instrument' | 'instruments' | 'marks'>,
  fallbackPrice: Dec | null,
): LegTotals | null {
  const v = unitValue(leg.symbol, ctx, fallbackPrice);
  if (!v) return null;
  const hi = longExtreme(leg);
  const lo = shortExtreme(leg);
  // The same products, each computed once: a leg with nothing working has one extreme, a linear
  // instrument's dollar delta is its exposure, and with a non-negative exposure
  // max(|hi|, |lo|) × exposure = max(|hi × exposure|, |lo × exposure|) (rounding is symmetric
  // in sign). Most legs of a book are linear with nothing working: one product instead of five.
  const single = hi.eq(lo);
  const netHigh = hi.times(v.exposure);
  const netLow = single ? netHigh : lo.times(v.exposure);
  const linear = v.delta === v.exposure;
  const dh = linear ? netHigh : hi.times(v.delta);
  const dl = linear ? netLow : single ? dh : lo.times(v.delta);
  return {
    gross: v.exposure.isNeg() ? worstAbs(leg).times(v.exposure) : decMax(netHigh.abs(), netLow.abs()),
    netHigh,
    netLow,
    deltaHigh: decMax(dh, dl),
    deltaLow: decMin(dh, dl),
  };
}

function add(t: Totals, leg: BookLeg, lt: LegTotals | null): void {
  if (!lt) {
    t.missing.push(leg.symbol);
    return;
  }
  t.gross = t.gross.plus(lt.gross);
  t.netHigh = t.netHigh.plus(lt.netHigh);
  t.netLow = t.netLow.plus(lt.netLow);
  t.deltaHigh = t.deltaHigh.plus(lt.deltaHigh);
  t.deltaLow = t.deltaLow.plus(lt.deltaLow);
}

/**
 * Worst-case totals over the book. For net figures each leg contributes its extreme in each
 * direction (all working buys fill, or all working sells fill), so the result bounds every mix of
 * fills of the working orders.
 */
export function bookTotals(
  book: Book,
  ctx: Pick<RiskContext, 'instrument' | 'instruments' | 'marks'>,
  fallbackPrice: Dec | null,
): Totals {
  const t = emptyTotals();
  for (const leg of book.values()) if (!isFlat(leg)) add(t, leg, legTotals(leg, ctx, fallbackPrice));
  return t;
}

/**
 * `bookTotals` of a book and of the same book with an order (or a combo) added, in one pass: a
 * leg both books hold as the same object is valued once. The order touches one or a few legs
 * of a book of hundreds, so this halves the decimal work of every risk check. Equal to two
 * `bookTotals` calls, sums taken in the same order (exposure.test.ts checks it).
 */
export function bookTotalsBeforeAfter(
  before: Book,
  after: Book,
  ctx: Pick<RiskContext, 'instrument' | 'instruments' | 'marks'>,
  fallbackPrice: Dec | null,
): [before: Totals, after: Totals] {
  const tb = emptyTotals();
  const ta = emptyTotals();
  for (const leg of before.values()) {
    const lt = isFlat(leg) ? undefined : legTotals(leg, ctx, fallbackPrice);
    if (lt !== undefined) add(tb, leg, lt);
    const next = after.get(leg.symbol);
    if (next === leg) {
      if (lt !== undefined) add(ta, leg, lt);
    } else if (next && !isFlat(next)) add(ta, next, legTotals(next, ctx, fallbackPrice));
  }
  for (const leg of after.values()) {
    if (!before.has(leg.symbol) && !isFlat(leg)) add(ta, leg, legTotals(leg, ctx, fallbackPrice));
  }
  return [tb, ta];
}

const isFlat = (l: BookLeg) => l.position.isZero() && l.workingBuys.isZero() && l.workingSells.isZero();
const worstNet = (t: Totals) => decMax(t.netHigh.abs(), t.netLow.abs());
const worstDelta = (t: Totals) => decMax(t.deltaHigh.abs(), t.deltaLow.abs());

type LimitKey = 'maxGrossExposure' | 'maxNetExposure' | 'maxNetDelta';

function check(
  rule: RiskRule,
  code: RiskReason,
  key: LimitKey,
  measure: (t: Totals) => Dec,
  before: Totals,
  after: Totals,
  limits: RiskLimits,
): RuleVerdict {
  const raw = limits[key];
  if (raw === null) return limitRemoved(rule, limits, key);
  const limit = dec(raw);
  if (after.missing.length > 0) {
    return failed(
      rule,
      RiskReason.NO_REFERENCE_PRICE,
      `no mark price or delta for ${after.missing.join(', ')}`,
      {
        limit,
      },
    );
  }
  const current = measure(before);
  const projected = measure(after);
  // Orders that do not make the worst case worse pass even above the limit (trading out of it).
  if (projected.gt(limit) && projected.gt(current)) {
    return failed(rule, code, `${rule.replace('_', ' ')} would exceed the limit`, {
      limit,
      requested: projected,
      current,
    });
  }
  return passed(rule, { limit, requested: projected, current });
}

export const checkGrossExposure = (b: Totals, a: Totals, l: RiskLimits) =>
  check(RiskRule.GROSS_EXPOSURE, RiskReason.MAX_GROSS_EXPOSURE, 'maxGrossExposure', (t) => t.gross, b, a, l);
export const checkNetExposure = (b: Totals, a: Totals, l: RiskLimits) =>
  check(RiskRule.NET_EXPOSURE, RiskReason.MAX_NET_EXPOSURE, 'maxNetExposure', worstNet, b, a, l);
export const checkNetDelta = (b: Totals, a: Totals, l: RiskLimits) =>
  check(RiskRule.NET_DELTA, RiskReason.MAX_NET_DELTA, 'maxNetDelta', worstDelta, b, a, l);
