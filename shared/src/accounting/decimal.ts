import { Decimal as DecimalJs } from 'decimal.js';

/**
 * Exact decimal arithmetic for money, prices and quantities. A private clone of decimal.js so
 * no other module's global settings can change ours. 50 significant digits cover numeric(38,12)
 * with room for intermediate products (qty × price × multiplier); ties round half-even
 * (banker's rounding), as accounting expects.
 */
export const Dec = DecimalJs.clone({
  precision: 50,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -30,
  toExpPos: 40,
});
export type Dec = InstanceType<typeof Dec>;

/** Anything an exact decimal can be built from. Numbers are accepted only as integers. */
export type DecimalInput = string | Dec | bigint;

export const ZERO = new Dec(0);
export const ONE = new Dec(1);
export const BPS = new Dec(10_000);

export function dec(v: DecimalInput | number): Dec {
  if (typeof v === 'number' && !Number.isInteger(v)) {
    // A binary float has already lost the exact value; refuse instead of carrying the error.
    throw new TypeError(`non-integer number ${v} passed where an exact decimal is required`);
  }
  return v instanceof Dec ? v : new Dec(typeof v === 'bigint' ? v.toString() : v);
}

/**
 * `dec` for text that is read again and again: a stored value (a desk's positions come back from
 * PostgreSQL as the same numeric(38,12) text on every `positions.list` and every risk check) or a
 * mark that holds until the next quote. Parsing one ("100.000000000000") costs 0.4–0.8 µs, a
 * lookup tens of ns. A Decimal is immutable (every operation returns a new one), so handing out
 * the same instance twice is safe. Not for text that never repeats (a feed's prices): there a
 * miss costs more than the parse saves, since the held instances outlive a young GC (measured:
 * unique strings 0.64 µs plain, 1.0 µs through the cache). Bounded: cleared when full.
 */
export function decCached(s: string): Dec {
  const hit = parsedCache.get(s);
  if (hit !== undefined) return hit;
  const d = new Dec(s); // throws on bad input: nothing is cached then
  if (parsedCache.size >= PARSED_MAX) parsedCache.clear();
  parsedCache.set(s, d);
  return d;
}

const PARSED_MAX = 8192;
const parsedCache = new Map<string, Dec>();

/** Decimal string for the edges (SQL numeric, JSON): plain notation, no exponent, no trailing zeros. */
export function decStr(v: Dec): string {
  const s = v.toFixed();
  return s === '-0' ? '0' : s;
}

/** Quantised to the given scale (numeric(38,12) stores 12), half-even. */
export function quantize(v: Dec, scale = 12): Dec {
  return v.toDecimalPlaces(scale, DecimalJs.ROUND_HALF_EVEN);
}

export const decMax = (a: Dec, b: Dec): Dec => (a.gte(b) ? a : b);
export const decMin = (a: Dec, b: Dec): Dec => (a.lte(b) ? a : b);
