import { type Dec, dec, decStr, ZERO } from './decimal.ts';
import { applyFill, flatPosition, type PositionState } from './position.ts';

export interface DatedFill {
  /** The desk's trading day of the fill (YYYY-MM-DD in the desk's timezone). */
  readonly day: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly quantity: string;
  readonly price: string;
  readonly fee: string;
  readonly multiplier?: string;
}

export interface DayPnl {
  readonly day: string;
  /** Gross realized P&L of the day's closing trades (average cost, as positions are kept). */
  readonly realizedPnl: string;
  readonly fees: string;
  /** realized − fees. */
  readonly netRealized: string;
  readonly fills: number;
  /** Σ quantity × price × multiplier traded that day. */
  readonly notional: string;
}

/**
 * Realized P&L per trading day: every fill replayed in order through the same average-cost
 * accounting that keeps the positions (applyFill), so the days add up to the positions'
 * realized P&L exactly. Fills must be in execution order (all of them from the desk's first, or
 * the days before the first one given are taken as flat).
 */
export function pnlByDay(fills: readonly DatedFill[]): DayPnl[] {
  const books = new Map<string, PositionState>();
  const days = new Map<
    string,
    {
      realized: Dec;
      fees: Dec;
      n: number;
      notional: Dec;
    }
  >();
  for (const f of fills) {
    const before = books.get(f.symbol) ?? flatPosition(f.symbol);
    const effect = applyFill(before, {
      side: f.side,
      quantity: f.quantity,
      price: f.price,
      fee: f.fee,
      multiplier: f.multiplier ?? '1',
    });
    books.set(f.symbol, effect.position);
    const d = days.get(f.day) ?? { realized: ZERO, fees: ZERO, n: 0, notional: ZERO };
    d.realized = d.realized.plus(effect.realized);
    d.fees = d.fees.plus(dec(f.fee));
    d.n += 1;
    d.notional = d.notional.plus(
      dec(f.quantity)
        .times(dec(f.price))
        .times(dec(f.multiplier ?? '1')),
    );
    days.set(f.day, d);
  }
  return [...days.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, d]) => ({
      day,
      realizedPnl: decStr(d.realized),
      fees: decStr(d.fees),
      netRealized: decStr(d.realized.minus(d.fees)),
      fills: d.n,
      notional: decStr(d.notional),
    }));
}
