import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backtestSpecSchema } from '@aegis/shared/schemas/backtest';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/backtest/run-backtest.ts';
import { seededScorer } from '../../src/backtest/seeded-scorer.ts';
import { fileTickSource, tickSourceFor } from '../../src/backtest/tick-source.ts';
import { ticksTableSource } from '../../src/backtest/ticks-table-source.ts';
import { LabelledMarket } from '../../src/eval/labelled-market.ts';
import { createTickRecord } from '../../src/feeds/tick.ts';
import { formatTimestampUs } from '../../src/feeds/tick-csv.ts';
import { TickFileWriter } from '../../src/feeds/tick-file.ts';

/**
 * A backtest over a time range of the real `ticks` table (PostgreSQL, migrated, read as the
 * application role) sees exactly the ticks a file with the same records gives: same result, same
 * digest. The market has one symbol more than the backtest trades, which the range leaves out.
 */
const SYMBOLS = 4;
const TICKS = 12_000;
const names = ['AAA', 'BBB', 'CCC', 'OTHER'];
const traded = names.slice(0, 3);
let db: MigratedTestDatabase;
let owner: postgres.Sql;
let app: postgres.Sql;
let dir: string;
let filePath: string;
let firstUs = 0;
let lastUs = 0;
const tradedTsUs: number[] = [];

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  owner = postgres(db.url, { max: 1, onnotice: () => {} });
  app = postgres(db.appUrl, { max: 2, onnotice: () => {} });
  dir = mkdtempSync(join(tmpdir(), 'aegis-backtest-db-'));
  filePath = join(dir, 'traded.ticks');
  const writer = new TickFileWriter(filePath, names);
  const market = new LabelledMarket({ symbols: SYMBOLS, seed: 5 });
  const t = createTickRecord();
  const rows: Record<string, string | number>[] = [];
  for (let k = 0; k < TICKS; k++) {
    market.next(t);
    t.seq = k;
    // As stored: the table keeps numeric(38,12); the file gets the same values.
    for (const f of ['price', 'size', 'bid', 'ask', 'bidSize', 'askSize'] as const)
      t[f] = Number(t[f].toFixed(8));
    if (k === 0) firstUs = t.tsEventUs;
    lastUs = t.tsEventUs;
    rows.push({
      ts: formatTimestampUs(t.tsEventUs),
      symbol: names[t.symbolId]!,
      seq: k,
      kind: t.kind,
      price: String(t.price),
      size: String(t.size),
      bid: String(t.bid),
      ask: String(t.ask),
      bid_size: String(t.bidSize),
      ask_size: String(t.askSize),
      aggressor: t.aggressor,
    });
    if (t.symbolId < 3) {
      writer.write(t);
      tradedTsUs.push(t.tsEventUs);
    }
  }
  writer.close();
  // Times go in as text: postgres.js would pass a timestamptz parameter through a JS Date (ms).
  for (let i = 0; i < rows.length; i += 4000) {
    await owner`
      insert into ticks (ts, ts_ingest, symbol, seq, kind, price, size, bid, ask, bid_size, ask_size, aggressor)
      select r.ts::timestamptz, r.ts::timestamptz, r.symbol, r.seq, r.kind, r.price::numeric, r.size::numeric,
             r.bid::numeric, r.ask::numeric, r.bid_size::numeric, r.ask_size::numeric, r.aggressor
      from json_to_recordset(${owner.json(rows.slice(i, i + 4000))}::json) as r(
        ts text, symbol text, seq bigint, kind smallint, price text, size text, bid text, ask text,
        bid_size text, ask_size text, aggressor smallint)`;
  }
});

afterAll(async () => {
  await app?.end();
  await owner?.end();
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

describe('backtest over the ticks table', () => {
  const model = seededScorer(3, { bias: 1 });
  const spec = (from: number, to: number) =>
    backtestSpecSchema.parse({
      name: 'db',
      instruments: traded,
      data: {
        kind: 'ticks_table',
        from: new Date(from / 1000).toISOString(),
        to: new Date(to / 1000).toISOString(),
      },
      agent: { riskPreset: 'aggressive', maxProposalsPerHour: 3000, minHoldingSeconds: 0 },
    });

  it('reads the range through a cursor and gives the same result as the same ticks from a file', async () => {
    const s = spec(firstUs - 1000, lastUs + 1000);
    const source = await tickSourceFor(s, { sql: app });
    expect(source.totalTicks).toBe(tradedTsUs.length);
    const fromTable = await runBacktest(s, { ticks: source, model });
    const fromFile = await runBacktest(s, { ticks: fileTickSource(filePath), model });
    expect(fromTable.ticks).toBe(tradedTsUs.length);
    expect(fromTable.orders.length).toBeGreaterThan(0);
    expect(fromTable.digest).toBe(fromFile.digest);
  });

  it('a narrower range replays only its own ticks, [from, to)', async () => {
    // Whole milliseconds: the spec's bounds are ISO times with ms.
    const from = Math.ceil(tradedTsUs[2000]! / 1000) * 1000;
    const to = Math.ceil(tradedTsUs[5000]! / 1000) * 1000;
    const expected = tradedTsUs.filter((ts) => ts >= from && ts < to).length;
    const source = await ticksTableSource(app, {
      from: new Date(from / 1000),
      to: new Date(to / 1000),
      symbols: traded,
    });
    expect(source.totalTicks).toBe(expected);
    const r = await runBacktest(spec(from, to), { ticks: source, model });
    expect(r.ticks).toBe(expected);
    expect(r.equity[0]!.ts >= formatTimestampUs(from)).toBe(true);
  });
});
