import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticTicks, writerOverTicks } from '../../bench/lib/persist-ceiling.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { MalformedRecords } from '../../src/feeds/malformed.ts';
import { ReplayFeed } from '../../src/feeds/replay.ts';
import { SymbolNamesReader, SymbolTable } from '../../src/feeds/symbol-table.ts';
import { copyTick, createTickRecord, type TickRecord } from '../../src/feeds/tick.ts';
import { startEngine } from '../../src/index.ts';
import { TICK, usFromWords } from '../../src/ring/layout.ts';
import { WRITER_STAT } from '../../src/writer/timescale-writer.ts';
import { FIXTURE_PATH, FIXTURE_TICKS } from '../fixtures/make-replay-fixture.ts';
import { replayFixtureEnv } from '../support/replay-env.ts';

const log = createLogger({ name: 'writer-test', level: 'silent' });
let db: MigratedTestDatabase;

beforeAll(async () => {
  db = await createMigratedTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function fixtureTicks(): Promise<{ ticks: TickRecord[]; names: SymbolTable }> {
  const names = new SymbolTable({ capacity: 100, shards: 1 });
  const ticks: TickRecord[] = [];
  await new ReplayFeed(
    { path: FIXTURE_PATH, speed: 0, symbolTable: names, malformed: new MalformedRecords(log) },
    createTickRecord(),
  ).run({ publish: (t) => ticks.push(copyTick(t, createTickRecord())) > 0 });
  return { ticks, names };
}

describe('timescale writer', () => {
  it('persists exactly the ticks fed in, field by field, plus sampled features, signals and the cursor', async () => {
    const config = loadEngineConfig(
      replayFixtureEnv({
        DATABASE_URL: db.appUrl,
        ENGINE_SIGNAL_MIN_SCORE: '0',
        ENGINE_SHARDS: '3',
        ENGINE_RING_CAPACITY: '1024', // small rings: many flushes, wrap-around, backpressure
        ENGINE_FEATURE_SAMPLE_MS: '1',
      }),
    );
    const bus = new MemoryBus();
    const engine = await startEngine({ config, bus, log });
    await engine.feedsDone;
    const report = await engine.stop();
    await bus.close();
    expect(report).toMatchObject({
      ticksIn: FIXTURE_TICKS,
      ticksPersisted: FIXTURE_TICKS,
      ticksLost: 0,
      ticksDropped: 0,
    });

    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<
        {
          ts_us: string;
          symbol: string;
          seq: string;
          kind: number;
          price: number;
          size: number;
          bid: number | null;
          ask: number | null;
          bid_size: number | null;
          ask_size: number | null;
          aggressor: number;
        }[]
        // float8 columns come back as the very doubles the engine held (binary COPY, no text).
      >`select (extract(epoch from ts) * 1000000)::bigint::text as ts_us, symbol, seq::text, kind, price,
               size, bid, ask, bid_size, ask_size, aggressor
        from ticks order by ticks.symbol, ticks.seq`;
      const { ticks, names } = await fixtureTicks();
      const expected = ticks
        .map((t) => ({ ...t, symbol: names.symbolOf(t.symbolId) }))
        .sort((a, b) => a.symbol.localeCompare(b.symbol) || a.seq - b.seq);
      expect(rows).toHaveLength(expected.length);
      const opt = (x: number | null) => x ?? 0;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        const t = expected[i]!;
        expect({
          ts: Number(r.ts_us),
          symbol: r.symbol,
          seq: Number(r.seq),
          kind: r.kind,
          price: r.price,
          size: r.size,
          bid: opt(r.bid),
          ask: opt(r.ask),
          bidSize: opt(r.bid_size),
          askSize: opt(r.ask_size),
          aggressor: r.aggressor,
        }).toEqual({
          ts: t.tsEventUs,
          symbol: t.symbol,
          seq: t.seq,
          kind: t.kind,
          price: t.price,
          size: t.size,
          bid: t.bid,
          ask: t.ask,
          bidSize: t.bidSize,
          askSize: t.askSize,
          aggressor: t.aggressor,
        });
      }
      const [features] = await sql<{ n: number }[]>`select count(*)::int as n from features`;
      expect(features!.n).toBeGreaterThan(0);
      const [signals] = await sql<{ n: number }[]>`select count(*)::int as n from signals`;
      expect(signals!.n).toBe(report.signalsOut);
      expect(report.signalsOut).toBeGreaterThan(0);
      // Feed positions only; the writer's own flush token (`writer:<consumer>`) is checked in
      // writer-recovery.test.ts.
      const cursors = await sql`select name, position from engine_cursors where name like 'feed:%'`;
      expect(cursors).toEqual([{ name: `feed:replay:${FIXTURE_PATH}`, position: `bin:${FIXTURE_TICKS}` }]);
    } finally {
      await sql.end();
    }
  });
});

describe('timescale writer, ticks the table already holds', () => {
  it('stores the new ticks of a batch once and counts the known ones, whichever row repeats', async () => {
    const ticks = syntheticTicks(3000, 8);
    const { ring, names } = ticks;
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const { writer, stats } = writerOverTicks(sql, ticks, { log, tokenName: 'writer:dup-test' });
    try {
      await sql`truncate ticks`;
      const start = ring.cursor(0);
      // Two ticks were stored before (a replay of the same file, another engine): the first of
      // the second batch (the server refuses that COPY at once) and the last of the third (it
      // is refused only after the client has sent the whole stream).
      const reader = new SymbolNamesReader(names.namesSab);
      for (const k of [1000, 2999]) {
        const seq = (start + k) >>> 0;
        const b32 = ring.base32(seq);
        const u32 = ring.u32;
        const us = usFromWords(
          u32[b32 + TICK.u32.tsEventHi] as number,
          u32[b32 + TICK.u32.tsEventLo] as number,
        );
        await sql`insert into ticks (ts, ts_ingest, symbol, seq, kind, price, size)
                  values ('epoch'::timestamptz + ${us} * interval '1 microsecond', now(),
                          ${reader.nameOf(u32[b32 + TICK.u32.symbolId] as number) as string},
                          ${usFromWords(u32[b32 + TICK.u32.seqHi] as number, u32[b32 + TICK.u32.seqLo] as number)},
                          1, 1, 1)`;
      }
      let rows = 0;
      for (const [id, head] of [
        [1, 1000],
        [2, 2000],
        [3, 3000],
      ] as const) {
        writer.offer({ id, heads: [(start + head) >>> 0], positions: {}, tsIngestUs: Date.now() * 1000 });
        rows += (await writer.flush()).rows;
      }
      expect(rows).toBe(3000);
      const [n] = await sql<{ n: number; distinct: number }[]>`
        select count(*)::int as n, count(distinct (symbol, ts, seq))::int as distinct from ticks`;
      expect(n).toEqual({ n: 3000, distinct: 3000 });
      expect(stats[WRITER_STAT.ticksPersisted]).toBe(3000);
      expect(stats[WRITER_STAT.ticksDuplicate]).toBe(2);
    } finally {
      await sql.end();
    }
  });
});
