import { instruments } from '@aegis/shared/db';
import { eventTimeProblem } from '@aegis/shared/market/event-time';
import { microsFromIso } from '@aegis/shared/market/micro-time';
import {
  decodeVenuePrice,
  decodeVenuePriceUpdate,
  type VenuePrice,
  venuePricesChannel,
  venuePricesKey,
} from '@aegis/shared/market/venue-prices';
import {
  type ChainParams,
  type ContractKey,
  type ContractMemo,
  chainParamsOf,
  contractMemo,
  SYNTHETIC_RATE,
  syntheticQuote,
} from '@aegis/shared/options/chain-model';
import { MS_PER_YEAR } from '@aegis/shared/options/contract';
import type { QuoteBook } from '../brokers/quote-book.ts';
import { OptionGreeksRefresher } from '../market/option-greeks-refresher.ts';
import { activeChains, SYNTHETIC_OPTION_VENUE } from '../market/option-listing.ts';
import { VenueChannels } from '../market/venue-channels.ts';
import type { ExecutionDeps } from './types.ts';

/**
 * Feeds this process's QuoteBook from the one price source (docs/architecture.md §5): the venue prices the
 * engine publishes per venue and instrument (shared/src/market/venue-prices.ts). Nothing else
 * feeds it — not the `ticks` table (which also holds desk order flow the engine consumed) and
 * not the order-flow stream: what a desk ingests is that desk's research data only.
 *
 * Instrument → venue: `instruments.venue`. An instrument takes its prices from its own venue;
 * the same symbol published by another venue is kept aside and never used for it. The map is
 * read at start and every `refreshMs`, and at once (debounced) when a price arrives for a
 * symbol the map does not know yet (an instrument added while running).
 *
 * Start-up: per venue, subscribe to the update channel first, then read the snapshot hash, so
 * a restarted server has current prices before it serves and misses nothing in between. Per
 * instrument the book gets an update only when it is newer (by the venue's event time, in µs)
 * than the last one applied: the snapshot/update overlap, and the engine's periodic full
 * republish, never repeat a trade to the paper broker.
 *
 * Refused, counted and never stored: payloads that fail the schema (`rejectedInvalid`) and
 * prices dated beyond the clock skew in the future or before 2000 (`rejectedFuture`,
 * `rejectedOld`). A stale book is caught by the governor's reference-age rule.
 *
 * Derived option quotes — the one place option prices are made rather than heard: contracts of
 * the synthetic option venue (SIMOPT, docs/option-chains.md) have no venue of their own. When
 * their underlying's quote or trade reaches the book, each listed contract of that underlying
 * gets a bid/ask from the deterministic chain model (shared/src/options/chain-model.ts) at the
 * underlying's mid, with the underlying quote's event time as "now" and as the quote's event
 * time, applied to the book exactly like a venue price. The model is a pure function of the
 * symbol, the contract, the price and the time, and every process hears the same underlying
 * quotes, so every process derives the same option quotes: the governor, the paper broker and
 * marketData.quote agree across servers without anyone publishing them. At most one derivation
 * per underlying every DERIVE_MIN_INTERVAL_MS, always from the latest underlying quote (a burst
 * of ticks ends with the quote of its last tick); an unchanged basis derives nothing.
 *
 * The same object runs the Greeks refresher (market/option-greeks-refresher.ts), which writes
 * `instruments.greeks` of listed contracts for the net-delta rule.
 */
export interface QuoteFeedOptions {
  /** Bus key prefix of the price source, e.g. `aegis:` (the engine's ENGINE_STREAM_PREFIX). */
  readonly prefix: string;
  readonly maxFutureSkewMs: number;
  /** How often the instrument → venue map is re-read (and failed subscriptions retried). */
  readonly refreshMs: number;
  /** Option pricing of the Greeks refresher (default: the synthetic market's rate, no dividends, 5 s). */
  readonly options?: {
    readonly riskFreeRate?: number;
    readonly dividendYield?: number;
    readonly greeksRefreshMs?: number;
  };
}

/** Shortest gap between two derivations of one underlying's option quotes. */
export const DERIVE_MIN_INTERVAL_MS = 250;
const GREEKS_REFRESH_MS = 5_000;

/** One underlying's synthetic contracts and the basis they were last derived from. */
interface DerivedChain {
  readonly underlying: string;
  readonly params: ChainParams;
  /** Black-76 when the underlying is a future, else BSM. */
  model: 'bsm' | 'black76';
  contracts: {
    readonly symbol: string;
    readonly key: ContractKey;
    readonly expiresAt: number;
    readonly memo: ContractMemo;
  }[];
  lastRun: number;
  timer: NodeJS.Timeout | null;
  basis: { price: number; at: Date } | null;
}

/** Shortest gap between two refreshes triggered by unknown symbols. */
const UNKNOWN_SYMBOL_REFRESH_MS = 250;

export class QuoteFeed {
  readonly #deps: ExecutionDeps;
  readonly #quotes: QuoteBook;
  readonly #o: QuoteFeedOptions;
  /** symbol → venue, from `instruments`. */
  #venueOf = new Map<string, string>();
  readonly #channels: VenueChannels<VenuePrice>;
  /** Newest accepted price per venue and instrument (also for instruments not mapped yet). */
  readonly #latest = new Map<string, VenuePrice>();
  /** Per symbol: event times (µs) of the quote and trade last applied to the book. */
  readonly #applied = new Map<string, { quoteUs: number; tradeUs: number }>();
  #timer: NodeJS.Timeout | null = null;
  #soon: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;
  #lastRefresh = 0;
  #stopped = true;
  /** Underlying symbol → its synthetic contracts (from `instruments`, re-read with the map). */
  #derived = new Map<string, DerivedChain>();
  #offBook: (() => void) | null = null;
  readonly greeks: OptionGreeksRefresher;
  /** Option quotes derived and applied to the book. */
  derivedQuotes = 0;
  received = 0;
  rejectedFuture = 0;
  rejectedOld = 0;

  constructor(deps: ExecutionDeps, quotes: QuoteBook, o: QuoteFeedOptions) {
    this.#deps = deps;
    this.#quotes = quotes;
    this.#o = o;
    this.#channels = new VenueChannels<VenuePrice>({
      what: 'venue prices',
      bus: deps.bus,
      log: deps.log,
      channel: (venue) => venuePricesChannel(o.prefix, venue),
      snapshotKey: (venue) => venuePricesKey(o.prefix, venue),
      decodeItem: (raw) => {
        const d = decodeVenuePrice(raw);
        return d.ok ? { ok: true, value: d.price } : d;
      },
      decodeUpdate: (raw) => {
        const d = decodeVenuePriceUpdate(raw);
        return d.ok ? { ok: true, value: { venue: d.update.venue, items: d.update.prices } } : d;
      },
      accept: (p) => this.#accept(p),
    });
    this.greeks = new OptionGreeksRefresher(deps, {
      intervalMs: o.options?.greeksRefreshMs ?? GREEKS_REFRESH_MS,
      riskFreeRate: o.options?.riskFreeRate ?? 0.04,
      dividendYield: o.options?.dividendYield ?? 0,
      basisOf: (u) => this.optionBasis(u),
    });
  }

  /** Reads the map and every venue's snapshot (awaited: prices are there before serving). */
  async start(): Promise<void> {
    this.#stopped = false;
    // Attached first: an underlying's price that arrives while the snapshot loads derives too.
    this.#offBook = this.#quotes.subscribe((e) => {
      if (this.#derived.size > 0 && this.#derived.has(e.symbol)) this.#scheduleDerive(e.symbol);
    });
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs);
    this.#timer.unref();
    this.greeks.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
    this.#offBook?.();
    this.#offBook = null;
    for (const d of this.#derived.values()) if (d.timer) clearTimeout(d.timer);
    await this.greeks.stop();
    await this.#refreshing?.catch(() => {});
    await this.#channels.stop();
  }

  /** Payloads refused by the schema or for naming another venue than their key or channel. */
  get rejectedInvalid(): number {
    return this.#channels.rejectedInvalid;
  }

  /** Re-reads the instrument → venue map; follows new venues (subscribe, then snapshot). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh()
      .catch((err: unknown) => this.#deps.log.warn({ err }, 'venue prices: refresh failed; retrying'))
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    this.#lastRefresh = Date.now();
    const rows = await this.#deps.db
      .select({ symbol: instruments.symbol, venue: instruments.venue })
      .from(instruments);
    const next = new Map(rows.map((r) => [r.symbol, r.venue]));
    const changed =
      next.size !== this.#venueOf.size || rows.some((r) => this.#venueOf.get(r.symbol) !== r.venue);
    this.#venueOf = next;
    // Synthetic option contracts: a failure here must not keep venue prices from being followed.
    await this.#loadDerived().catch((err: unknown) =>
      this.#deps.log.warn({ err }, 'derived option quotes: contracts not re-read; retrying'),
    );
    if (changed) {
      // Prices that arrived before their instrument was known now have a home.
      for (const p of this.#latest.values()) if (next.get(p.instrument) === p.venue) this.#apply(p);
    }
    // Bus down: the next refresh retries; meanwhile the governor's age rule holds.
    await this.#channels.follow(new Set(next.values()), () => this.#stopped);
  }

  /** Plausibility, then keep as newest, then into the book when the instrument maps here. */
  #accept(p: VenuePrice): void {
    this.received++;
    const now = (this.#deps.clock?.() ?? new Date()).getTime();
    const quote = p.quote && this.#plausible(p.quote.tsEvent, now) ? p.quote : null;
    const trade = p.trade && this.#plausible(p.trade.tsEvent, now) ? p.trade : null;
    if (!quote && !trade) return;
    const k = `${p.venue}\u0000${p.instrument}`;
    const prev = this.#latest.get(k);
    const merged: VenuePrice = {
      ...p,
      quote: newer(quote, prev?.quote ?? null),
      trade: newer(trade, prev?.trade ?? null),
    };
    this.#latest.set(k, merged);
    const mapped = this.#venueOf.get(p.instrument);
    if (mapped === p.venue) this.#apply(merged);
    else if (mapped === undefined) this.#refreshSoon();
  }

  /** A refresh for a symbol not in the map: at once, or once the debounce interval is over. */
  #refreshSoon(): void {
    if (this.#soon || this.#stopped) return;
    const wait = Math.max(0, this.#lastRefresh + UNKNOWN_SYMBOL_REFRESH_MS - Date.now());
    this.#soon = setTimeout(() => {
      this.#soon = null;
      void this.refresh();
    }, wait);
    this.#soon.unref();
  }

  #plausible(tsEvent: string, now: number): boolean {
    const problem = eventTimeProblem(Date.parse(tsEvent), now, { maxFutureSkewMs: this.#o.maxFutureSkewMs });
    if (problem === null) return true;
    if (problem === 'future') this.rejectedFuture++;
    else this.rejectedOld++;
    if ((this.rejectedFuture + this.rejectedOld) % 1000 === 1) {
      this.#deps.log.warn(
        { problem, tsEvent, future: this.rejectedFuture, old: this.rejectedOld },
        'venue prices: implausible event time refused',
      );
    }
    return false;
  }

  /**
   * The underlying price and event time the synthetic contracts of `underlying` were last
   * derived from (null: none yet). The chain view prices against exactly this basis.
   */
  optionBasis(underlying: string): { readonly price: number; readonly at: Date } | null {
    return this.#derived.get(underlying)?.basis ?? null;
  }

  /**
   * Contracts were just listed: re-read them, derive their quotes now (from the current
   * underlying quote) and refresh their Greeks. Resolves once quotes and Greeks are in place.
   */
  async optionsListed(): Promise<void> {
    await this.#loadDerived();
    for (const d of this.#derived.values()) this.#derive(d);
    await this.greeks.refresh();
  }

  async #loadDerived(): Promise<void> {
    const now = this.#deps.clock?.() ?? new Date();
    const chains = await activeChains(this.#deps.db, now, SYNTHETIC_OPTION_VENUE);
    const next = new Map<string, DerivedChain>();
    for (const [symbol, { underlying, contracts }] of chains) {
      const prev = this.#derived.get(symbol);
      const model = underlying.assetClass === 'future' ? 'black76' : 'bsm';
      const params = prev?.params ?? chainParamsOf(symbol);
      const known = new Map(prev?.contracts.map((c) => [c.symbol, c]));
      const list = contracts.map((c) => {
        const held = known.get(c.symbol);
        if (held) return held;
        const key = { expiry: c.expiry, right: c.right, strike: Number(c.strike) };
        return { symbol: c.symbol, key, expiresAt: c.expiresAt, memo: contractMemo(params, key) };
      });
      if (prev) {
        const grown = prev.contracts.length !== list.length;
        prev.contracts = list;
        prev.model = model;
        next.set(symbol, prev);
        // New contracts get quotes without waiting for the next underlying tick.
        if (grown) {
          prev.basis = null;
          this.#scheduleDerive(symbol);
        }
      } else {
        const d: DerivedChain = {
          underlying: symbol,
          params,
          model,
          contracts: list,
          lastRun: 0,
          timer: null,
          basis: null,
        };
        next.set(symbol, d);
        this.#scheduleDerive(symbol);
      }
    }
    for (const [symbol, d] of this.#derived) if (!next.has(symbol) && d.timer) clearTimeout(d.timer);
    this.#derived = next;
  }

  /** Now, or once DERIVE_MIN_INTERVAL_MS has passed since the last run (from the latest quote then). */
  #scheduleDerive(underlying: string): void {
    const d = this.#derived.get(underlying);
    if (!d || d.timer || this.#stopped) return;
    const wait = d.lastRun + DERIVE_MIN_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.#derive(d);
      return;
    }
    d.timer = setTimeout(() => {
      d.timer = null;
      if (this.#derived.get(d.underlying) === d) this.#derive(d);
    }, wait);
    d.timer.unref();
  }

  #derive(d: DerivedChain): void {
    const top = this.#quotes.get(d.underlying);
    if (!top) return;
    let price: number;
    let at: Date;
    if (top.bid && top.ask && top.tsQuote) {
      price = top.bid.plus(top.ask).div(2).toNumber();
      at = top.tsQuote;
    } else if (top.last && top.tsTrade) {
      price = top.last.toNumber();
      at = top.tsTrade;
    } else return;
    if (d.basis && d.basis.price === price && d.basis.at.getTime() === at.getTime()) return;
    d.lastRun = Date.now();
    d.basis = { price, at };
    const atMs = at.getTime();
    const day = at.toISOString().slice(0, 10);
    for (const c of d.contracts) {
      const years = (c.expiresAt - atMs) / MS_PER_YEAR;
      const q = syntheticQuote(d.params, c.key, price, years, day, SYNTHETIC_RATE, c.memo, d.model);
      // No quote (expired, or worth under half a tick): the contract keeps no fresh quote.
      if (q && this.#quotes.setQuote(c.symbol, q.bid, q.ask, q.bidSize, q.askSize, at)) this.derivedQuotes++;
    }
  }

  #apply(p: VenuePrice): void {
    const seen = this.#applied.get(p.instrument) ?? { quoteUs: -1, tradeUs: -1 };
    if (p.quote) {
      const us = microsFromIso(p.quote.tsEvent);
      if (us > seen.quoteUs) {
        const q = p.quote;
        if (this.#quotes.setQuote(p.instrument, q.bid, q.ask, q.bidSize, q.askSize, new Date(q.tsEvent))) {
          seen.quoteUs = us;
        }
      }
    }
    if (p.trade) {
      const us = microsFromIso(p.trade.tsEvent);
      if (us > seen.tradeUs) {
        const t = p.trade;
        if (this.#quotes.setTrade(p.instrument, t.price, t.size, new Date(t.tsEvent))) seen.tradeUs = us;
      }
    }
    this.#applied.set(p.instrument, seen);
  }
}

function newer<T extends { tsEvent: string }>(a: T | null, b: T | null): T | null {
  if (!a) return b;
  if (!b) return a;
  return microsFromIso(a.tsEvent) >= microsFromIso(b.tsEvent) ? a : b;
}
