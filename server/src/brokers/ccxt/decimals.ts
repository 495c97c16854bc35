import { type Dec, dec, decStr } from '@aegis/shared/accounting/decimal';
import type { Exchange, Market } from 'ccxt';

/**
 * CCXT hands amounts and prices back as JavaScript numbers (it parses the venue's decimal
 * strings with Precise internally, then converts). At our boundary every quantity and price is a
 * decimal string, so a number is converted in two steps:
 *
 * 1. `toPrecision(15)`: a double holds 15 significant decimal digits exactly, so this recovers
 *    the venue's decimal string for any value the venue printed with ≤ 15 digits, and drops the
 *    binary noise of CCXT's own arithmetic (0.1 + 0.2 → 0.3, not 0.30000000000000004).
 * 2. Rounding half-even to the market's precision (amount step / price tick) when CCXT knows it:
 *    the venue cannot hold finer values, so anything finer is arithmetic noise.
 *
 * Outgoing quantities and prices go the other way: they must already sit on the market's step
 * (`assertOnStep`), because CCXT would otherwise truncate them silently and the order at the
 * venue would differ from the order in our books.
 */
const SIGNIFICANT = 15;

/** CCXT precision modes (ccxt/js/src/base/functions/number.js). */
const DECIMAL_PLACES = 2;
const TICK_SIZE = 4;

function decimalsOf(ex: Exchange, precision: number | undefined): number | null {
  if (precision === undefined || precision === null || !Number.isFinite(precision)) return null;
  if (ex.precisionMode === DECIMAL_PLACES) return Math.max(0, Math.trunc(precision));
  if (ex.precisionMode === TICK_SIZE) {
    const d = dec(precision.toPrecision(SIGNIFICANT));
    return d.isZero() ? null : Math.max(0, d.decimalPlaces());
  }
  return null; // SIGNIFICANT_DIGITS: no fixed number of places.
}

export function numberToDec(n: number): Dec {
  if (!Number.isFinite(n)) throw new TypeError(`non-finite number ${n} from the venue`);
  return dec(n.toPrecision(SIGNIFICANT));
}

export type PrecisionKind = 'amount' | 'price';

export function toVenueDec(ex: Exchange, market: Market | undefined, kind: PrecisionKind, n: number): Dec {
  const d = numberToDec(n);
  const places = market ? decimalsOf(ex, market.precision?.[kind]) : null;
  return places === null ? d : d.toDecimalPlaces(places);
}

export function toVenueString(
  ex: Exchange,
  market: Market | undefined,
  kind: PrecisionKind,
  n: number | undefined | null,
): string | null {
  return n === undefined || n === null ? null : decStr(toVenueDec(ex, market, kind, n));
}

/**
 * The number CCXT is given for an outgoing decimal string, or a reason to refuse: more digits
 * than a double carries, or finer than the market's step / tick.
 */
export function outgoingNumber(
  ex: Exchange,
  symbol: string,
  kind: PrecisionKind,
  value: string,
): { ok: true; n: number } | { ok: false; reason: string } {
  const d = dec(value);
  if (!d.isFinite() || d.lte(0)) return { ok: false, reason: `${kind} ${value} must be positive` };
  if (d.precision(true) > SIGNIFICANT)
    return { ok: false, reason: `${kind} ${value} has more than ${SIGNIFICANT} significant digits` };
  const n = d.toNumber();
  const onStep = kind === 'amount' ? ex.amountToPrecision(symbol, n) : ex.priceToPrecision(symbol, n);
  if (onStep === undefined || !dec(onStep).eq(d))
    return {
      ok: false,
      reason: `${kind} ${value} is not a multiple of the market's ${kind} step (${onStep})`,
    };
  return { ok: true, n };
}
