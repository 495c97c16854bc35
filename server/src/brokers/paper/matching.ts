import { type Dec, dec, ZERO } from '@aegis/shared/accounting/decimal';
import {
  type FillModel,
  feeFor,
  isMarketable,
  isStopTriggered,
  type LevelFill,
  takeLiquidity,
  totalQuantity,
} from '@aegis/shared/execution/fill-model';
import type { QuoteBook, TopOfBook } from '../quote-book.ts';
import type { PaperAccount } from './account.ts';
import { OPEN, type PaperOrder } from './model.ts';
import type { ExecutionReports } from './reports.ts';

export interface MatchingOptions {
  readonly quotes: QuoteBook;
  readonly model: FillModel;
  readonly feeBps: Dec;
  readonly minFee: Dec;
  readonly account: PaperAccount;
  readonly reports: ExecutionReports;
  /** Told after anything happened to an order (a fill, a cancel): its bracket follows. */
  readonly changed: (o: PaperOrder) => void;
}

/**
 * The paper matching engine: works one accepted order against the QuoteBook.
 *
 * - Taking liquidity walks synthetic depth (shared/src/execution/fill-model.ts): slippage from
 *   size against displayed depth; what this account took is hidden until the next quote.
 * - A resting limit order joins the queue behind the size displayed at its price; trades printed
 *   at its price consume the queue ahead first, then fill it (maker, partial fills); a trade
 *   through its price or a quote crossing it fills it.
 * - Fees: bps of notional with a per-order minimum charged on the first fill.
 * - A halted instrument's orders do not fill.
 */
export class Matching {
  readonly #o: MatchingOptions;
  readonly halted = new Set<string>();
  /** Displayed size this account already took since the symbol's last quote update. */
  readonly #taken = new Map<string, { bid: Dec; ask: Dec }>();

  constructor(o: MatchingOptions) {
    this.#o = o;
  }

  /** A fresh quote shows fresh liquidity. */
  quoteUpdated(symbol: string): void {
    this.#taken.delete(symbol);
  }

  /**
   * Works an accepted order against the current book. `trade` is the print that prompted this
   * pass (null on arrival and on quote updates). `arrival` is true only on the first pass, when
   * IOC / FOK / market orders decide what to do with an unfilled remainder.
   */
  work(o: PaperOrder, trade: { price: Dec; size: Dec } | null, arrival: boolean): void {
    if (!OPEN.has(o.status) || o.status === 'pending_new') return;
    if (o.combo) return; // worked with its combo only
    if (this.halted.has(o.req.symbol)) return;
    const r = o.req;
    // A bracket leg with nothing to close (its entry has not filled) waits, untriggered.
    if (o.bracket && !this.leaves(o).gt(0)) return;
    const book = this.book(r.symbol);
    if (!o.triggered && (r.orderType === 'stop' || r.orderType === 'stop_limit')) {
      if (!isStopTriggered(book, r.side, dec(r.stopPrice!), trade?.price ?? null)) return;
      o.triggered = true;
      arrival = true; // a triggered stop arrives as a market / limit order now
    }
    const limit = r.orderType === 'limit' || r.orderType === 'stop_limit' ? dec(r.limitPrice!) : null;
    const leaves = this.leaves(o);

    if (limit === null) {
      // Market (or triggered stop): take what the book offers; market orders never rest.
      const fills = takeLiquidity(book, r.side, leaves, null, this.#o.model);
      if (r.timeInForce === 'fok' && totalQuantity(fills).lt(leaves)) {
        this.cancelRemainder(o, 'fok: not fillable in full');
        return;
      }
      this.fillAll(o, fills, 'taker');
      // A triggered protective stop is the position's exit: it keeps working, never dropped.
      if (OPEN.has(o.status) && !o.bracket) this.cancelRemainder(o, 'market order: no more liquidity');
      return;
    }

    if (isMarketable(book, r.side, limit)) {
      const fills = takeLiquidity(book, r.side, leaves, limit, this.#o.model);
      if (arrival && r.timeInForce === 'fok' && totalQuantity(fills).lt(leaves)) {
        this.cancelRemainder(o, 'fok: not fillable in full');
        return;
      }
      this.fillAll(o, fills, 'taker');
    } else if (arrival && r.timeInForce === 'fok') {
      this.cancelRemainder(o, 'fok: not fillable in full');
      return;
    }
    if (!OPEN.has(o.status)) return;
    if (arrival && (r.timeInForce === 'ioc' || r.timeInForce === 'fok')) {
      this.cancelRemainder(o, `${r.timeInForce}: remainder cancelled`);
      return;
    }
    this.#rest(o, limit, trade);
  }

  /** Queue position and passive fills of a resting limit order. */
  #rest(o: PaperOrder, limit: Dec, trade: { price: Dec; size: Dec } | null): void {
    const r = o.req;
    const book = this.#o.quotes.get(r.symbol);
    const ourTouch = r.side === 'buy' ? book?.bid : book?.ask;
    const ourSize = (r.side === 'buy' ? book?.bidSize : book?.askSize) ?? ZERO;
    if (ourTouch) {
      const improves = r.side === 'buy' ? limit.gt(ourTouch) : limit.lt(ourTouch);
      if (improves)
        o.queueAhead = ZERO; // we are the best price: nobody ahead
      else if (limit.eq(ourTouch)) {
        // Joined behind the displayed size; the queue ahead only shrinks (cancels ahead of us).
        o.queueAhead = o.queueAhead === null ? ourSize : o.queueAhead.lt(ourSize) ? o.queueAhead : ourSize;
      }
    }
    if (!trade) return;
    const through = r.side === 'buy' ? trade.price.lt(limit) : trade.price.gt(limit);
    const at = trade.price.eq(limit);
    if (!through && !at) return;
    let available: Dec;
    if (through) {
      available = trade.size; // the market traded through our price: everything at it went first
      o.queueAhead = ZERO;
    } else {
      const ahead = o.queueAhead ?? ZERO;
      available = trade.size.minus(ahead);
      o.queueAhead = ahead.gt(trade.size) ? ahead.minus(trade.size) : ZERO;
    }
    if (!available.gt(0)) return;
    const leaves = this.leaves(o);
    if (!leaves.gt(0)) return;
    this.fillAll(o, [{ price: limit, quantity: available.lt(leaves) ? available : leaves }], 'maker');
  }

  /** What the order may still fill: its leaves; for a reduce-only leg at most the position it closes. */
  leaves(o: PaperOrder): Dec {
    const leaves = dec(o.req.quantity).minus(o.filled);
    if (!o.bracket) return leaves;
    const cap = this.#o.account.closable(o);
    return leaves.lt(cap) ? leaves : cap;
  }

  /** The book as this account sees it: displayed sizes less what it took since the last quote. */
  book(symbol: string): TopOfBook | null {
    const b = this.#o.quotes.get(symbol);
    const t = this.#taken.get(symbol);
    if (!b || !t) return b;
    const left = (size: Dec, took: Dec) => (size.gt(took) ? size.minus(took) : ZERO);
    return { ...b, bidSize: left(b.bidSize, t.bid), askSize: left(b.askSize, t.ask) };
  }

  fillAll(o: PaperOrder, fills: readonly LevelFill[], liquidity: 'maker' | 'taker'): void {
    const r = o.req;
    const mult = this.#o.account.multiplier(r.symbol);
    for (const f of fills) {
      if (!f.quantity.gt(0)) continue;
      const fee = feeFor(
        f.quantity.times(f.price).times(mult),
        this.#o.feeBps,
        this.#o.minFee,
        o.fills === 0,
      );
      o.filled = o.filled.plus(f.quantity);
      o.notional = o.notional.plus(f.quantity.times(f.price));
      o.fills++;
      if (o.status !== 'pending_cancel')
        o.status = o.filled.gte(dec(r.quantity)) ? 'filled' : 'partially_filled';
      this.#o.account.book(o, f.quantity, f.price, fee);
      if (liquidity === 'taker') {
        const t = this.#taken.get(r.symbol) ?? { bid: ZERO, ask: ZERO };
        this.#taken.set(
          r.symbol,
          r.side === 'buy' ? { ...t, ask: t.ask.plus(f.quantity) } : { ...t, bid: t.bid.plus(f.quantity) },
        );
      }
      this.#o.reports.emit(o, 'fill', { lastQty: f.quantity, lastPx: f.price, fee, liquidity });
      this.#o.changed(o);
    }
  }

  cancelRemainder(o: PaperOrder, reason: string): void {
    o.status = 'cancelled';
    this.#o.reports.emit(o, 'cancelled', { reason });
    this.#o.changed(o);
  }
}
