import { type Dec, dec } from '@aegis/shared/accounting/decimal';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from '@aegis/shared/market/event-time';

/**
 * Latest top of book and last trade per symbol: this process's copy of the venue prices (the
 * one price source, fed only by execution/quote-feed.ts from the engine's venue feeds; never
 * by desk order flow). Market data, not per desk. The paper broker fills against it; the risk
 * governor reads reference prices, collars, spreads and marks from it.
 *
 * An update dated beyond the clock skew in the future is refused whoever sends it: "newest
 * wins" below would otherwise keep it and ignore every real update until the clock caught up.
 */
export interface TopOfBook {
  readonly symbol: string;
  readonly bid: Dec | null;
  readonly ask: Dec | null;
  readonly bidSize: Dec;
  readonly askSize: Dec;
  /** Exchange time of the quote (tsEvent). */
  readonly tsQuote: Date | null;
  readonly last: Dec | null;
  readonly lastSize: Dec | null;
  readonly tsTrade: Date | null;
}

export type QuoteBookEvent =
  | { readonly kind: 'quote'; readonly symbol: string }
  | {
      readonly kind: 'trade';
      readonly symbol: string;
      readonly price: Dec;
      readonly size: Dec;
      readonly ts: Date;
    };

type Listener = (e: QuoteBookEvent) => void;

const empty = (symbol: string): TopOfBook => ({
  symbol,
  bid: null,
  ask: null,
  bidSize: dec(0),
  askSize: dec(0),
  tsQuote: null,
  last: null,
  lastSize: null,
  tsTrade: null,
});

export interface QuoteBookOptions {
  /** Ms an update may be dated ahead of `now` (default DEFAULT_MAX_FUTURE_SKEW_MS). */
  readonly maxFutureSkewMs?: number;
  readonly now?: () => number;
}

export class QuoteBook {
  readonly #books = new Map<string, TopOfBook>();
  /** Each symbol's mark, computed on first read after an update (a mid is a division). */
  readonly #marks = new Map<string, Dec | null>();
  readonly #listeners = new Set<Listener>();
  readonly #skewMs: number;
  readonly #now: () => number;
  /** Updates refused for a time beyond the skew in the future. */
  rejectedFuture = 0;

  constructor(options: QuoteBookOptions = {}) {
    this.#skewMs = options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS;
    this.#now = options.now ?? Date.now;
  }

  #fromFuture(ts: Date): boolean {
    if (ts.getTime() <= this.#now() + this.#skewMs) return false;
    this.rejectedFuture++;
    return true;
  }

  /** Top of book update. A crossed or non-positive quote is ignored (bad data, not a market). */
  setQuote(symbol: string, bid: string, ask: string, bidSize: string, askSize: string, ts: Date): boolean {
    const b = dec(bid);
    const a = dec(ask);
    if (!b.gt(0) || !a.gt(0) || b.gt(a) || this.#fromFuture(ts)) return false;
    const prev = this.#books.get(symbol) ?? empty(symbol);
    if (prev.tsQuote && ts < prev.tsQuote) return false; // older than what we have: out of order
    this.#marks.delete(symbol);
    this.#books.set(symbol, {
      ...prev,
      bid: b,
      ask: a,
      bidSize: dec(bidSize),
      askSize: dec(askSize),
      tsQuote: ts,
    });
    this.#emit({ kind: 'quote', symbol });
    return true;
  }

  setTrade(symbol: string, price: string, size: string, ts: Date): boolean {
    const p = dec(price);
    const s = dec(size);
    if (!p.gt(0) || !s.gt(0) || this.#fromFuture(ts)) return false;
    const prev = this.#books.get(symbol) ?? empty(symbol);
    this.#marks.delete(symbol);
    this.#books.set(symbol, { ...prev, last: p, lastSize: s, tsTrade: ts });
    this.#emit({ kind: 'trade', symbol, price: p, size: s, ts });
    return true;
  }

  get(symbol: string): TopOfBook | null {
    return this.#books.get(symbol) ?? null;
  }

  symbols(): string[] {
    return [...this.#books.keys()];
  }

  /** Mark price: mid when two-sided, else last trade. */
  mark(symbol: string): Dec | null {
    const held = this.#marks.get(symbol);
    if (held !== undefined) return held;
    const b = this.#books.get(symbol);
    if (!b) return null;
    const mark = b.bid && b.ask ? b.bid.plus(b.ask).div(2) : b.last;
    this.#marks.set(symbol, mark);
    return mark;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(e: QuoteBookEvent) {
    for (const l of this.#listeners) l(e);
  }
}
