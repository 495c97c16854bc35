import { migrate } from '@aegis/shared/db/migrate';
import type { BarInterval } from '@aegis/shared/schemas/market-data';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { startTimescale, type TimescaleServer } from '@aegis/shared/testing/timescale';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { bucketStartMs, dayOpenOf, queryBars, recentTrades } from '../../src/market/bars.ts';
import { reference, type Trade, trades } from './bar-reference.ts';

/**
 * The bar queries on both storage paths: a real TimescaleDB 2.23 (PGlite build over the wire:
 * continuous aggregates, materialized only) and this machine's PostgreSQL (native rollup tables).
 * Same ticks, same windowed refresh (so the newest buckets are in `ticks` alone), same SQL: the
 * same bars, equal to the plain computation; day open and time and sales too.
 */
const SYMBOL = 'MDTS-USD';
const NOW = bucketStartMs(Date.now(), 60) - 30_000;
const list: Trade[] = trades(NOW - 20 * 60_000, NOW, 400, 5);
// Materialized up to five minutes before the last trade; the rest comes from `ticks`.
const REFRESH_TO = new Date(bucketStartMs(NOW, 60) - 5 * 60_000);

let timescale: TimescaleServer;
let native: MigratedTestDatabase;
let ts: Sql;
let pg: Sql;

async function load(sql: Sql): Promise<void> {
  const rows = list.map((x) => ({
    ts: x.ts,
    ts_ingest: x.ts,
    symbol: SYMBOL,
    seq: x.seq,
    kind: 1,
    price: x.price,
    size: x.size,
    aggressor: x.aggressor,
  }));
  for (let i = 0; i < rows.length; i += 200) await sql`insert into ticks ${sql(rows.slice(i, i + 200))}`;
  await sql`call aegis_refresh_bars(${new Date(NOW - 3_600_000)}::timestamptz, ${REFRESH_TO}::timestamptz)`;
}

beforeAll(async () => {
  timescale = await startTimescale();
  const result = await migrate({ ownerUrl: timescale.url, appRole: { name: 'aegis_app' } });
  if (result.timeseries !== 'timescaledb') throw new Error('expected the TimescaleDB path');
  // One connection at a time on PGlite: ours opens once the runner's has closed.
  ts = postgres(timescale.url, { max: 1, onnotice: () => {} });
  native = await createMigratedTestDatabase('aegis_test_md_ts');
  pg = postgres(native.url, { max: 1, onnotice: () => {} });
  await load(ts);
  await load(pg);
}, 180_000);

afterAll(async () => {
  await ts?.end();
  await timescale?.close();
  await pg?.end();
  await native?.drop();
});

describe('bar queries on the TimescaleDB and the native path', () => {
  it('the refresh left the newest buckets to ticks on both paths', async () => {
    for (const sql of [ts, pg]) {
      const [row] = await sql<
        { max: Date }[]
      >`select max(bucket) as max from bars_1m where symbol = ${SYMBOL}`;
      expect(row!.max.getTime()).toBeLessThan(REFRESH_TO.getTime());
    }
  });

  const intervals: BarInterval[] = ['1s', '5s', '30s', '1m', '5m', '15m', '1h', '1d'];
  for (const interval of intervals) {
    it(`${interval}: the same bars on both paths, equal to the plain computation`, async () => {
      const q = {
        symbol: SYMBOL,
        interval,
        from: new Date(NOW - 2 * 86_400_000),
        limit: 5000,
        now: new Date(NOW),
      };
      const onTimescale = await queryBars(drizzle(ts) as unknown as Db, q);
      const onNative = await queryBars(drizzle(pg) as unknown as Db, q);
      expect(onTimescale.length).toBeGreaterThan(0);
      expect(onTimescale).toEqual(reference(list, interval));
      expect(onNative).toEqual(onTimescale);
      // The newest bars, no range.
      const newest = { symbol: SYMBOL, interval, limit: 3, now: new Date(NOW) };
      const tsNewest = await queryBars(drizzle(ts) as unknown as Db, newest);
      expect(tsNewest).toEqual(reference(list, interval).slice(-3));
      expect(await queryBars(drizzle(pg) as unknown as Db, newest)).toEqual(tsNewest);
    });
  }

  it('day open and time and sales agree', async () => {
    const day = bucketStartMs(NOW, 86_400);
    const first = [...list]
      .filter((x) => x.ts.getTime() >= day)
      .sort((a, b) => a.ts.getTime() - b.ts.getTime() || a.seq - b.seq)[0];
    const onTimescale = await dayOpenOf(drizzle(ts) as unknown as Db, SYMBOL, new Date(NOW));
    expect(onTimescale).toBe(first ? String(Number(first.price)) : null);
    expect(await dayOpenOf(drizzle(pg) as unknown as Db, SYMBOL, new Date(NOW))).toBe(onTimescale);
    const prints = await recentTrades(drizzle(ts) as unknown as Db, SYMBOL, 20);
    expect(prints).toHaveLength(20);
    expect(await recentTrades(drizzle(pg) as unknown as Db, SYMBOL, 20)).toEqual(prints);
  });
});
