import type { Sql } from 'postgres';
import { yieldToEventLoop } from '../feeds/feed.ts';
import { createTickRecord, validateTick } from '../feeds/tick.ts';
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
  // float8 columns (migration 0021): postgres.js returns them as numbers, no parsing per row.
  price: number;
  size: number;
  bid: number | null;
  ask: number | null;
  bid_size: number | null;
  ask_size: number | null;
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
               price, size, bid, ask, bid_size, ask_size
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
          t.price = r.price;
          t.size = r.size;
          t.bid = r.bid ?? 0;
          t.ask = r.ask ?? 0;
          t.bidSize = r.bid_size ?? 0;
          t.askSize = r.ask_size ?? 0;
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
