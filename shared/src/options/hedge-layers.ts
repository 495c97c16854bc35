import type { ChainView } from '../schemas/option-chain.ts';
import type { RecommendationLayer } from '../schemas/option-recommendation.ts';
import { hedgeToZero } from './strategies.ts';

/**
 * The delta_hedge strategy's layers (docs/option-recommendations.md): the desk's positions on
 * the underlying and their deltas (filters, scoring), and the underlying quantity that brings
 * the net delta nearest to zero in whole lots (sizing).
 */

/** One position counted in the desk's delta on an underlying. */
export interface ExposurePosition {
  readonly symbol: string;
  /** Signed decimal string. */
  readonly quantity: string;
  /** Delta of one unit in underlying units (multiplier applied); null: not computable. */
  readonly unitDelta: number | null;
  /** Where the delta came from: the chain's Greeks, the instrument's stored Greeks, or linear. */
  readonly source: 'chain' | 'stored' | 'linear' | 'none';
}

export interface DeskExposure {
  readonly positions: readonly ExposurePosition[];
  /** The underlying's contract multiplier and lot size (the hedge trades it). */
  readonly underlyingMultiplier: string;
  readonly lotSize: string;
}

export interface HedgeSizing {
  readonly filters: RecommendationLayer;
  readonly scoring: RecommendationLayer;
  readonly sizing: RecommendationLayer;
  readonly netDelta: number;
  readonly order: {
    readonly side: 'buy' | 'sell';
    readonly quantity: string;
    readonly netDeltaAfter: number;
  } | null;
  readonly reason?: string;
}

export function hedgeLayers(chain: ChainView, exposure: DeskExposure): HedgeSizing {
  const counted = exposure.positions.filter((p) => p.unitDelta !== null);
  const missing = exposure.positions.filter((p) => p.unitDelta === null);
  const filters: RecommendationLayer = {
    kind: 'filters',
    title: 'Filters',
    summary: `${exposure.positions.length} positions on ${chain.underlying}; ${counted.length} with a delta`,
    rows: [
      {
        label: `positions on ${chain.underlying} (its options and itself)`,
        value: `${exposure.positions.length} found`,
      },
      {
        label: 'delta computable (price and volatility known)',
        value: `removed ${missing.length}`,
        note:
          missing.length > 0
            ? `left out: ${missing.map((m) => m.symbol).join(', ')}`
            : `${counted.length} remain`,
      },
    ],
  };
  const netDelta = counted.reduce((s, p) => s + (p.unitDelta as number) * Number(p.quantity), 0);
  const scoring: RecommendationLayer = {
    kind: 'scoring',
    title: 'Scoring',
    summary: `one instrument hedges: ${chain.underlying} itself; nothing to rank`,
    rows: counted.map((p) => ({
      label: p.symbol,
      value: ((p.unitDelta as number) * Number(p.quantity)).toFixed(2),
      note: `${p.quantity} × Δ ${(p.unitDelta as number).toFixed(4)} per unit (${p.source})`,
    })),
  };
  const unitDelta = Number(exposure.underlyingMultiplier);
  const plan = hedgeToZero(netDelta, unitDelta, exposure.lotSize);
  const exact = unitDelta !== 0 ? -netDelta / unitDelta : 0;
  const rows: RecommendationLayer['rows'] = [
    { label: 'Net delta', value: netDelta.toFixed(4), note: 'Σ quantity × unit delta (underlying units)' },
    { label: `Delta of one ${chain.underlying}`, value: exposure.underlyingMultiplier },
    { label: 'Exact hedge', value: exact.toFixed(6), note: '−net delta / unit delta' },
    { label: 'Lot size', value: exposure.lotSize },
  ];
  if (plan.kind !== 'order') {
    const reason =
      plan.kind === 'inside_band'
        ? `the net delta ${netDelta.toFixed(4)} is within half a lot of zero: nothing to hedge`
        : plan.reason;
    rows.push({ label: 'Quantity', value: '0', note: reason });
    return {
      filters,
      scoring,
      sizing: { kind: 'sizing', title: 'Sizing', summary: `no hedge: ${reason}`, rows },
      netDelta,
      order: null,
      reason,
    };
  }
  rows.push(
    { label: 'Quantity', value: `${plan.side} ${plan.quantity}`, note: 'rounded to the nearest whole lot' },
    { label: 'Net delta after', value: plan.netDeltaAfter.toFixed(4) },
  );
  return {
    filters,
    scoring,
    sizing: {
      kind: 'sizing',
      title: 'Sizing',
      summary: `${plan.side} ${plan.quantity} ${chain.underlying}: net delta ${netDelta.toFixed(2)} → ${plan.netDeltaAfter.toFixed(2)}`,
      rows,
    },
    netDelta,
    order: { side: plan.side, quantity: plan.quantity, netDeltaAfter: plan.netDeltaAfter },
  };
}
