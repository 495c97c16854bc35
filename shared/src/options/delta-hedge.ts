/**
 * The delta-neutral hedge for one underlying (pure). Given the group's net delta (units of the
 * underlying), the band the desk keeps it in, and the hedge instrument's delta per unit
 * (multiplier applied: 50 for an E-mini future in its own group, 1 for a share), the order that
 * brings the net delta back toward zero, in whole lots.
 *
 * Rounding: the exact quantity −netDelta / unitDelta is rounded to the lot toward zero, so the
 * hedge never takes the book past zero to the other side. When that leaves the book still
 * outside the band (a coarse lot), one lot more is taken only if the result lands inside the
 * band on the other side; otherwise the toward-zero quantity is the best the lot allows.
 */

export interface HedgeInput {
  readonly netDelta: number;
  /** Positive: the net delta is kept within ±band. */
  readonly band: number;
  /** Delta of one unit of the hedge instrument in underlying units (multiplier applied). */
  readonly unitDelta: number;
  /** The hedge instrument's lot size (decimal string). */
  readonly lotSize: string;
}

export type HedgePlan =
  | { readonly kind: 'inside_band' }
  | { readonly kind: 'too_small'; readonly reason: string }
  | {
      readonly kind: 'order';
      readonly side: 'buy' | 'sell';
      /** Decimal string, a whole number of lots. */
      readonly quantity: string;
      /** Net delta expected after the hedge fills (at the current unit delta). */
      readonly netDeltaAfter: number;
    };

/** Decimal places of a decimal string (`0.001` → 3). */
const decimalsOf = (s: string) => (s.includes('.') ? s.split('.')[1]!.replace(/0+$/, '').length : 0);

export function planHedge(input: HedgeInput): HedgePlan {
  const { netDelta, band, unitDelta } = input;
  if (!(band > 0) || !Number.isFinite(netDelta))
    return { kind: 'too_small', reason: 'invalid band or delta' };
  if (Math.abs(netDelta) <= band) return { kind: 'inside_band' };
  const lot = Number(input.lotSize);
  if (!(lot > 0) || !(Math.abs(unitDelta) > 0)) {
    return { kind: 'too_small', reason: 'the hedge instrument has no delta or no lot size' };
  }
  const exactLots = -netDelta / unitDelta / lot;
  // 1e-9: a quantity that is a whole number of lots up to float noise counts as whole.
  let lots = Math.trunc(exactLots + Math.sign(exactLots) * 1e-9);
  const after = (n: number) => netDelta + n * lot * unitDelta;
  if (Math.abs(after(lots)) > band) {
    const further = lots + Math.sign(exactLots);
    if (Math.abs(after(further)) <= band) lots = further;
  }
  if (lots === 0) {
    return {
      kind: 'too_small',
      reason: `one lot (${input.lotSize}) moves delta by ${Math.abs(lot * unitDelta)}, more than the book can take without crossing the band`,
    };
  }
  const quantity = (Math.abs(lots) * lot).toFixed(decimalsOf(input.lotSize));
  return { kind: 'order', side: lots > 0 ? 'buy' : 'sell', quantity, netDeltaAfter: after(lots) };
}
