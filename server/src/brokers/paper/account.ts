import { BPS, type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { applyFill, flatPosition, type PositionState } from '@aegis/shared/accounting/position';
import type { QuoteBook } from '../quote-book.ts';
import type { BrokerAccount, BrokerPosition } from '../types.ts';
import type { PaperCombo, PaperOrder } from './model.ts';

export interface PaperAccountOptions {
  readonly accountId: string;
  readonly quotes: QuoteBook;
  readonly startingCash: string;
  readonly allowShort: boolean;
  readonly feeBps: Dec;
  readonly multiplierOf: (symbol: string) => string;
}

/**
 * The paper account's money: cash, positions, fills booked against them, and buying power. A
 * cash account (no margin): open buy orders and short sales are reserved at 100 % of their price
 * (limit, stop, else the touch) plus fees; bracket legs are reduce-only and reserve nothing; a
 * combo is reserved whole (its maximum loss when bounded).
 */
export class PaperAccount {
  readonly #o: PaperAccountOptions;
  readonly #positions = new Map<string, PositionState>();
  #cash: Dec;

  constructor(o: PaperAccountOptions) {
    this.#o = o;
    this.#cash = dec(o.startingCash);
  }

  get cash(): Dec {
    return this.#cash;
  }

  multiplier(symbol: string): Dec {
    return dec(this.#o.multiplierOf(symbol));
  }

  /** Signed quantity held. */
  position(symbol: string): Dec {
    return dec(this.#positions.get(symbol)?.quantity ?? '0');
  }

  /** Books one fill: the position and the cash (notional × multiplier, and the fee). */
  book(o: PaperOrder, quantity: Dec, price: Dec, fee: Dec): void {
    const r = o.req;
    const mult = this.multiplier(r.symbol);
    const notional = quantity.times(price).times(mult);
    const prev = this.#positions.get(r.symbol) ?? flatPosition(r.symbol);
    this.#positions.set(
      r.symbol,
      applyFill(prev, {
        side: r.side,
        quantity: decStr(quantity),
        price: decStr(price),
        fee: decStr(fee),
        multiplier: decStr(mult),
      }).position,
    );
    this.#cash =
      r.side === 'buy' ? this.#cash.minus(notional).minus(fee) : this.#cash.plus(notional).minus(fee);
  }

  /** What a reduce-only order may close: the position on its side, else nothing. */
  closable(o: PaperOrder): Dec {
    const pos = this.position(o.req.symbol);
    const closable = o.req.side === 'sell' ? pos : pos.neg();
    return closable.gt(0) ? closable : ZERO;
  }

  /**
   * Whether the account can take `o` on: cash less what the `working` orders and the `combos`
   * (their legs) already tie up covers it, and a short sale is allowed when it needs one.
   */
  hasBuyingPower(o: PaperOrder, working: readonly PaperOrder[], combos: readonly ComboLegs[]): boolean {
    const sellsAhead = new Map<string, Dec>();
    let reserved = ZERO;
    for (const w of working) if (w !== o) reserved = reserved.plus(this.#reserved(w, sellsAhead));
    for (const c of combos) reserved = reserved.plus(this.comboReserve(c, new Map()));
    const need = this.#reserved(o, sellsAhead);
    if (o.req.side === 'sell' && need.gt(0) && !this.#o.allowShort) return false;
    return need.lte(this.#cash.minus(reserved));
  }

  /** The same check for a whole combo, against the working orders and the other combos. */
  comboHasBuyingPower(c: ComboLegs, working: readonly PaperOrder[], others: readonly ComboLegs[]): boolean {
    const sellsAhead = new Map<string, Dec>();
    let reserved = ZERO;
    for (const w of working) reserved = reserved.plus(this.#reserved(w, sellsAhead));
    for (const other of others) reserved = reserved.plus(this.comboReserve(other, sellsAhead));
    const need = this.comboReserve(c, sellsAhead);
    const nakedShort = c.combo.maxLoss === null && c.legs.some((l) => l.req.side === 'sell');
    return !((nakedShort && !this.#o.allowShort) || need.gt(this.#cash.minus(reserved)));
  }

  /** Price an order is reserved at for buying power: its limit, its stop, else the touch. */
  #reservePrice(o: PaperOrder): Dec {
    const r = o.req;
    if (r.limitPrice) return dec(r.limitPrice);
    if (r.stopPrice) return dec(r.stopPrice);
    const b = this.#o.quotes.get(r.symbol);
    const touch = r.side === 'buy' ? b?.ask : b?.bid;
    return touch ?? b?.last ?? ZERO;
  }

  /** Cash an open order ties up: buys at full cost, sells only for the part that goes short. */
  #reserved(o: PaperOrder, sellsAhead: Map<string, Dec>): Dec {
    if (o.bracket) return ZERO; // reduce-only: a leg can only close what is held
    if (o.combo) return ZERO; // a combo is reserved whole (comboReserve)
    const leaves = dec(o.req.quantity).minus(o.filled);
    const mult = this.multiplier(o.req.symbol);
    const px = this.#reservePrice(o);
    const withFee = (q: Dec) => q.times(px).times(mult).times(BPS.plus(this.#o.feeBps)).div(BPS);
    if (o.req.side === 'buy') return withFee(leaves);
    const shortQty = this.#shortQuantity(o.req.symbol, leaves, sellsAhead);
    return withFee(shortQty);
  }

  /** The part of a sale of `leaves` that goes short, after the sales ahead of it on the symbol. */
  #shortQuantity(symbol: string, leaves: Dec, sellsAhead: Map<string, Dec>): Dec {
    const pos = this.position(symbol);
    const ahead = sellsAhead.get(symbol) ?? ZERO;
    const sellable = pos.minus(ahead).gt(0) ? pos.minus(ahead) : ZERO;
    sellsAhead.set(symbol, ahead.plus(leaves));
    return leaves.gt(sellable) ? leaves.minus(sellable) : ZERO;
  }

  /**
   * Cash a combo ties up. A cash account holds the strategy's maximum loss when it is bounded
   * (a defined-risk spread: the long leg covers the short one, so the short leg is not reserved
   * as a naked sale) plus the fees on its legs; otherwise each leg as a single order would be.
   */
  comboReserve({ combo, legs }: ComboLegs, sellsAhead: Map<string, Dec>): Dec {
    let fees = ZERO;
    let each = ZERO;
    for (const l of legs) {
      const leaves = dec(l.req.quantity).minus(l.filled);
      const mult = this.multiplier(l.req.symbol);
      const px = this.#reservePrice(l);
      fees = fees.plus(leaves.times(px).times(mult).times(this.#o.feeBps).div(BPS));
      if (combo.maxLoss !== null) continue;
      if (l.req.side === 'buy') each = each.plus(leaves.times(px).times(mult));
      else each = each.plus(this.#shortQuantity(l.req.symbol, leaves, sellsAhead).times(px).times(mult));
    }
    return (combo.maxLoss !== null ? dec(combo.maxLoss) : each).plus(fees);
  }

  /**
   * Cash plus positions at the mid (last trade, else average cost) times the multiplier. Buying
   * power is cash: the paper account is a cash account (no margin).
   */
  view(): BrokerAccount {
    let equity = this.#cash;
    for (const p of this.#positions.values()) {
      const b = this.#o.quotes.get(p.symbol);
      const mark = b?.bid && b.ask ? b.bid.plus(b.ask).div(2) : (b?.last ?? dec(p.avgCost));
      equity = equity.plus(dec(p.quantity).times(mark).times(this.multiplier(p.symbol)));
    }
    return {
      accountId: this.#o.accountId,
      currency: 'USD',
      cash: decStr(this.#cash),
      buyingPower: decStr(this.#cash.gt(ZERO) ? this.#cash : ZERO),
      equity: decStr(equity),
      brokerStatus: 'ACTIVE',
    };
  }

  positions(): BrokerPosition[] {
    return [...this.#positions.values()]
      .filter((p) => !dec(p.quantity).isZero())
      .map((p) => ({ symbol: p.symbol, quantity: p.quantity, avgCost: p.avgCost }));
  }

  snapshot(): { cash: string; positions: PositionState[] } {
    return { cash: decStr(this.#cash), positions: [...this.#positions.values()] };
  }

  restore(cash: string, positions: readonly PositionState[]): void {
    this.#cash = dec(cash);
    this.#positions.clear();
    for (const p of positions) this.#positions.set(p.symbol, { ...p });
  }
}

/** A combo with its legs held now. */
export interface ComboLegs {
  readonly combo: PaperCombo;
  readonly legs: readonly PaperOrder[];
}
