import { type Dec, dec, decCached, decStr, ZERO } from './decimal.ts';
import { type PositionState, unrealizedPnl } from './position.ts';

export interface MarkedPosition {
  readonly position: PositionState;
  /** Latest price; null when none is known (the leg is then valued at its average cost). */
  readonly mark: string | null;
  readonly multiplier: string;
}

/** A desk's money at one instant, the row behind `equity_snapshots` and `pnl.summary`. */
export interface DeskPnl {
  readonly realizedPnl: string;
  readonly unrealizedPnl: string;
  readonly fees: string;
  /** realized + unrealized − fees. */
  readonly netPnl: string;
  readonly grossExposure: string;
  readonly netExposure: string;
  /** Starting capital + realized − fees − cash spent on open positions at cost. */
  readonly cash: string;
  /** cash + market value of the positions = starting capital + net P&L. */
  readonly equity: string;
}

/**
 * Values the desk. Cash is derived from the positions (average cost) rather than a separate
 * ledger, so `equity = startingCapital + realized + unrealized − fees` holds by construction;
 * the property test checks it against an independent cash-flow ledger.
 */
export function deskPnl(startingCapital: string, legs: readonly MarkedPosition[]): DeskPnl {
  let realized = ZERO;
  let unrealized = ZERO;
  let fees = ZERO;
  let gross = ZERO;
  let net = ZERO;
  let costOfOpen = ZERO;
  for (const l of legs) {
    const p = l.position;
    // Stored text and marks: parsed once while they hold (decCached).
    const mult = decCached(l.multiplier);
    const qty = decCached(p.quantity);
    const mark: Dec = l.mark === null ? decCached(p.avgCost) : decCached(l.mark);
    realized = realized.plus(decCached(p.realizedPnl));
    fees = fees.plus(decCached(p.fees));
    unrealized = unrealized.plus(unrealizedPnl(p, decStr(mark), l.multiplier));
    const value = qty.times(mark).times(mult);
    gross = gross.plus(value.abs());
    net = net.plus(value);
    costOfOpen = costOfOpen.plus(qty.times(decCached(p.avgCost)).times(mult));
  }
  const cash = dec(startingCapital).plus(realized).minus(fees).minus(costOfOpen);
  return {
    realizedPnl: decStr(realized),
    unrealizedPnl: decStr(unrealized),
    fees: decStr(fees),
    netPnl: decStr(realized.plus(unrealized).minus(fees)),
    grossExposure: decStr(gross),
    netExposure: decStr(net),
    cash: decStr(cash),
    equity: decStr(cash.plus(net)),
  };
}
