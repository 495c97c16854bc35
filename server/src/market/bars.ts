import { BAR_INTERVAL_SECONDS, type BarInterval, type BarView } from '@aegis/shared/schemas/market-data';
import { sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { queryRows } from '../db/rows.ts';

/**
 * Bar queries (docs/market-data.md): every interval of BAR_INTERVALS rolled up in SQL from the
 * 1 s / 1 min bars (TimescaleDB continuous aggregates, or the native rollup tables of the same
 * name and columns: drizzle/0001_timeseries.sql), so the same statement runs on both paths.
 *
 * Base: `bars_1s` for intervals under a minute, `bars_1m` from a minute up. Buckets are aligned
 * like time_bucket's: origin 2000-01-03T00:00Z, so 1 d bars are UTC days and 4 h bars start at
 * 00, 04, … UTC. open = the first base bar's open, close = the last one's close, high/low the
 * extremes, volume and trade count summed.
 *
 * The base is materialized by a refresh every few seconds (timeseries-upkeep.ts, or TimescaleDB's
 * policies), whole buckets only, so it ends at a per-symbol watermark: the end of its newest base
 * bucket. Trades after the watermark (the last seconds, the forming minute, anything a lagging
 * refresh has not reached yet) are aggregated from `ticks` directly (kind 1 = trade) in the same
 * statement, so a chart's last candle is current. One statement is one snapshot: a refresh
 * running meanwhile can neither drop a trade nor count it twice.
 */

/** time_bucket's default origin (a Monday): date_bin with it gives the same buckets. */
export const BAR_ORIGIN_MS = Date.UTC(2000, 0, 3);

/** Start (ms) of the `seconds`-wide bucket holding `ms`. */
export function bucketStartMs(ms: number, seconds: number): number {
  const w = seconds * 1000;
  return BAR_ORIGIN_MS + Math.floor((ms - BAR_ORIGIN_MS) / w) * w;
}

export interface BarQuery {
  readonly symbol: string;
  readonly interval: BarInterval;
  /** Bars whose bucket starts at or after this time (aligned up to a bucket start). */
  readonly from?: Date | undefined;
  /** Bars whose bucket starts at or before this time (default: now, the forming bar included). */
  readonly to?: Date | undefined;
  readonly limit: number;
  /** `now` for the default `to` (tests). */
  readonly now?: Date;
}

interface BarRow {
  time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trade_count: number;
}

/** Widening steps for "the newest `limit` bars" when bars are sparse (×8 each, 4 times). */
const WIDEN_FACTOR = 8;
const WIDEN_STEPS = 4;

/**
 * Ascending bars. With `from`: the first `limit` bars from `from` on (up to `to`). Without:
 * the newest `limit` bars up to `to` (or now), found by looking back `limit` intervals and
 * widening the window while fewer bars came back and older trades exist.
 */
export async function queryBars(db: Queryable, q: BarQuery): Promise<BarView[]> {
  const width = BAR_INTERVAL_SECONDS[q.interval];
  const widthMs = width * 1000;
  const toMs = Math.min((q.to ?? q.now ?? new Date()).getTime(), LATEST_MS);
  const hi = bucketStartMs(toMs, width) + widthMs;
  if (q.from) {
    let lo = bucketStartMs(Math.max(q.from.getTime(), BAR_ORIGIN_MS), width);
    if (lo < q.from.getTime()) lo += widthMs;
    if (lo >= hi) return [];
    return (await barsBetween(db, q.symbol, width, lo, hi, q.limit, 'first')).map(toView);
  }
  let span = q.limit * widthMs;
  for (let step = 0; ; step++) {
    const lo = Math.max(hi - span, BAR_ORIGIN_MS);
    if (lo >= hi) return [];
    const rows = await barsBetween(db, q.symbol, width, lo, hi, q.limit, 'last');
    const done = rows.length >= q.limit || step === WIDEN_STEPS || lo === BAR_ORIGIN_MS;
    if (done || !(await tradedBefore(db, q.symbol, width, lo))) return rows.reverse().map(toView);
    span *= WIDEN_FACTOR;
  }
}

/**
 * Bars exist from the origin on (the price source refuses event times before 2000) and before
 * year 9999: bounds outside are clamped, so any valid ISO input stays a time PostgreSQL takes.
 */
const LATEST_MS = Date.UTC(9999, 0, 1);

function toView(r: BarRow): BarView {
  return {
    time: r.time,
    open: trimDecimal(r.open),
    high: trimDecimal(r.high),
    low: trimDecimal(r.low),
    close: trimDecimal(r.close),
    volume: trimDecimal(r.volume),
    tradeCount: Number(r.trade_count),
  };
}

/** numeric(38,12) text `124.500000000000` → `124.5`. */
export function trimDecimal(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** The base view for a width (a fixed name: never from input). */
function baseOf(width: number): { view: ReturnType<typeof sql.raw>; seconds: number } {
  return width < 60 ? { view: sql.raw('bars_1s'), seconds: 1 } : { view: sql.raw('bars_1m'), seconds: 60 };
}

const origin = () => sql`${new Date(BAR_ORIGIN_MS).toISOString()}::timestamptz`;

/** Bars with bucket start in [lo, hi) (ms, aligned), `limit` of them from the given end. */
async function barsBetween(
  db: Queryable,
  symbol: string,
  width: number,
  lo: number,
  hi: number,
  limit: number,
  end: 'first' | 'last',
): Promise<BarRow[]> {
  const base = baseOf(width);
  const loTs = new Date(lo).toISOString();
  const hiTs = new Date(hi).toISOString();
  const order = end === 'first' ? sql.raw('asc') : sql.raw('desc');
  return queryRows<BarRow>(
    db,
    sql`
    with wm as (
      select coalesce(max(bucket) + make_interval(secs => ${base.seconds}), '-infinity'::timestamptz) as t
        from ${base.view} where symbol = ${symbol}
    ),
    base as (
      select bucket, open, high, low, close, volume, trade_count
        from ${base.view}
       where symbol = ${symbol} and bucket >= ${loTs}::timestamptz and bucket < ${hiTs}::timestamptz
      union all
      -- ticks hold float8 (migration 0021), bars numeric: cast so the union stays numeric and
      -- a price reads back as the decimal the venue printed (float8 → numeric keeps 15 digits).
      select date_bin(make_interval(secs => ${base.seconds}), ts, ${origin()}) as bucket,
             ((array_agg(price order by ts, seq))[1])::numeric,
             max(price)::numeric,
             min(price)::numeric,
             ((array_agg(price order by ts desc, seq desc))[1])::numeric,
             sum(size::numeric),
             count(*)
        from ticks
       where symbol = ${symbol} and kind = 1
         and ts >= greatest(${loTs}::timestamptz, (select t from wm)) and ts < ${hiTs}::timestamptz
       group by 1
    ),
    rolled as (
      select date_bin(make_interval(secs => ${width}), bucket, ${origin()}) as time,
             (array_agg(open order by bucket))[1] as open,
             max(high) as high,
             min(low) as low,
             (array_agg(close order by bucket desc))[1] as close,
             sum(volume) as volume,
             sum(trade_count) as trade_count
        from base
       group by 1
    )
    select to_char(time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as time,
           open::text as open, high::text as high, low::text as low, close::text as close,
           volume::text as volume, trade_count::integer as trade_count
      from rolled
     order by rolled.time ${order}
     limit ${limit}`,
  );
}

/** Whether the symbol has a bar or a trade before `lo` (worth widening the window for). */
async function tradedBefore(db: Queryable, symbol: string, width: number, lo: number): Promise<boolean> {
  const base = baseOf(width);
  const loTs = new Date(lo).toISOString();
  const rows = await queryRows<{ older: boolean }>(
    db,
    sql`
    select (exists (select 1 from ${base.view} where symbol = ${symbol} and bucket < ${loTs}::timestamptz)
         or exists (select 1 from ticks where symbol = ${symbol} and kind = 1 and ts < ${loTs}::timestamptz))
           as older`,
  );
  return rows[0]?.older === true;
}

/**
 * The first trade price of the UTC day holding `now`: the open of the day's first 1 min bar, or
 * (before the refresh has materialized one) the day's first trade in `ticks`. Null: no trade yet.
 */
export async function dayOpenOf(db: Queryable, symbol: string, now: Date): Promise<string | null> {
  const day = bucketStartMs(now.getTime(), 86_400);
  const from = new Date(day).toISOString();
  const to = new Date(day + 86_400_000).toISOString();
  const rows = await queryRows<{ open: string | null }>(
    db,
    sql`
    select coalesce(
      (select open from bars_1m
        where symbol = ${symbol} and bucket >= ${from}::timestamptz and bucket < ${to}::timestamptz
        order by bucket limit 1),
      (select price::numeric from ticks
        where symbol = ${symbol} and kind = 1 and ts >= ${from}::timestamptz and ts < ${to}::timestamptz
        order by ts, seq limit 1))::text as open`,
  );
  const open = rows[0]?.open ?? null;
  return open === null ? null : trimDecimal(open);
}

export interface TradePrintRow {
  readonly ts: string;
  readonly price: string;
  readonly size: string;
  readonly aggressor: number;
}

/** Time and sales: the newest `limit` trades (kind 1) of `symbol`, newest first. */
export async function recentTrades(db: Queryable, symbol: string, limit: number): Promise<TradePrintRow[]> {
  const rows = await queryRows<TradePrintRow>(
    db,
    sql`
    select to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ts,
           price::numeric::text as price, size::numeric::text as size, aggressor::integer as aggressor
      from ticks
     where symbol = ${symbol} and kind = 1
     order by ticks.ts desc, seq desc
     limit ${limit}`,
  );
  return rows.map((r) => ({ ...r, price: trimDecimal(r.price), size: trimDecimal(r.size) }));
}
