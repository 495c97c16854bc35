import type { Sql } from 'postgres';
import { yieldToEventLoop } from '../feeds/feed.ts';
import { createTickRecord, parseDecimal, validateTick } from '../feeds/tick.ts';
import type { TickSource } from './tick-source.ts';

/**
 * A time range [from, to) of the `ticks` table for the given symbols, read through a server-side
 * cursor in pages (never the whole range in memory), in (ts, symbol, seq) order so that two runs
 * see the same sequence. Event times are read as integer µs (the column keeps µs; a JS Date would
 * round them to ms). Rows are validated once, like any feed's records; bad rows are counted.
 * Market data only: nothing here is per desk. Source ids are indexes into `symbols`.
 */
export interface TicksTableRange {
  readonly from: Date;
  readonly to: Date;
  readonly symbols: readonly string[];
}

const PAGE_ROWS = 8192;

interface TickRow {
  ts_us: string;
  symbol: string;
  seq: string | number;
  kind: number;
  aggressor: number;
  price: string;
  size: string;
  bid: string | null;
  ask: string | null;
  bid_size: string | null;
  ask_size: string | null;
}

export async function ticksTableSource(sql: Sql, range: TicksTableRange): Promise<TickSource> {
  const symbols = [...range.symbols];
  const ids = new Map(symbols.map((s, i) => [s, i]));
  const [counted] = await sql<{ n: string }[]>`
    select count(*)::text as n from ticks
    where ts >= ${range.from} and ts < ${range.to} and symbol = any(${symbols})`;
  let stopped = false;
  let malformed = 0;
  return {
    totalTicks: Number(counted?.n ?? 0),
    symbolOf: (id) => symbols[id] ?? `?${id}`,
    get malformed() {
      return malformed;
    },
    stop: () => {
      stopped = true;
    },
    async run(sink) {
      const t = createTickRecord();
      const cursor = sql<TickRow[]>`
        select (extract(epoch from ts) * 1000000)::bigint::text as ts_us, symbol, seq, kind, aggressor,
               price::text, size::text, bid::text, ask::text, bid_size::text, ask_size::text
        from ticks
        where ts >= ${range.from} and ts < ${range.to} and symbol = any(${symbols})
        order by ts, symbol, seq`.cursor(PAGE_ROWS);
      for await (const rows of cursor) {
        for (const r of rows) {
          t.symbolId = ids.get(r.symbol) ?? 0;
          t.tsEventUs = Number(r.ts_us);
          t.seq = Number(r.seq);
          t.kind = r.kind;
          t.aggressor = r.aggressor;
          t.price = parseDecimal(r.price);
          t.size = parseDecimal(r.size);
          t.bid = r.bid === null ? 0 : parseDecimal(r.bid);
          t.ask = r.ask === null ? 0 : parseDecimal(r.ask);
          t.bidSize = r.bid_size === null ? 0 : parseDecimal(r.bid_size);
          t.askSize = r.ask_size === null ? 0 : parseDecimal(r.ask_size);
          if (validateTick(t)) malformed++;
          else sink.publish(t);
        }
        sink.flush?.();
        if (stopped) break;
        await (sink.backpressure?.() ?? yieldToEventLoop());
      }
      sink.flush?.();
    },
  };
}
