import { type Dec, dec } from '@aegis/shared/accounting/decimal';
import type { TopOfBook } from '@aegis/shared/execution/fill-model';
import type { TickRecord } from '../feeds/tick.ts';
import { TICK_KIND } from '../ring/layout.ts';

/**
 * The simulated venue's top of book per instrument, as the venue sees it at event time: the last
 * quote every tick carries (bid, ask and their displayed sizes) and the last trade. Kept in
 * Float64Arrays so that updating it costs a few stores per tick; decimals are made from it only
 * when an order acts (`topOfBook`), through the number's shortest round-trip text, so a price
 * read from a file as 101.25 becomes exactly 101.25.
 */
export class SimBook {
  readonly bid: Float64Array;
  readonly ask: Float64Array;
  readonly bidSize: Float64Array;
  readonly askSize: Float64Array;
  /** Last trade price (0 before the first trade) and the event time of the last quote. */
  readonly last: Float64Array;
  readonly quoteTsUs: Float64Array;
  /** First usable price seen (the buy-and-hold entry), 0 until then. */
  readonly first: Float64Array;

  constructor(instruments: number) {
    this.bid = new Float64Array(instruments);
    this.ask = new Float64Array(instruments);
    this.bidSize = new Float64Array(instruments);
    this.askSize = new Float64Array(instruments);
    this.last = new Float64Array(instruments);
    this.quoteTsUs = new Float64Array(instruments);
    this.first = new Float64Array(instruments);
  }

  /** Applies one (already validated) tick of instrument `i`. */
  update(i: number, t: TickRecord): void {
    if (t.bid > 0 && t.ask > 0) {
      this.bid[i] = t.bid;
      this.ask[i] = t.ask;
      this.bidSize[i] = t.bidSize;
      this.askSize[i] = t.askSize;
      this.quoteTsUs[i] = t.tsEventUs;
    }
    if (t.kind === TICK_KIND.trade) this.last[i] = t.price;
    if (this.first[i] === 0) this.first[i] = this.mark(i);
  }

  /** Mark price: the quoted mid, else the last trade, else 0. */
  mark(i: number): number {
    const b = this.bid[i]!;
    const a = this.ask[i]!;
    return b > 0 && a > 0 ? (b + a) / 2 : this.last[i]!;
  }

  /** The fill model's view of instrument `i` (decimals), null before any quote. */
  topOfBook(i: number): TopOfBook | null {
    const b = this.bid[i]!;
    const a = this.ask[i]!;
    if (!(b > 0) || !(a > 0)) return null;
    return {
      bid: decOf(b),
      ask: decOf(a),
      bidSize: decOf(this.bidSize[i]!),
      askSize: decOf(this.askSize[i]!),
    };
  }
}

/** A market-data number as an exact decimal of its shortest round-trip text. */
export function decOf(x: number): Dec {
  return dec(String(x));
}
