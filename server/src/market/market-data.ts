import { type Dec, decStr } from '@aegis/shared/accounting/decimal';
import { AppError } from '@aegis/shared/errors';
import type { VenueBook } from '@aegis/shared/market/venue-books';
import type {
  BarInterval,
  BarView,
  BookView,
  InstrumentView,
  QuoteView,
  TradePrintView,
} from '@aegis/shared/schemas/market-data';
import type { QuoteBook, TopOfBook } from '../brokers/quote-book.ts';
import type { Db, Queryable } from '../db/database.ts';
import type { ExecutionRuntime } from '../execution/runtime.ts';
import { bucketStartMs, dayOpenOf, queryBars, recentTrades } from './bars.ts';
import type { BookFeed } from './book-feed.ts';
import { CoalescedKeys } from './coalesced-keys.ts';
import { instrumentRegistryOf } from './instrument-registry.ts';

/**
 * Market data for the console and scripts (docs/market-data.md), all from the one price source
 * (docs/architecture.md §5): quotes from this process's QuoteBook (fed only by execution/quote-feed.ts from the
 * engine's venue prices), L2 books from the BookFeed (the engine's published books), bars and time
 * and sales from the database (`bars_1s` / `bars_1m` and `ticks`). Every server process reads the
 * same bus and the same database, so they all answer the same. Not per desk.
 */

/** Live events per symbol and subscriber at most every this many ms (~4/s). */
export const LIVE_MIN_INTERVAL_MS = 250;
/** A live bar stream re-reads its bars at least this often (ticks reach the database by COPY). */
const BAR_POLL_MS = 1_000;
/** A day open not found yet is looked up again after this long. */
const DAY_OPEN_RETRY_MS = 5_000;
/** Bars a resuming bar stream replays per page. */
const RESUME_PAGE = 1_000;

export interface MarketDataDeps {
  readonly db: Db;
  readonly quotes: QuoteBook;
  readonly books: BookFeed;
}

export interface Tracked<T> {
  readonly id: string;
  readonly data: T;
}

export class MarketDataService {
  readonly #deps: MarketDataDeps;
  /** symbol → the day open found for a UTC day (or null and when to look again). */
  readonly #dayOpens = new Map<string, { day: number; open: string | null; retryAt: number }>();

  constructor(deps: MarketDataDeps) {
    this.#deps = deps;
  }

  /** The instrument, or BAD_INPUT naming the field with the closest known symbols. */
  instrument(symbol: string, field = 'symbol'): Promise<InstrumentView> {
    return instrumentRegistryOf(this.#deps.db).require(symbol, field);
  }

  async quote(db: Queryable, symbol: string): Promise<QuoteView> {
    const inst = await this.instrument(symbol);
    return this.#quoteView(db, inst);
  }

  /** Quotes in the order asked (each symbol once); any unknown symbol refuses the whole call. */
  async quotes(db: Queryable, symbols: readonly string[]): Promise<QuoteView[]> {
    const unique = [...new Set(symbols)];
    await instrumentRegistryOf(this.#deps.db).requireAll(unique);
    const out: QuoteView[] = [];
    for (const s of unique) out.push(await this.#quoteView(db, await this.instrument(s, 'symbols')));
    return out;
  }

  async bars(
    db: Queryable,
    q: {
      symbol: string;
      interval: BarInterval;
      from?: string | undefined;
      to?: string | undefined;
      limit: number;
    },
  ): Promise<BarView[]> {
    await this.instrument(q.symbol);
    const from = q.from ? new Date(q.from) : undefined;
    const to = q.to ? new Date(q.to) : undefined;
    if (from && to && from > to) {
      throw new AppError('BAD_INPUT', 'from: must not be after to', { field: 'from' });
    }
    return queryBars(db, { symbol: q.symbol, interval: q.interval, from, to, limit: q.limit });
  }

  async book(symbol: string, levels: number): Promise<BookView> {
    const inst = await this.instrument(symbol);
    return this.#bookView(inst, levels);
  }

  async trades(db: Queryable, symbol: string, limit: number): Promise<TradePrintView[]> {
    await this.instrument(symbol);
    return recentTrades(db, symbol, limit);
  }

  /**
   * Live quotes: first the current quote of every symbol (so a reconnect, with or without a last
   * event id, starts from the latest state: quotes resume by snapshot, not by replaying every
   * change), then a quote whenever one changes, at most every LIVE_MIN_INTERVAL_MS per symbol.
   * The listener is attached before the snapshot is read, so no change falls in between.
   */
  async openQuoteStream(
    symbols: readonly string[],
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<Tracked<QuoteView>>> {
    const unique = [...new Set(symbols)];
    await instrumentRegistryOf(this.#deps.db).requireAll(unique);
    const insts = new Map<string, InstrumentView>();
    for (const s of unique) insts.set(s, await this.instrument(s, 'symbols'));
    const changed = new CoalescedKeys<string>(LIVE_MIN_INTERVAL_MS, signal);
    const off = this.#deps.quotes.subscribe((e) => {
      if (insts.has(e.symbol)) changed.mark(e.symbol);
    });
    // The generator's finally detaches too, but only once it has been read: a request that
    // ends before that must not leave its listener behind.
    signal?.addEventListener('abort', off, { once: true });
    const self = this;
    return (async function* () {
      // Last quote sent per symbol: a change marked while the snapshot was read is not sent twice.
      const sent = new Map<string, string>();
      const next = async (inst: InstrumentView) => {
        const q = await self.#quoteView(self.#deps.db, inst);
        const json = JSON.stringify(q);
        if (sent.get(inst.symbol) === json) return null;
        sent.set(inst.symbol, json);
        return { id: quoteEventId(q), data: q };
      };
      try {
        for (const inst of insts.values()) {
          const e = await next(inst);
          if (e) yield e;
        }
        for (;;) {
          const due = await changed.take();
          if (changed.closed) return;
          for (const s of due) {
            const e = await next(insts.get(s)!);
            if (e) yield e;
          }
        }
      } finally {
        off();
        changed.close();
      }
    })();
  }

  /**
   * Live bars of one interval. Event ids are bucket start times: with `lastEventId` the stream
   * first replays the bars from that bucket on (it may have changed since it was sent) from the
   * database; without, it starts with the newest bar. Then it sends the forming bar whenever it
   * changes and each bar as it closes (its last state), re-reading on every venue trade of the
   * symbol (at most every LIVE_MIN_INTERVAL_MS) and every BAR_POLL_MS.
   */
  async openBarStream(
    symbol: string,
    interval: BarInterval,
    lastEventId: string | null | undefined,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<Tracked<BarView>>> {
    await this.instrument(symbol);
    let resumeFrom: Date | null = null;
    if (lastEventId) {
      const ms = Date.parse(lastEventId);
      if (!Number.isFinite(ms)) {
        throw new AppError('BAD_INPUT', 'lastEventId: not a bar time', { field: 'lastEventId' });
      }
      resumeFrom = new Date(ms);
    }
    const trades = new CoalescedKeys<string>(LIVE_MIN_INTERVAL_MS, signal);
    const off = this.#deps.quotes.subscribe((e) => {
      if (e.kind === 'trade' && e.symbol === symbol) trades.mark(symbol);
    });
    signal?.addEventListener('abort', off, { once: true });
    const db = this.#deps.db;
    return (async function* () {
      /** Last state sent per bar time (only the newest few are kept). */
      const sent = new Map<string, string>();
      let cursor: Date | null = resumeFrom;
      const emit = function* (bars: readonly BarView[]) {
        for (const b of bars) {
          const json = JSON.stringify(b);
          if (sent.get(b.time) === json) continue;
          sent.set(b.time, json);
          if (sent.size > 8) sent.delete(sent.keys().next().value!);
          yield { id: b.time, data: b };
        }
        const last = bars[bars.length - 1];
        if (last) cursor = new Date(last.time);
      };
      try {
        if (cursor) {
          // Resume: every bar since the client's last one, page by page.
          for (;;) {
            const page: BarView[] = await queryBars(db, {
              symbol,
              interval,
              from: cursor,
              limit: RESUME_PAGE,
            });
            yield* emit(page);
            if (page.length < RESUME_PAGE || trades.closed) break;
          }
        } else {
          yield* emit(await queryBars(db, { symbol, interval, limit: 1 }));
        }
        for (;;) {
          await trades.take(BAR_POLL_MS);
          if (trades.closed) return;
          const bars = cursor
            ? await queryBars(db, { symbol, interval, from: cursor, limit: RESUME_PAGE })
            : await queryBars(db, { symbol, interval, limit: 1 });
          yield* emit(bars);
        }
      } finally {
        off();
        trades.close();
      }
    })();
  }

  /** The ladder, live: the current book, then on every change (coalesced like quotes). */
  async openBookStream(
    symbol: string,
    levels: number,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<Tracked<BookView>>> {
    const inst = await this.instrument(symbol);
    const changed = new CoalescedKeys<string>(LIVE_MIN_INTERVAL_MS, signal);
    const offBook = this.#deps.books.subscribe((b) => {
      if (b.instrument === symbol && b.venue === inst.venue) changed.mark(symbol);
    });
    // The top-of-book fallback moves with the quotes.
    const offQuote = this.#deps.quotes.subscribe((e) => {
      if (e.kind === 'quote' && e.symbol === symbol) changed.mark(symbol);
    });
    signal?.addEventListener(
      'abort',
      () => {
        offBook();
        offQuote();
      },
      { once: true },
    );
    const self = this;
    return (async function* () {
      let last = '';
      try {
        for (;;) {
          const view = self.#bookView(inst, levels);
          const json = JSON.stringify(view);
          if (json !== last) {
            last = json;
            yield { id: bookEventId(view), data: view };
          }
          await changed.take();
          if (changed.closed) return;
        }
      } finally {
        offBook();
        offQuote();
        changed.close();
      }
    })();
  }

  async #quoteView(db: Queryable, inst: InstrumentView): Promise<QuoteView> {
    const top = this.#deps.quotes.get(inst.symbol);
    const last = top?.last ?? null;
    const dayOpen = await this.#dayOpen(db, inst.symbol);
    let dayChange: string | null = null;
    let dayChangePct: number | null = null;
    if (last && dayOpen !== null) {
      const change = last.minus(dayOpen);
      dayChange = decStr(change);
      const open = Number(dayOpen);
      dayChangePct = open > 0 ? Math.round(change.div(dayOpen).times(100).toNumber() * 1e4) / 1e4 : null;
    }
    return {
      symbol: inst.symbol,
      venue: inst.venue,
      ...topView(top),
      dayOpen,
      dayChange,
      dayChangePct,
    };
  }

  /** Cached for the UTC day once found; a miss is retried after DAY_OPEN_RETRY_MS. */
  async #dayOpen(db: Queryable, symbol: string): Promise<string | null> {
    const now = Date.now();
    const day = bucketStartMs(now, 86_400);
    const held = this.#dayOpens.get(symbol);
    if (held && held.day === day && (held.open !== null || now < held.retryAt)) return held.open;
    const open = await dayOpenOf(db, symbol, new Date(now));
    this.#dayOpens.set(symbol, { day, open, retryAt: now + DAY_OPEN_RETRY_MS });
    return open;
  }

  #bookView(inst: InstrumentView, levels: number): BookView {
    const book = this.#deps.books.get(inst.venue, inst.symbol);
    if (book) return l2View(inst, book, levels);
    const top = this.#deps.quotes.get(inst.symbol);
    if (top?.bid && top.ask) {
      return {
        symbol: inst.symbol,
        venue: inst.venue,
        bids: [[decStr(top.bid), decStr(top.bidSize)]],
        asks: [[decStr(top.ask), decStr(top.askSize)]],
        tsEvent: top.tsQuote?.toISOString() ?? null,
        depth: 'top',
        features: null,
      };
    }
    return {
      symbol: inst.symbol,
      venue: inst.venue,
      bids: [],
      asks: [],
      tsEvent: null,
      depth: 'none',
      features: null,
    };
  }
}

function l2View(inst: InstrumentView, b: VenueBook, levels: number): BookView {
  return {
    symbol: inst.symbol,
    venue: inst.venue,
    bids: b.bids.slice(0, levels).map(([p, s]) => [p, s] as [string, string]),
    asks: b.asks.slice(0, levels).map(([p, s]) => [p, s] as [string, string]),
    tsEvent: b.tsEvent,
    depth: 'l2',
    features: b.features,
  };
}

function topView(top: TopOfBook | null) {
  const s = (d: Dec | null | undefined) => (d ? decStr(d) : null);
  return {
    bid: s(top?.bid),
    ask: s(top?.ask),
    bidSize: top?.bid ? s(top.bidSize) : null,
    askSize: top?.ask ? s(top.askSize) : null,
    spread: top?.bid && top.ask ? decStr(top.ask.minus(top.bid)) : null,
    last: s(top?.last),
    lastSize: s(top?.lastSize),
    tsQuote: top?.tsQuote?.toISOString() ?? null,
    tsTrade: top?.tsTrade?.toISOString() ?? null,
  };
}

/** Informational (quotes resume by snapshot): the symbol and its newest venue time. */
function quoteEventId(q: QuoteView): string {
  const t = [q.tsQuote, q.tsTrade].filter((x): x is string => x !== null).sort();
  return `${q.symbol}@${t[t.length - 1] ?? '-'}`;
}

function bookEventId(b: BookView): string {
  return `${b.symbol}@${b.tsEvent ?? '-'}`;
}

/** One service per execution runtime (so per server process and per test server). */
const services = new WeakMap<ExecutionRuntime, MarketDataService>();

/** The service of the context's runtime; UNAVAILABLE in a server run without execution. */
export function marketDataOf(ctx: { db: Db; execution?: ExecutionRuntime | undefined }): MarketDataService {
  const ex = ctx.execution;
  if (!ex) {
    throw new AppError('UNAVAILABLE', 'market data needs the price source, which this server does not run');
  }
  let s = services.get(ex);
  if (!s) {
    s = new MarketDataService({ db: ctx.db, quotes: ex.quotes, books: ex.bookFeed });
    services.set(ex, s);
  }
  return s;
}
