import { Dec as D, type Dec, dec, decMax, decMin, ZERO } from '../accounting/decimal.ts';
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
  const mark = markStr !== undefined ? dec(markStr) : symbol === ctx.instrument.symbol ? fallbackPrice : null;
  if (mark === null) return null;
  const mult = dec(inst.multiplier);
  const exposure = mark.times(mult);
  if (inst.assetClass !== 'option') return { exposure, delta: exposure };
  if (inst.delta === null || inst.delta === undefined || !inst.underlyingSymbol) return null;
  const underlying = ctx.marks[inst.underlyingSymbol];
  if (underlying === undefined) return null;
  // Greeks are model outputs (float64 in jsonb), not money: converting through their shortest
  // decimal representation is exact enough for a limit check.
  const delta = new D(String(inst.delta));
  return { exposure, delta: delta.times(mult).times(dec(underlying)) };
}

interface Totals {
  gross: Dec;
  netHigh: Dec;
  netLow: Dec;
  deltaHigh: Dec;
  deltaLow: Dec;
  missing: string[];
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
  const t: Totals = {
    gross: ZERO,
    netHigh: ZERO,
    netLow: ZERO,
    deltaHigh: ZERO,
    deltaLow: ZERO,
    missing: [],
  };
  for (const leg of book.values()) {
    if (isFlat(leg)) continue;
    const v = unitValue(leg.symbol, ctx, fallbackPrice);
    if (!v) {
      t.missing.push(leg.symbol);
      continue;
    }
    const hi = longExtreme(leg);
    const lo = shortExtreme(leg);
    t.gross = t.gross.plus(worstAbs(leg).times(v.exposure));
    t.netHigh = t.netHigh.plus(hi.times(v.exposure));
    t.netLow = t.netLow.plus(lo.times(v.exposure));
    const dh = hi.times(v.delta);
    const dl = lo.times(v.delta);
    t.deltaHigh = t.deltaHigh.plus(decMax(dh, dl));
    t.deltaLow = t.deltaLow.plus(decMin(dh, dl));
  }
  return t;
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
