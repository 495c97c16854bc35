import { BPS, type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { applyFill, flatPosition, type PositionState } from '@aegis/shared/accounting/position';
import type { QuoteBook } from '../quote-book.ts';
import type { BrokerAccount, BrokerPosition } from '../types.ts';
import { isWorking, type PaperCombo, type PaperOrder } from './model.ts';

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
  /** The working plain orders per symbol, as buying power reserves them (`track`). */
  readonly #bySymbol = new Map<string, SymbolReserve>();
  /** Each combo's reserve on its own, with the inputs it was computed from (`#comboAlone`). */
  readonly #comboReserves = new WeakMap<PaperCombo, { key: unknown[]; value: Dec }>();
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
   * Keeps the buying-power reserve up to date with `o`: called whenever an order is added or
   * changed (every execution report). A working plain order (not a bracket leg, not a combo leg)
   * joins its symbol's aggregate; an order that stopped working leaves it.
   */
  track(o: PaperOrder): void {
    const symbol = o.req.symbol;
    let agg = this.#bySymbol.get(symbol);
    const held = agg?.fixed.get(o);
    if (agg && held !== undefined) {
      agg.fixed.delete(o);
      agg.fixedSum = agg.fixedSum.minus(held);
    } else if (agg?.varying.delete(o)) agg.varyingSum = null;
    if (isWorking(o) && !o.bracket && !o.combo) {
      if (!agg) {
        agg = newSymbolReserve(this.#o.multiplierOf(symbol));
        this.#bySymbol.set(symbol, agg);
      }
      if (isFixed(o)) {
        const amount = this.#fixedReserve(o, dec(agg.multiplier));
        agg.fixed.set(o, amount);
        agg.fixedSum = agg.fixedSum.plus(amount);
      } else {
        agg.varying.add(o);
        agg.varyingSum = null;
      }
    }
    if (agg && agg.fixed.size === 0 && agg.varying.size === 0) this.#bySymbol.delete(symbol);
  }

  /**
   * Whether the account can take `o` (an arriving order, not working yet) on: cash less what the
   * working orders and the `combos` (their legs) already tie up covers it, and a short sale is
   * allowed when it needs one.
   */
  hasBuyingPower(o: PaperOrder, combos: readonly ComboLegs[]): boolean {
    let reserved = this.#reservedByOrders();
    for (const c of combos) reserved = reserved.plus(this.#comboAlone(c));
    const ahead = this.#bySymbol.get(o.req.symbol)?.sellsAhead ?? ZERO;
    const need = this.#reserved(o, new Map([[o.req.symbol, ahead]]));
    if (o.req.side === 'sell' && need.gt(0) && !this.#o.allowShort) return false;
    return need.lte(this.#cash.minus(reserved));
  }

  /** The same check for a whole combo, against the working orders and the other combos. */
  comboHasBuyingPower(c: ComboLegs, others: readonly ComboLegs[]): boolean {
    let reserved = this.#reservedByOrders();
    const sellsAhead = new Map<string, Dec>();
    for (const [symbol, agg] of this.#bySymbol) sellsAhead.set(symbol, agg.sellsAhead);
    for (const other of others) reserved = reserved.plus(this.comboReserve(other, sellsAhead));
    const need = this.comboReserve(c, sellsAhead);
    const nakedShort = c.combo.maxLoss === null && c.legs.some((l) => l.req.side === 'sell');
    return !((nakedShort && !this.#o.allowShort) || need.gt(this.#cash.minus(reserved)));
  }

  /** What the working orders and the `combos` tie up now (the reserve `hasBuyingPower` checks). */
  reserved(combos: readonly ComboLegs[]): Dec {
    let reserved = this.#reservedByOrders();
    for (const c of combos) reserved = reserved.plus(this.#comboAlone(c));
    return reserved;
  }

  /**
   * What the working plain orders tie up, symbol by symbol. A symbol's limit- and stop-priced
   * buys are a running sum (each one's reserve depends only on itself); its sales and its buys at
   * the touch are recomputed, in time priority, only when one of them changed or what they are
   * priced from did (the position, the touch, the multiplier).
   */
  #reservedByOrders(): Dec {
    let total = ZERO;
    for (const [symbol, agg] of this.#bySymbol) {
      const multiplier = this.#o.multiplierOf(symbol);
      if (multiplier !== agg.multiplier) {
        agg.multiplier = multiplier;
        agg.fixedSum = ZERO;
        for (const o of agg.fixed.keys()) {
          const amount = this.#fixedReserve(o, dec(multiplier));
          agg.fixed.set(o, amount);
          agg.fixedSum = agg.fixedSum.plus(amount);
        }
        agg.varyingSum = null;
      }
      total = total.plus(agg.fixedSum).plus(this.#varyingReserve(symbol, agg));
    }
    return total;
  }

  #varyingReserve(symbol: string, agg: SymbolReserve): Dec {
    const b = this.#o.quotes.get(symbol);
    const position = this.#positions.get(symbol);
    const stale =
      agg.varyingSum === null ||
      position !== agg.position ||
      (agg.touch !== null &&
        (b?.bid !== agg.touch[0] || b?.ask !== agg.touch[1] || b?.last !== agg.touch[2]));
    if (!stale && agg.varyingSum !== null) return agg.varyingSum;
    const sellsAhead = new Map<string, Dec>();
    let sum = ZERO;
    let atTouch = false;
    for (const o of [...agg.varying].sort((x, y) => x.seq - y.seq)) {
      sum = sum.plus(this.#reserved(o, sellsAhead));
      atTouch ||= !o.req.limitPrice && !o.req.stopPrice;
    }
    agg.varyingSum = sum;
    agg.sellsAhead = sellsAhead.get(symbol) ?? ZERO;
    agg.position = position;
    agg.touch = atTouch ? [b?.bid, b?.ask, b?.last] : null;
    return sum;
  }

  /** A limit- or stop-priced buy's reserve: its leaves at its price, with fees. */
  #fixedReserve(o: PaperOrder, mult: Dec): Dec {
    const leaves = dec(o.req.quantity).minus(o.filled);
    return withFee(leaves, this.#reservePrice(o), mult, this.#o.feeBps);
  }

  /**
   * A combo's reserve on its own (a fresh sells-ahead, as `hasBuyingPower` counts it), kept
   * until one of its inputs changes: a leg's fill, a touch, a position, a multiplier.
   */
  #comboAlone(c: ComboLegs): Dec {
    const key: unknown[] = [c.legs.length];
    for (const l of c.legs) {
      const b = this.#o.quotes.get(l.req.symbol);
      key.push(l, l.filled, l.req.quantity, l.req.limitPrice, l.req.stopPrice);
      key.push(
        this.#o.multiplierOf(l.req.symbol),
        b?.bid,
        b?.ask,
        b?.last,
        this.#positions.get(l.req.symbol),
      );
    }
    const held = this.#comboReserves.get(c.combo);
    if (held && held.key.length === key.length && held.key.every((k, i) => k === key[i])) return held.value;
    const value = this.comboReserve(c, new Map());
    this.#comboReserves.set(c.combo, { key, value });
    return value;
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
    if (o.req.side === 'buy') return withFee(leaves, px, mult, this.#o.feeBps);
    const shortQty = this.#shortQuantity(o.req.symbol, leaves, sellsAhead);
    return withFee(shortQty, px, mult, this.#o.feeBps);
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

/**
 * One symbol's working plain orders as buying power reserves them. Limit- and stop-priced buys
 * are `fixed`: each one's reserve (its leaves at its price, with fees) is kept and summed.
 * Sales (whose short part depends on the position and the sales ahead of them) and buys at the
 * touch are `varying`: their sum is recomputed, in time priority, when it is null or what it was
 * computed from changed.
 */
interface SymbolReserve {
  readonly fixed: Map<PaperOrder, Dec>;
  fixedSum: Dec;
  readonly varying: Set<PaperOrder>;
  varyingSum: Dec | null;
  /** The varying sales' leaves: what a new sale on the symbol finds ahead of it. */
  sellsAhead: Dec;
  /** The position record and (when an order is priced at the touch) bid, ask, last used. */
  position: PositionState | undefined;
  touch: readonly (Dec | null | undefined)[] | null;
  /** The multiplier every amount here was computed with. */
  multiplier: string;
}

const newSymbolReserve = (multiplier: string): SymbolReserve => ({
  fixed: new Map(),
  fixedSum: ZERO,
  varying: new Set(),
  varyingSum: null,
  sellsAhead: ZERO,
  position: undefined,
  touch: null,
  multiplier,
});

/** A buy priced by its own limit or stop: its reserve depends on nothing else. */
const isFixed = (o: PaperOrder): boolean => o.req.side === 'buy' && !!(o.req.limitPrice || o.req.stopPrice);

/** Cash for `q` at `px`: notional times the multiplier, plus the fee. */
const withFee = (q: Dec, px: Dec, mult: Dec, feeBps: Dec): Dec =>
  q.times(px).times(mult).times(BPS.plus(feeBps)).div(BPS);
