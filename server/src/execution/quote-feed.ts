import { sql } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { ExecutionDeps } from './types.ts';

/**
 * Feeds the process's QuoteBook (reference prices for the governor, marks, paper fills) from the
 * two market-data paths the platform has:
 * - the `ticks` table the engine writes (quotes kind 2, trades kind 1), polled incrementally by
 *   time — one indexed query per interval, whatever the number of instruments;
 * - the order-flow stream (`<prefix>:orderflow`) that desks ingest, tailed with a plain read.
 * Either may be absent (no engine, no Redis): the other still feeds the book. A stale book is
 * caught by the governor's reference-age rule, never silently traded on.
 */
export interface QuoteFeedOptions {
  readonly pollMs: number;
  /** Stream of desk order flow; null disables it. */
  readonly orderflowStream: string | null;
}

export class QuoteFeed {
  readonly #deps: ExecutionDeps;
  readonly #quotes: QuoteBook;
  readonly #o: QuoteFeedOptions;
  #stopped = true;
  #timer: NodeJS.Timeout | null = null;
  #since: Date;
  #tail: Promise<void> | null = null;

  constructor(deps: ExecutionDeps, quotes: QuoteBook, o: QuoteFeedOptions) {
    this.#deps = deps;
    this.#quotes = quotes;
    this.#o = o;
    this.#since = new Date(Date.now() - 60_000);
  }

  start(): void {
    this.#stopped = false;
    const tick = () => {
      void this.pollTicks()
        .catch((err: unknown) => this.#deps.log.debug({ err }, 'quote feed: ticks poll failed'))
        .finally(() => {
          if (!this.#stopped) {
            this.#timer = setTimeout(tick, this.#o.pollMs);
            this.#timer.unref();
          }
        });
    };
    tick();
    if (this.#o.orderflowStream) this.#tail = this.#tailOrderflow(this.#o.orderflowStream);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    // The order-flow tail ends at its next read (at most one block interval, or at once when
    // the bus closes); shutdown does not wait for it.
    void this.#tail?.catch(() => {});
  }

  /** Latest quote and trade per symbol newer than the last poll. */
  async pollTicks(): Promise<number> {
    const rows = await this.#deps.db.execute<{
      symbol: string;
      kind: number;
      ts: string;
      price: string;
      size: string;
      bid: string | null;
      ask: string | null;
      bid_size: string | null;
      ask_size: string | null;
    }>(sql`
      select distinct on (symbol, kind) symbol, kind, ts::text as ts, price::text as price, size::text as size,
             bid::text as bid, ask::text as ask, bid_size::text as bid_size, ask_size::text as ask_size
      from ticks where ts > ${this.#since.toISOString()}::timestamptz
      order by symbol, kind, ts desc`);
    for (const r of rows) {
      const ts = new Date(r.ts);
      if (ts > this.#since) this.#since = ts;
      if (r.kind === 2 && r.bid && r.ask)
        this.#quotes.setQuote(r.symbol, r.bid, r.ask, r.bid_size ?? '0', r.ask_size ?? '0', ts);
      else if (r.kind === 1) this.#quotes.setTrade(r.symbol, r.price, r.size, ts);
    }
    return rows.length;
  }

  async #tailOrderflow(stream: string): Promise<void> {
    let last = '$';
    while (!this.#stopped) {
      try {
        const entries = await this.#deps.bus.read(stream, last, { count: 500, blockMs: 1000 });
        for (const e of entries) {
          last = e.id;
          const f = e.fields;
          if (!f.symbol || !f.ts) continue;
          const ts = new Date(f.ts);
          if (Number.isNaN(ts.getTime())) continue;
          if (f.kind === 'quote' && f.bid && f.ask) {
            this.#quotes.setQuote(f.symbol, f.bid, f.ask, f.bidSize ?? '0', f.askSize ?? '0', ts);
          } else if (f.kind === 'trade' && f.price && f.size) {
            this.#quotes.setTrade(f.symbol, f.price, f.size, ts);
          }
        }
      } catch (err) {
        // Redis down or closing: the ticks path and the governor's staleness rule still hold.
        this.#deps.log.debug({ err }, 'quote feed: order-flow read failed');
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }
}
