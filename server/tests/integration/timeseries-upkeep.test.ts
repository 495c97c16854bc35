import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTimeseriesUpkeep } from '../../src/maintenance/timeseries-upkeep.ts';

let db: MigratedTestDatabase;
let app: postgres.Sql;
const log = createLogger({ name: 'upkeep-test', level: 'silent' });

beforeAll(async () => {
  db = await createMigratedTestDatabase('aegis_test_upkeep');
  app = postgres(db.appUrl, { max: 4, onnotice: () => {} });
});

afterAll(async () => {
  await app?.end();
  await db?.drop();
});

async function until<T>(fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('time-series upkeep run by the server (as the application role)', () => {
  it('refreshes bars_1m from fresh trade ticks and keeps partitions ahead', async () => {
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
    const rows = [
      { s: 0, p: '100.5', q: '2' },
      { s: 10, p: '101.25', q: '1' },
      { s: 20, p: '99.75', q: '3' },
      { s: 50, p: '100', q: '4' },
    ];
    for (const [i, r] of rows.entries()) {
      const ts = new Date(minute.getTime() + r.s * 1000);
      await app`insert into ticks (ts, ts_ingest, symbol, seq, kind, price, size, aggressor)
        values (${ts}, now(), 'UPK-USD', ${i + 1}, 1, ${r.p}, ${r.q}, 1)`;
    }
    const upkeep = startTimeseriesUpkeep({ sql: app, log, barsEveryMs: 100, barsWindowMs: 10 * 60_000 });
    try {
      const bar = await until(async () => {
        const [b] = await app<
          {
            open: string;
            high: string;
            low: string;
            close: string;
            volume: string;
            vwap: string;
            trade_count: string;
          }[]
        >`select open::text, high::text, low::text, close::text, volume::text, vwap::text, trade_count::text
          from bars_1m where symbol = 'UPK-USD' and bucket = ${minute}`;
        return b;
      });
      expect(Number(bar.open)).toBe(100.5);
      expect(Number(bar.high)).toBe(101.25);
      expect(Number(bar.low)).toBe(99.75);
      expect(Number(bar.close)).toBe(100);
      expect(Number(bar.volume)).toBe(10);
      // VWAP = (100.5*2 + 101.25*1 + 99.75*3 + 100*4) / 10 = 1001.5 / 10
      expect(Number(bar.vwap)).toBeCloseTo(100.15, 10);
      expect(Number(bar.trade_count)).toBe(4);
    } finally {
      await upkeep.stop();
    }
    // Upkeep keeps partitions for the coming days (native path on this PostgreSQL).
    const [{ n } = { n: 0 }] = await app<{ n: number }[]>`
      select count(*)::int as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'ticks'::regclass and c.relname like 'ticks_p%'`;
    expect(n).toBeGreaterThanOrEqual(7);
  });
});
