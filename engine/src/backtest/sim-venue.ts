// One file over 400 lines: SimVenue is one class whose order book, resting orders, brackets and
// fills share private state; splitting it would expose that state across files.
import { type Dec, dec, decMin, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import {
  type FillModel,
  feeFor,
  isMarketable,
  isStopTriggered,
  type LevelFill,
  takeLiquidity,
} from '@aegis/shared/execution/fill-model';
import { type BracketMember, bracketActions, bracketLegs } from '@aegis/shared/orders/bracket';
import type { TickRecord } from '../feeds/tick.ts';
import { TICK_KIND } from '../ring/layout.ts';
import { decOf, type SimBook } from './sim-book.ts';

/**
 * The simulated venue: orders arrive `orderLatencyUs` after the decision, rest with a queue
 * position, trigger, fill and pay fees through the paper broker's fill model
 * (shared/src/execution/fill-model.ts), and carry their protective stop and target as an OCO
 * bracket decided by the shared bracket rules (shared/src/orders/bracket.ts). Event time only.
 *
 * Fill realism (docs/backtests.md):
 * - Taking liquidity (a market order, a marketable limit on arrival, a triggered stop) walks the
 *   fill model's synthetic depth from the touch as it stands when the order arrives: taker fee.
 * - A resting limit order joins the BACK of the displayed queue at its price: `queueAhead` is the
 *   displayed size there when it arrives (0 when it improves the touch; unknown behind the touch
 *   until the touch reaches its price, then the displayed size at that moment). Trades at its price
 *   consume the queue ahead first and only the excess fills it; a displayed size that shrinks below
 *   the queue ahead lowers it (cancellations ahead of us); a trade or an opposite quote THROUGH its
 *   price fills what is left at its limit. Maker fee. With `queuePosition` off, the first trade at
 *   or through the price fills it whole.
 * - Stops trigger as the paper broker's do (isStopTriggered: a trade at or through the stop, else
 *   the quote) and then take liquidity; a triggered stop that finds no liquidity keeps trying.
 * Hot path: per tick only instruments with working orders are looked at, with float comparisons;
 * decimals are made only when something fills, and the shared predicates confirm every trigger.
 *
 * Over 400 lines on purpose: one matching engine over one order state (arrival, queue position,
 * triggers, fills, brackets).
 */
export type OrderRole = 'entry' | 'stop' | 'target' | 'exit';
export type OrderStatus = 'working' | 'filled' | 'cancelled' | 'expired' | 'denied' | 'pending';

export interface VenueOrder {
  readonly id: string;
  readonly inst: number;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly orderType: 'market' | 'limit' | 'stop';
  readonly role: OrderRole;
  quantity: Dec;
  filled: Dec;
  /** quantity − filled as a float, for the per-tick checks. */
  leaves: number;
  readonly limitPrice: Dec | null;
  readonly stopPrice: Dec | null;
  readonly limitF: number;
  readonly stopF: number;
  status: OrderStatus;
  readonly tsDecisionUs: number;
  arriveUs: number;
  expireUs: number;
  /** Displayed size ahead of it in the queue at its price; −1 while behind the touch. */
  queueAhead: number;
  triggered: boolean;
  fills: number;
  readonly pattern: string | null;
  readonly score: number | null;
  denials: string[];
  /** The bracket this order belongs to (entry and legs share it). */
  bracket: Bracket | null;
}

export interface Bracket {
  readonly entry: VenueOrder;
  readonly legs: VenueOrder[];
}

export interface VenueSettings {
  readonly orderLatencyUs: number;
  readonly queuePosition: boolean;
  readonly takerFeeBps: Dec;
  readonly makerFeeBps: Dec;
  readonly minFee: Dec;
  readonly model: FillModel;
  /** An entry's unfilled remainder is cancelled this long after it arrives (its horizon). */
  readonly entryTtlUs: number;
}

export type FillListener = (
  order: VenueOrder,
  quantity: Dec,
  price: Dec,
  fee: Dec,
  liquidity: 'maker' | 'taker',
  tsUs: number,
) => void;

export interface EntryRequest {
  readonly inst: number;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly orderType: 'market' | 'limit';
  readonly quantity: string;
  readonly limitPrice: string | null;
  readonly stopPrice: string | null;
  readonly targetPrice: string | null;
  readonly tsDecisionUs: number;
  readonly pattern: string | null;
  readonly score: number | null;
}

const isOpen = (o: VenueOrder) => o.status === 'working' || o.status === 'pending';

export class SimVenue {
  readonly orders: VenueOrder[] = [];
  /** Working orders per instrument (legs holding nothing included). */
  readonly working: VenueOrder[][];
  readonly #book: SimBook;
  readonly #s: VenueSettings;
  readonly #onFill: FillListener;
  readonly #positionOf: (inst: number) => Dec;
  /** Orders on their way to the venue, in arrival order (latency is constant, so FIFO). */
  readonly #arrivals: VenueOrder[] = [];
  #arrivalHead = 0;
  /** Entries by expiry time (constant TTL: FIFO). */
  readonly #expiries: VenueOrder[] = [];
  #expiryHead = 0;
  /** Earliest event time at which `advance` has something to do. */
  nextDueUs = Number.POSITIVE_INFINITY;

  /** `positionOf` is the desk's signed position: a bracket leg never closes more than it (reduce-only). */
  constructor(
    book: SimBook,
    instruments: number,
    settings: VenueSettings,
    onFill: FillListener,
    positionOf: (inst: number) => Dec,
  ) {
    this.#book = book;
    this.#s = settings;
    this.#onFill = onFill;
    this.#positionOf = positionOf;
    this.working = Array.from({ length: instruments }, () => []);
  }

  /** An entry with its bracket (stop and target legs), sent now and arriving after the latency. */
  submitEntry(r: EntryRequest): VenueOrder {
    const entry = this.#newOrder(r.inst, r.symbol, r.side, r.orderType, 'entry', dec(r.quantity), {
      limit: r.limitPrice,
      stop: null,
      tsDecisionUs: r.tsDecisionUs,
      pattern: r.pattern,
      score: r.score,
    });
    if (r.stopPrice || r.targetPrice) {
      const legs = bracketLegs(
        { side: r.side, limitPrice: r.limitPrice },
        { stopPrice: r.stopPrice, targetPrice: r.targetPrice },
      ).map((l) =>
        this.#newOrder(r.inst, r.symbol, l.side, l.orderType, l.role, ZERO, {
          limit: l.limitPrice,
          stop: l.stopPrice,
          tsDecisionUs: r.tsDecisionUs,
          pattern: r.pattern,
          score: null,
        }),
      );
      const bracket: Bracket = { entry, legs };
      entry.bracket = bracket;
      for (const l of legs) l.bracket = bracket;
    }
    entry.status = 'pending';
    entry.arriveUs = r.tsDecisionUs + this.#s.orderLatencyUs;
    this.#arrivals.push(entry);
    if (entry.arriveUs < this.nextDueUs) this.nextDueUs = entry.arriveUs;
    return entry;
  }

  /** An order the governor denied: recorded, never sent. */
  recordDenied(r: EntryRequest, denials: string[]): VenueOrder {
    const o = this.#newOrder(r.inst, r.symbol, r.side, r.orderType, 'entry', dec(r.quantity), {
      limit: r.limitPrice,
      stop: null,
      tsDecisionUs: r.tsDecisionUs,
      pattern: r.pattern,
      score: r.score,
    });
    o.status = 'denied';
    o.denials = denials;
    return o;
  }

  #newOrder(
    inst: number,
    symbol: string,
    side: 'buy' | 'sell',
    orderType: 'market' | 'limit' | 'stop',
    role: OrderRole,
    quantity: Dec,
    m: {
      limit: string | null;
      stop: string | null;
      tsDecisionUs: number;
      pattern: string | null;
      score: number | null;
    },
  ): VenueOrder {
    const limitPrice = m.limit ? dec(m.limit) : null;
    const stopPrice = m.stop ? dec(m.stop) : null;
    const o: VenueOrder = {
      id: `o${this.orders.length + 1}`,
      inst,
      symbol,
      side,
      orderType,
      role,
      quantity,
      filled: ZERO,
      leaves: quantity.toNumber(),
      limitPrice,
      stopPrice,
      limitF: limitPrice ? limitPrice.toNumber() : 0,
      stopF: stopPrice ? stopPrice.toNumber() : 0,
      status: 'pending',
      tsDecisionUs: m.tsDecisionUs,
      arriveUs: 0,
      expireUs: Number.POSITIVE_INFINITY,
      queueAhead: -1,
      triggered: false,
      fills: 0,
      pattern: m.pattern,
      score: m.score,
      denials: [],
      bracket: null,
    };
    this.orders.push(o);
    return o;
  }

  /** Everything due strictly before `tsUs` (arrivals act on the book as it was before that tick). */
  advance(tsUs: number): void {
    while (this.#arrivalHead < this.#arrivals.length) {
      const o = this.#arrivals[this.#arrivalHead]!;
      if (o.arriveUs >= tsUs) break;
      this.#arrivalHead++;
      this.#arrive(o);
    }
    while (this.#expiryHead < this.#expiries.length) {
      const o = this.#expiries[this.#expiryHead]!;
      if (o.expireUs >= tsUs) break;
      this.#expiryHead++;
      if (isOpen(o) && o.leaves > 0) this.#cancel(o, 'expired', o.expireUs);
    }
    this.#compact();
    const a = this.#arrivals[this.#arrivalHead]?.arriveUs ?? Number.POSITIVE_INFINITY;
    const e = this.#expiries[this.#expiryHead]?.expireUs ?? Number.POSITIVE_INFINITY;
    this.nextDueUs = Math.min(a, e);
  }

  #compact(): void {
    if (this.#arrivalHead > 4096 && this.#arrivalHead * 2 > this.#arrivals.length) {
      this.#arrivals.splice(0, this.#arrivalHead);
      this.#arrivalHead = 0;
    }
    if (this.#expiryHead > 4096 && this.#expiryHead * 2 > this.#expiries.length) {
      this.#expiries.splice(0, this.#expiryHead);
      this.#expiryHead = 0;
    }
  }

  #arrive(o: VenueOrder): void {
    const tsUs = o.arriveUs;
    o.status = 'working';
    const list = this.working[o.inst]!;
    list.push(o);
    if (o.bracket) for (const l of o.bracket.legs) this.#rest(l, list);
    const top = this.#book.topOfBook(o.inst);
    if (o.orderType === 'market' || (o.limitPrice && isMarketable(top, o.side, o.limitPrice))) {
      this.#take(o, top, o.orderType === 'market' ? null : o.limitPrice, tsUs);
    }
    if (!isOpen(o)) return;
    if (o.orderType === 'market') {
      // Nothing (more) to take at arrival: an unfilled market remainder is cancelled, as at a venue.
      this.#cancel(o, 'cancelled', tsUs);
      return;
    }
    this.#initQueue(o);
    o.expireUs = tsUs + this.#s.entryTtlUs;
    this.#expiries.push(o);
  }

  /** A bracket leg goes live with its entry (holding nothing until the entry fills). */
  #rest(leg: VenueOrder, list: VenueOrder[]): void {
    leg.status = 'working';
    leg.arriveUs = leg.bracket?.entry.arriveUs ?? 0;
    list.push(leg);
    if (leg.orderType === 'limit') this.#initQueue(leg);
  }

  #initQueue(o: VenueOrder): void {
    const i = o.inst;
    const touch = o.side === 'buy' ? this.#book.bid[i]! : this.#book.ask[i]!;
    const size = o.side === 'buy' ? this.#book.bidSize[i]! : this.#book.askSize[i]!;
    const better = o.side === 'buy' ? o.limitF > touch : o.limitF < touch;
    o.queueAhead = o.limitF === touch ? size : better || touch === 0 ? 0 : -1;
  }

  /** Matches instrument `inst`'s working orders against its tick (the book already updated). */
  onTick(inst: number, t: TickRecord): void {
    const list = this.working[inst]!;
    const trade = t.kind === TICK_KIND.trade;
    const book = this.#book;
    for (let k = 0; k < list.length; k++) {
      const o = list[k]!;
      if (o.leaves <= 0 || !isOpen(o)) continue;
      if (o.orderType === 'stop') {
        if (!o.triggered) {
          const hit = trade
            ? o.side === 'buy'
              ? t.price >= o.stopF
              : t.price <= o.stopF
            : o.side === 'buy'
              ? book.bid[inst]! >= o.stopF
              : book.ask[inst]! > 0 && book.ask[inst]! <= o.stopF;
          if (!hit) continue;
          // The shared predicate is the rule; the float test above only spares decimals per tick.
          if (!isStopTriggered(book.topOfBook(inst), o.side, o.stopPrice!, trade ? decOf(t.price) : null))
            continue;
          o.triggered = true;
        }
        this.#take(o, book.topOfBook(inst), null, t.tsEventUs);
      } else if (o.orderType === 'limit') {
        this.#matchResting(o, t, trade);
      }
    }
    if (list.some((o) => !isOpen(o))) this.working[inst] = list.filter(isOpen);
  }

  #matchResting(o: VenueOrder, t: TickRecord, trade: boolean): void {
    const i = o.inst;
    const buy = o.side === 'buy';
    const L = o.limitF;
    const opposite = buy ? this.#book.ask[i]! : this.#book.bid[i]!;
    const through =
      (trade && (buy ? t.price < L : t.price > L)) || (opposite > 0 && (buy ? opposite < L : opposite > L));
    if (through) {
      this.#fillResting(o, o.leaves, t.tsEventUs);
      return;
    }
    if (trade && t.price === L && t.aggressor !== (buy ? 1 : -1)) {
      if (!this.#s.queuePosition) {
        this.#fillResting(o, o.leaves, t.tsEventUs);
        return;
      }
      if (o.queueAhead < 0) o.queueAhead = buy ? this.#book.bidSize[i]! : this.#book.askSize[i]!;
      o.queueAhead -= t.size;
      if (o.queueAhead < 0) {
        const q = Math.min(o.leaves, -o.queueAhead);
        o.queueAhead = 0;
        this.#fillResting(o, q, t.tsEventUs);
      }
      return;
    }
    if (!this.#s.queuePosition) return;
    const touch = buy ? this.#book.bid[i]! : this.#book.ask[i]!;
    if (touch === L) {
      const shown = buy ? this.#book.bidSize[i]! : this.#book.askSize[i]!;
      o.queueAhead = o.queueAhead < 0 ? shown : Math.min(o.queueAhead, shown);
    } else if (touch > 0 && (buy ? touch < L : touch > L)) {
      // The touch left our price on our side: everything that was ahead of us there is gone.
      o.queueAhead = 0;
    }
  }

  /** What the order may still fill: its leaves; for a bracket leg at most the position it closes. */
  #leavesOf(o: VenueOrder): Dec {
    const leaves = o.quantity.minus(o.filled);
    if (o.role !== 'stop' && o.role !== 'target') return leaves;
    const pos = this.#positionOf(o.inst);
    const closable = o.side === 'sell' ? pos : pos.neg();
    return closable.gt(0) ? (leaves.lt(closable) ? leaves : closable) : ZERO;
  }

  #fillResting(o: VenueOrder, qty: number, tsUs: number): void {
    const leaves = this.#leavesOf(o);
    const q = qty >= o.leaves ? leaves : decMin(decOf(qty).toDecimalPlaces(8, 1), leaves);
    if (!q.gt(0)) return;
    const fee = feeFor(q.times(o.limitPrice!), this.#s.makerFeeBps, this.#s.minFee, o.fills === 0);
    this.#record(o, q, o.limitPrice!, fee, 'maker', tsUs);
  }

  #take(o: VenueOrder, top: ReturnType<SimBook['topOfBook']>, limit: Dec | null, tsUs: number): void {
    const leaves = this.#leavesOf(o);
    if (!leaves.gt(0)) return;
    const fills: LevelFill[] = takeLiquidity(top, o.side, leaves, limit, this.#s.model);
    for (const f of fills) {
      if (!isOpen(o)) break;
      const fee = feeFor(f.quantity.times(f.price), this.#s.takerFeeBps, this.#s.minFee, o.fills === 0);
      this.#record(o, f.quantity, f.price, fee, 'taker', tsUs);
    }
  }

  #record(o: VenueOrder, q: Dec, price: Dec, fee: Dec, liquidity: 'maker' | 'taker', tsUs: number): void {
    o.filled = o.filled.plus(q);
    o.fills++;
    const leaves = o.quantity.minus(o.filled);
    o.leaves = leaves.toNumber();
    if (!leaves.gt(0)) o.status = 'filled';
    this.#onFill(o, q, price, fee, liquidity, tsUs);
    if (o.bracket) this.#syncBracket(o.bracket, tsUs);
  }

  #cancel(o: VenueOrder, status: 'cancelled' | 'expired', tsUs: number): void {
    if (!isOpen(o)) return;
    o.status = o.filled.gt(0) && status === 'cancelled' ? 'cancelled' : status;
    o.leaves = 0;
    if (o.bracket) this.#syncBracket(o.bracket, tsUs);
  }

  /** Applies the shared bracket rules after anything happened to an entry or a leg. */
  #syncBracket(b: Bracket, tsUs: number): void {
    const member = (o: VenueOrder): BracketMember => ({
      open: isOpen(o),
      quantity: decStr(o.quantity),
      filledQuantity: decStr(o.filled),
    });
    const actions = bracketActions({
      entry: member(b.entry),
      legs: b.legs.map((l) => ({ ...member(l), role: l.role as 'stop' | 'target' })),
    });
    for (const r of actions.resize) {
      const leg = b.legs.find((l) => l.role === r.role)!;
      leg.quantity = dec(r.quantity);
      leg.leaves = leg.quantity.minus(leg.filled).toNumber();
    }
    for (const c of actions.cancelLegs) {
      const leg = b.legs.find((l) => l.role === c.role)!;
      this.#cancel(leg, 'cancelled', tsUs);
    }
    if (actions.cancelEntry) this.#cancel(b.entry, 'cancelled', tsUs);
  }

  /** Orders that may still fill, instrument `inst` only or all: working ones and those in flight. */
  openOrders(inst = -1): VenueOrder[] {
    const out: VenueOrder[] = [];
    const lists = inst >= 0 ? [this.working[inst]!] : this.working;
    for (const list of lists) for (const o of list) if (isOpen(o) && o.leaves > 0) out.push(o);
    for (let k = this.#arrivalHead; k < this.#arrivals.length; k++) {
      const o = this.#arrivals[k]!;
      if ((inst < 0 || o.inst === inst) && isOpen(o)) out.push(o);
    }
    return out;
  }
}
