import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '../../src/testing/database.ts';
import { startTimescale, type TimescaleServer } from '../../src/testing/timescale.ts';

/**
 * The hypertable path on a real TimescaleDB 2.23 (PGlite build over the wire), and the promise
 * that matters to the application: the same migrations, the same SQL, the same bars as the
 * native-partition path on this machine's PostgreSQL.
 */

const BASE = Date.parse('2026-01-05T14:30:00.000Z');

interface TickRow {
  ts: Date;
  ts_ingest: Date;
  symbol: string;
  seq: number;
  kind: number;
  price: string;
  size: string;
  bid: string | null;
  ask: string | null;
  aggressor: number;
}

/** ~600 deterministic ticks over 5 minutes for 2 symbols; 1 in 5 is a quote (kind 2). */
function fixtureTicks(): TickRow[] {
  let state = 0x2545f491;
  const next = () => {
    // xorshift32: deterministic, no Math.random.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const rows: TickRow[] = [];
  for (const [symbol, start] of [
    ['BTC-USD', 43_250],
    ['ETH-USD', 2_280],
  ] as const) {
    let priceCents = start * 100;
    let tMs = BASE;
    for (let seq = 1; seq <= 300; seq++) {
      tMs += 250 + Math.floor(next() * 1500); // strictly increasing per symbol
      if (tMs >= BASE + 5 * 60_000) break;
      priceCents += Math.round((next() - 0.5) * 400);
      const kind = seq % 5 === 0 ? 2 : 1;
      const size = (Math.floor(next() * 50_000) + 1) / 10_000; // 0.0001 .. 5.0000
      rows.push({
        ts: new Date(tMs),
        ts_ingest: new Date(tMs + 3),
        symbol,
        seq,
        kind,
        price: (priceCents / 100).toFixed(2),
        size: size.toFixed(4),
        bid: kind === 2 ? ((priceCents - 1) / 100).toFixed(2) : null,
        ask: kind === 2 ? ((priceCents + 1) / 100).toFixed(2) : null,
        aggressor: next() < 0.5 ? 1 : -1,
      });
    }
  }
  return rows;
}

async function insertTicks(sql: Sql, rows: TickRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) {
    await sql`insert into ticks ${sql(rows.slice(i, i + 200))}`;
  }
}

const barColumnTypes = (sql: Sql, view: string) =>
  sql`select a.attname, format_type(a.atttypid, a.atttypmod) as type
      from pg_attribute a where a.attrelid = ${view}::regclass and a.attnum > 0 and not a.attisdropped
      order by a.attnum`;

const bars = (sql: Sql, view: 'bars_1s' | 'bars_1m') =>
  sql.unsafe(`select * from ${view} order by symbol, bucket`);

describe('TimescaleDB path (PGlite + TimescaleDB 2.23)', () => {
  let timescale: TimescaleServer;
  let ts: Sql;
  let native: MigratedTestDatabase;
  let pg: Sql;
  const ticks = fixtureTicks();

  beforeAll(async () => {
    timescale = await startTimescale();
    native = await createMigratedTestDatabase();
    pg = postgres(native.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await ts?.end();
    await timescale?.close();
    await pg?.end();
    await native?.drop();
  });

  it('applies the same migrations, taking the TimescaleDB path', async () => {
    const result = await migrate({ ownerUrl: timescale.url, appRole: { name: 'aegis_app' } });
    expect(result.timeseries).toBe('timescaledb');
    expect(result.applied).toEqual(native.applied);
    const again = await migrate({ ownerUrl: timescale.url, appRole: { name: 'aegis_app' } });
    expect(again.applied).toEqual([]);
    // The server takes one connection at a time: open ours once the runner has closed its own.
    ts = postgres(timescale.url, { max: 1, onnotice: () => {} });
    expect((await ts`select aegis_timeseries_backend() as b`)[0]?.b).toBe('timescaledb');
  });

  it('creates hypertables, continuous aggregates, compression, retention and refresh policies', async () => {
    const hypertables = await ts`select hypertable_name from timescaledb_information.hypertables order by 1`;
    expect(hypertables.map((h) => h.hypertable_name)).toEqual([
      'equity_snapshots',
      'features',
      'orderflow_events',
      'signals',
      'ticks',
    ]);
    const caggs = await ts`
      select view_name, materialized_only from timescaledb_information.continuous_aggregates order by 1`;
    expect(caggs).toEqual([
      { view_name: 'bars_1m', materialized_only: true },
      { view_name: 'bars_1s', materialized_only: true },
    ]);
    const jobs = await ts`
      select proc_name, hypertable_name from timescaledb_information.jobs
      where hypertable_name is not null order by 2, 1`;
    expect(jobs.map((j) => `${j.hypertable_name}:${j.proc_name}`)).toEqual([
      'bars_1m:policy_refresh_continuous_aggregate',
      'bars_1s:policy_refresh_continuous_aggregate',
      'bars_1s:policy_retention',
      'features:policy_compression',
      'features:policy_retention',
      'orderflow_events:policy_retention',
      'signals:policy_compression',
      'ticks:policy_compression',
      'ticks:policy_retention',
    ]);
    const compression = await ts`
      select hypertable_name, attname, segmentby_column_index, orderby_column_index
      from timescaledb_information.compression_settings where hypertable_name = 'ticks' order by attname`;
    expect(compression).toEqual([
      { hypertable_name: 'ticks', attname: 'symbol', segmentby_column_index: 1, orderby_column_index: null },
      { hypertable_name: 'ticks', attname: 'ts', segmentby_column_index: null, orderby_column_index: 1 },
    ]);
    // Desk-owned hypertables keep row-level security (and therefore no compression).
    const rls = await ts`
      select relname, relrowsecurity, relforcerowsecurity from pg_class
      where relname in ('orderflow_events', 'equity_snapshots') order by 1`;
    expect(rls).toEqual([
      { relname: 'equity_snapshots', relrowsecurity: true, relforcerowsecurity: true },
      { relname: 'orderflow_events', relrowsecurity: true, relforcerowsecurity: true },
    ]);
  });

  it('bars have the same column names and types on both paths', async () => {
    for (const view of ['bars_1s', 'bars_1m']) {
      const onTimescale = await barColumnTypes(ts, view);
      expect(onTimescale.map((c) => `${c.attname} ${c.type}`)).toEqual([
        'bucket timestamp with time zone',
        'symbol text',
        'open numeric(38,12)',
        'high numeric(38,12)',
        'low numeric(38,12)',
        'close numeric(38,12)',
        'volume numeric(38,12)',
        'vwap numeric(38,12)',
        'trade_count bigint',
      ]);
      expect(await barColumnTypes(pg, view)).toEqual(onTimescale);
    }
  });

  it('a windowed refresh materializes the same whole buckets on both paths', async () => {
    await insertTicks(ts, ticks);
    await insertTicks(pg, ticks);
    // Window edges off bucket boundaries on purpose: only whole buckets inside are refreshed.
    const from = new Date(BASE + 30_500);
    const to = new Date(BASE + 3 * 60_000 + 12_250);
    await ts`call aegis_refresh_bars(${from}, ${to})`;
    await pg`call aegis_refresh_bars(${from}, ${to})`;
    const tsBars = await bars(ts, 'bars_1m');
    expect(tsBars.map((b) => (b.bucket as Date).toISOString())).toEqual([
      '2026-01-05T14:31:00.000Z',
      '2026-01-05T14:32:00.000Z',
      '2026-01-05T14:31:00.000Z',
      '2026-01-05T14:32:00.000Z',
    ]);
    expect(await bars(pg, 'bars_1m')).toEqual(tsBars);
    expect(await bars(pg, 'bars_1s')).toEqual(await bars(ts, 'bars_1s'));
  });

  it('select * from bars_1m / bars_1s returns identical rows on both paths after a full refresh', async () => {
    await ts`call aegis_refresh_bars()`;
    await pg`call aegis_refresh_bars()`;
    const tsMinute = await bars(ts, 'bars_1m');
    const pgMinute = await bars(pg, 'bars_1m');
    expect(tsMinute).toHaveLength(10); // 2 symbols x 5 minutes
    expect(pgMinute).toEqual(tsMinute);

    const tsSecond = await bars(ts, 'bars_1s');
    expect(tsSecond.length).toBeGreaterThan(300);
    expect(await bars(pg, 'bars_1s')).toEqual(tsSecond);

    // And the bars are right, not just equal: totals match the trade ticks.
    const trades = ticks.filter((t) => t.kind === 1);
    const totalCount = tsMinute.reduce((n, b) => n + Number(b.trade_count), 0);
    expect(totalCount).toBe(trades.length);
    const firstBtc = trades.find((t) => t.symbol === 'BTC-USD');
    expect(Number(tsMinute[0]?.open)).toBe(Number(firstBtc?.price));
    for (const b of tsMinute) {
      expect(Number(b.low)).toBeLessThanOrEqual(Number(b.vwap));
      expect(Number(b.vwap)).toBeLessThanOrEqual(Number(b.high));
    }
  });

  it('the application query is the same text on both paths', async () => {
    const query = (sql: Sql) =>
      sql`select bucket, open, high, low, close, volume, vwap, trade_count from bars_1m
          where symbol = ${'ETH-USD'} and bucket between ${new Date(BASE)} and ${new Date(BASE + 2 * 60_000)}
          order by bucket`;
    const onTimescale = await query(ts);
    expect(onTimescale).toHaveLength(3);
    expect(await query(pg)).toEqual(onTimescale);
  });

  it('RLS holds on desk hypertables, and retention works through the shared functions', async () => {
    const deskA = '00000000-0000-4000-8000-00000000000a';
    const deskB = '00000000-0000-4000-8000-00000000000b';
    const event = (tenant: string) => ({
      tenant_id: tenant,
      ts: new Date(BASE),
      source: 'test',
      seq: 1,
      venue: 'X',
      symbol: 'BTC-USD',
      kind: 'trade',
      content_hash: `h-${tenant}`,
    });
    // PGlite has one login (postgres); SET ROLE gives the application role's privileges.
    const asApp = <T>(tenant: string, fn: (tx: postgres.TransactionSql) => Promise<T>) =>
      ts.begin(async (tx) => {
        await tx`set local role aegis_app`;
        await tx`select set_config('app.tenant_id', ${tenant}, true)`;
        return fn(tx);
      }) as Promise<T>;
    await asApp(deskA, (tx) => tx`insert into orderflow_events ${tx(event(deskA))}`);
    await expect(
      asApp(deskA, (tx) => tx`insert into orderflow_events ${tx(event(deskB))}`),
    ).rejects.toMatchObject({
      code: '42501',
    });
    expect(await asApp(deskB, (tx) => tx`select * from orderflow_events`)).toHaveLength(0);
    expect(await asApp(deskA, (tx) => tx`select * from orderflow_events`)).toHaveLength(1);

    // The app role reads the continuous aggregates; forcing a refresh is the owner's (no-op for it).
    const [bars1m] = await asApp(deskA, (tx) => tx`select count(*)::int as n from bars_1m`);
    expect(bars1m?.n).toBe(10);
    await ts.begin(async (tx) => {
      await tx`set local role aegis_app`;
      await tx`call aegis_refresh_bars()`;
    });

    // On TimescaleDB the app's upkeep is a no-op (policies), and retention drops chunks.
    const upkeep = await asApp(deskA, (tx) => tx`select * from aegis_partition_upkeep()`);
    expect(upkeep.every((r) => r.created === 0 && r.dropped === 0)).toBe(true);
    const [dropped] =
      await ts`select aegis_drop_partitions_before('ticks', ${new Date(BASE + 86_400_000 * 2)}) as n`;
    expect(dropped?.n).toBeGreaterThan(0);
    expect(await ts`select * from ticks`).toHaveLength(0);
  });
});
