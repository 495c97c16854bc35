import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { comboFillPlan } from '@aegis/shared/orders/combo';
import type { QuoteBook } from '../quote-book.ts';
import type { PlaceComboAck } from '../types.ts';
import type { ComboLegs, PaperAccount } from './account.ts';
import type { Matching } from './matching.ts';
import { isWorking, OPEN, type PaperAccountSnapshot, type PaperCombo, type PaperOrder } from './model.ts';
import type { OrderStore } from './order-store.ts';
import { type ExecutionReports, orderAck } from './reports.ts';

export interface CombosOptions {
  readonly quotes: QuoteBook;
  readonly store: OrderStore;
  readonly reports: ExecutionReports;
  readonly matching: Matching;
  readonly account: PaperAccount;
}

/**
 * Combos, all-or-none: the legs are accepted together (or rejected together) and then fill
 * together, each at its touch, in one pass, once every leg shows the size for its whole quantity
 * and the net at the touches is within the limit (any net for market; shared/src/orders/combo.ts
 * decides). Until then nothing fills; a market, IOC or FOK combo that cannot fill at once is
 * cancelled whole. A leg never works alone.
 */
export class Combos {
  readonly #combos = new Map<string, PaperCombo>();
  /**
   * The combos whose legs were accepted (or restored) and may still work, each with its place in
   * `#combos` (they are listed in that order); one is dropped once none of its legs is open.
   */
  readonly #live = new Map<PaperCombo, number>();
  #added = 0;
  readonly #order = new Map<string, number>();
  readonly #o: CombosOptions;

  constructor(o: CombosOptions) {
    this.#o = o;
  }

  get(comboId: string): PaperCombo | undefined {
    return this.#combos.get(comboId);
  }

  add(c: PaperCombo): void {
    this.#combos.set(c.id, c);
    if (!this.#order.has(c.id)) this.#order.set(c.id, this.#added++);
  }

  legs(c: PaperCombo): PaperOrder[] {
    return c.legs.map((id) => this.#o.store.get(id)).filter((x): x is PaperOrder => !!x);
  }

  /** The combos holding working legs (accepted, not finished), except `except`'s. */
  working(except?: PaperOrder | PaperCombo): ComboLegs[] {
    const out: ComboLegs[] = [];
    const live = [...this.#live].sort((a, b) => a[1] - b[1]);
    for (const [combo] of live) {
      const legs = this.legs(combo);
      if (!legs.some((l) => OPEN.has(l.status))) this.#live.delete(combo); // finished for good
      if (combo === except || legs.some((l) => l === except) || !legs.some(isWorking)) continue;
      out.push({ combo, legs });
    }
    return out;
  }

  ack(c: PaperCombo): PlaceComboAck {
    const legs = this.legs(c);
    const first = legs[0];
    return {
      comboId: c.id,
      status: first?.status ?? 'rejected',
      legs: legs.map(orderAck),
      ...(first?.rejectReason && { rejectReason: first.rejectReason }),
    };
  }

  arrive(c: PaperCombo): void {
    const legs = this.legs(c);
    if (legs.some((l) => l.status !== 'pending_new')) return; // cancelled while in flight
    const refusal = this.#refusal(c, legs);
    if (refusal) {
      for (const l of legs) {
        l.status = 'rejected';
        l.rejectReason = refusal;
        this.#o.reports.emit(l, 'rejected', { reason: refusal });
      }
      return;
    }
    for (const l of legs) {
      l.status = 'new';
      this.#o.reports.emit(l, 'accepted');
    }
    this.#live.set(c, this.#order.get(c.id) ?? this.#added++);
    this.work(c, true);
  }

  /** Why a combo cannot be accepted (every leg is rejected with it), or null. */
  #refusal(c: PaperCombo, legs: readonly PaperOrder[]): string | null {
    if (!dec(c.quantity).gt(0)) return 'quantity must be positive';
    if (c.orderType === 'limit' && c.netLimitPrice === null) return 'net limit price required';
    if (c.orderType === 'market' && c.timeInForce === 'gtc') return 'market orders cannot be gtc';
    for (const l of legs) {
      if (this.#o.matching.halted.has(l.req.symbol)) return `instrument halted: ${l.req.symbol}`;
      const b = this.#o.quotes.get(l.req.symbol);
      if (!b?.bid || !b.ask) return `no market data for the instrument: ${l.req.symbol}`;
    }
    const ok = this.#o.account.comboHasBuyingPower({ combo: c, legs }, this.working(c));
    return ok ? null : 'insufficient buying power';
  }

  /** One all-or-none pass over a combo. */
  work(c: PaperCombo, arrival: boolean): void {
    const legs = this.legs(c);
    if (legs.length === 0 || legs.some((l) => !isWorking(l))) return;
    if (legs.some((l) => this.#o.matching.halted.has(l.req.symbol))) return;
    const touches = legs.map((l) => {
      const b = this.#o.matching.book(l.req.symbol);
      const buy = l.req.side === 'buy';
      const px = buy ? b?.ask : b?.bid;
      const size = buy ? b?.askSize : b?.bidSize;
      return {
        side: l.req.side,
        ratio: l.combo!.ratio,
        leaves: decStr(dec(l.req.quantity).minus(l.filled)),
        price: px ? decStr(px) : null,
        size: size ? decStr(size) : null,
      };
    });
    const plan = comboFillPlan(touches, c.orderType === 'limit' ? c.netLimitPrice : null);
    if (plan.fill) {
      legs.forEach((l, i) => {
        this.#o.matching.fillAll(
          l,
          [{ price: dec(plan.prices[i]!), quantity: dec(touches[i]!.leaves) }],
          'taker',
        );
      });
      return;
    }
    if (arrival && (c.orderType === 'market' || c.timeInForce === 'ioc' || c.timeInForce === 'fok')) {
      this.end(
        c,
        'cancelled',
        `${c.orderType === 'market' ? 'market combo' : c.timeInForce}: not fillable in full at once`,
      );
    }
  }

  /** Works every combo with an open leg on the symbol (a price update there). */
  workOn(symbol: string): void {
    for (const c of this.#combos.values()) {
      if (this.legs(c).some((l) => l.req.symbol === symbol && OPEN.has(l.status))) this.work(c, false);
    }
  }

  /** Works every open combo whose legs all have a price (a restored account catching up). */
  workOpen(): void {
    for (const c of this.#combos.values()) {
      const legs = this.legs(c);
      if (legs.some((l) => OPEN.has(l.status)) && legs.every((l) => this.#o.quotes.get(l.req.symbol)))
        this.work(c, false);
    }
  }

  /** Ends every open leg of a combo (cancel or expiry); returns how many it ended. */
  end(c: PaperCombo, how: 'cancelled' | 'expired', reason?: string): number {
    let n = 0;
    for (const l of this.legs(c)) {
      if (!OPEN.has(l.status)) continue;
      l.status = how;
      this.#o.reports.emit(l, how, reason ? { reason } : {});
      n++;
    }
    return n;
  }

  /** The order store forgot a leg: a combo none of whose legs is held any more is dropped. */
  forget(o: PaperOrder): void {
    const c = o.combo ? this.#combos.get(o.combo.comboId) : undefined;
    if (c && !c.legs.some((id) => this.#o.store.has(id))) {
      this.#combos.delete(c.id);
      this.#order.delete(c.id);
      this.#live.delete(c);
    }
  }

  snapshot(): NonNullable<PaperAccountSnapshot['combos']> {
    return [...this.#combos.values()]
      .filter((c) => this.legs(c).some((l) => OPEN.has(l.status)))
      .map(({ legs: _legs, id, ...c }) => ({ comboId: id, ...c }));
  }

  /** Open combos come back whole: their legs (in client-id order) work together again. */
  restore(s: PaperAccountSnapshot): void {
    for (const c of s.combos ?? []) {
      const legs = s.openOrders
        .filter((o) => o.comboLink?.comboId === c.comboId)
        .map((o) => o.clientOrderId)
        .sort();
      const { comboId, ...rest } = c;
      const combo = { id: comboId, ...rest, legs };
      const prev = this.#combos.get(comboId);
      if (prev) this.#live.delete(prev);
      this.add(combo);
      this.#live.set(combo, this.#order.get(comboId) ?? this.#added++);
    }
  }
}
