import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { applyFill, flatPosition, type PositionState } from '@aegis/shared/accounting/position';
import type { SimBook } from './sim-book.ts';
import { decOf } from './sim-book.ts';

/** A round trip on one instrument: from flat to flat (or through zero), net of fees. */
export interface ClosedTrade {
  readonly inst: number;
  readonly pattern: string | null;
  readonly pnl: Dec;
  readonly closedUs: number;
}

interface OpenTrade {
  readonly pattern: string | null;
  readonly realizedAtOpen: Dec;
  readonly feesAtOpen: Dec;
}

/**
 * The simulated desk's money, in exact decimals: cash, positions by average cost through the
 * platform's own accounting (shared/src/accounting/position.ts applyFill), fees, traded notional,
 * and round trips for win rate, profit factor and per-pattern attribution. A round trip starts
 * when a fill takes the instrument off flat and ends when one brings it back (a fill through zero
 * ends one and starts the next); it belongs to the pattern of the entry that opened it.
 */
export class SimDesk {
  readonly capital: Dec;
  cash: Dec;
  fees: Dec = ZERO;
  tradedNotional: Dec = ZERO;
  readonly positions: PositionState[];
  /** Signed position as a float, for the per-tick checks (the decimal is the truth). */
  readonly qty: Float64Array;
  readonly trades: ClosedTrade[] = [];
  /** Instruments with a position open, and the simulated time spent with at least one open. */
  open = 0;
  exposedUs = 0;
  #openSinceUs = 0;
  readonly #openTrades: (OpenTrade | null)[];

  constructor(capital: string, symbols: readonly string[]) {
    this.capital = dec(capital);
    this.cash = this.capital;
    this.positions = symbols.map((s) => flatPosition(s));
    this.qty = new Float64Array(symbols.length);
    this.#openTrades = symbols.map(() => null);
  }

  /** Books one fill; returns the round trip it closed, if any. */
  fill(
    inst: number,
    side: 'buy' | 'sell',
    quantity: Dec,
    price: Dec,
    fee: Dec,
    tsUs: number,
    pattern: string | null,
  ): ClosedTrade | null {
    const before = this.positions[inst]!;
    const wasFlat = dec(before.quantity).isZero();
    const effect = applyFill(before, {
      side,
      quantity: decStr(quantity),
      price: decStr(price),
      fee: decStr(fee),
    });
    const after = effect.position;
    this.positions[inst] = after;
    const notional = quantity.times(price);
    this.cash = side === 'buy' ? this.cash.minus(notional).minus(fee) : this.cash.plus(notional).minus(fee);
    this.fees = this.fees.plus(fee);
    this.tradedNotional = this.tradedNotional.plus(notional);
    const q = dec(after.quantity);
    this.qty[inst] = q.toNumber();

    let closed: ClosedTrade | null = null;
    const crossed = !wasFlat && (q.isZero() || q.isPos() !== dec(before.quantity).isPos());
    if (crossed) {
      const open = this.#openTrades[inst];
      if (open) {
        const pnl = dec(after.realizedPnl)
          .minus(open.realizedAtOpen)
          .minus(dec(after.fees).minus(open.feesAtOpen));
        closed = { inst, pattern: open.pattern, pnl, closedUs: tsUs };
        this.trades.push(closed);
      }
      this.#openTrades[inst] = null;
    }
    if (!q.isZero() && (wasFlat || crossed)) {
      // An opening fill's fee belongs to the trade it opens; a fill through zero's stays with the
      // trade it closed.
      this.#openTrades[inst] = {
        pattern,
        realizedAtOpen: dec(after.realizedPnl),
        feesAtOpen: wasFlat ? dec(after.fees).minus(fee) : dec(after.fees),
      };
    }
    const nowOpen = !q.isZero();
    if (wasFlat && nowOpen) this.#setOpen(this.open + 1, tsUs);
    else if (!wasFlat && !nowOpen) this.#setOpen(this.open - 1, tsUs);
    return closed;
  }

  #setOpen(n: number, tsUs: number): void {
    if (this.open === 0 && n > 0) this.#openSinceUs = tsUs;
    if (this.open > 0 && n === 0) this.exposedUs += tsUs - this.#openSinceUs;
    this.open = n;
  }

  /** Simulated time with a position open up to `tsUs` (the run's end). */
  exposedUntil(tsUs: number): number {
    return this.exposedUs + (this.open > 0 ? tsUs - this.#openSinceUs : 0);
  }

  /** Cash plus the positions at their marks (a position with no mark yet at its average cost). */
  equity(book: SimBook): Dec {
    let e = this.cash;
    for (let i = 0; i < this.positions.length; i++) {
      if (this.qty[i] === 0) continue;
      const p = this.positions[i]!;
      const m = book.mark(i);
      e = e.plus(dec(p.quantity).times(m > 0 ? decOf(m) : dec(p.avgCost)));
    }
    return e;
  }

  /** Gross and net exposure at the marks (decimal). */
  exposure(book: SimBook): { gross: Dec; net: Dec } {
    let gross = ZERO;
    let net = ZERO;
    for (let i = 0; i < this.positions.length; i++) {
      if (this.qty[i] === 0) continue;
      const p = this.positions[i]!;
      const m = book.mark(i);
      const v = dec(p.quantity).times(m > 0 ? decOf(m) : dec(p.avgCost));
      gross = gross.plus(v.abs());
      net = net.plus(v);
    }
    return { gross, net };
  }

  /** Realized P&L net of fees of the round trips closed since `sinceUs`, with counts. */
  closedSince(sinceUs: number): { pnl: Dec; trades: number; losses: number } {
    let pnl = ZERO;
    let trades = 0;
    let losses = 0;
    for (let k = this.trades.length - 1; k >= 0; k--) {
      const t = this.trades[k]!;
      if (t.closedUs < sinceUs) break;
      pnl = pnl.plus(t.pnl);
      trades++;
      if (t.pnl.isNeg()) losses++;
    }
    return { pnl, trades, losses };
  }
}
