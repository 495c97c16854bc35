import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createTestDatabase, type TestDatabase } from '@aegis/shared/testing/database';
import fc from 'fast-check';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticTicks } from '../../bench/lib/persist-ceiling.ts';
import { SymbolNamesReader } from '../../src/feeds/symbol-table.ts';
import { TICK, usFromWords } from '../../src/ring/layout.ts';
import { CopyBinaryEncoder, PG_EPOCH_OFFSET_US } from '../../src/writer/copy-binary.ts';
import { copyWrites, TickCopyEncoder } from '../../src/writer/tick-copy.ts';

/**
 * The COPY binary encoder against a real PostgreSQL: every value is written with
 * `COPY … (FORMAT binary)` and read back through the server's own output functions.
 */

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await createTestDatabase('aegis_copy_binary');
  sql = postgres(db.url, { max: 1, onnotice: () => {} });
  await sql`create table rt (n bigint not null, i2 smallint, i8 bigint, f8 float8, ts timestamptz, t text)`;
});
afterAll(async () => {
  await sql?.end();
  await db?.drop();
});

interface Row {
  i2: number | null;
  i8: number | null;
  f8: number | null;
  /** µs since the Unix epoch. */
  tsUs: number | null;
  t: string | null;
}

async function roundTrip(rows: readonly Row[], enc = new CopyBinaryEncoder(64)): Promise<Row[]> {
  await sql`truncate rt`;
  enc.reset().header();
  rows.forEach((r, n) => {
    enc
      .reserve(2 + 12 + 6 + 12 + 12 + 12 + 4)
      .tuple(6)
      .int8(n);
    if (r.i2 === null) enc.null();
    else enc.int2(r.i2);
    if (r.i8 === null) enc.null();
    else enc.int8(r.i8);
    if (r.f8 === null) enc.null();
    else enc.float8(r.f8);
    if (r.tsUs === null) enc.null();
    else enc.timestampUs(r.tsUs);
    if (r.t === null) enc.null();
    else enc.text(r.t);
  });
  enc.trailer();
  const w = await sql`copy rt (n, i2, i8, f8, ts, t) from stdin (format binary)`.writable();
  await pipeline(Readable.from(copyWrites(enc.bytes())), w);
  const back = await sql<
    { i2: number | null; i8: string | null; f8: number | null; ts_us: string | null; t: string | null }[]
  >`select i2, i8::text, f8, (extract(epoch from ts) * 1000000)::bigint::text as ts_us, t from rt order by n`;
  return back.map((r) => ({
    i2: r.i2,
    i8: r.i8 === null ? null : Number(r.i8),
    f8: r.f8,
    tsUs: r.ts_us === null ? null : Number(r.ts_us),
    t: r.t,
  }));
}

describe('COPY binary encoder', () => {
  it('round-trips edge values: int extremes, special floats, µs timestamps either side of 2000, UTF-8, NULLs', async () => {
    const rows: Row[] = [
      { i2: 0, i8: 0, f8: 0, tsUs: PG_EPOCH_OFFSET_US, t: '' },
      { i2: -1, i8: -1, f8: -0, tsUs: PG_EPOCH_OFFSET_US - 1, t: 'BTC-USD' },
      { i2: 32767, i8: Number.MAX_SAFE_INTEGER, f8: Number.MAX_VALUE, tsUs: 1, t: 'Ünïcødé €' },
      { i2: -32768, i8: Number.MIN_SAFE_INTEGER, f8: -Number.MIN_VALUE, tsUs: -1, t: '日本株 📈' },
      {
        i2: 1,
        i8: 2 ** 32,
        f8: 43250.12,
        tsUs: Date.UTC(2026, 11, 4, 22, 0, 0) * 1000 + 123_456,
        t: 'a\tb\nc\\',
      },
      {
        i2: -2,
        i8: -(2 ** 32) - 1,
        f8: 0.1 + 0.2,
        tsUs: Date.UTC(1999, 11, 31, 23, 59, 59) * 1000 + 999_999,
        t: 'x',
      },
      { i2: null, i8: null, f8: null, tsUs: null, t: null },
      // NaN and ±Infinity are valid float8 and are written as such (ticks never carry them:
      // intake validation rejects non-finite prices; feature rows may hold them).
      { i2: 7, i8: 2 ** 31, f8: Number.NaN, tsUs: 0, t: 'nan' },
      { i2: 8, i8: -(2 ** 31), f8: Number.POSITIVE_INFINITY, tsUs: 0, t: 'inf' },
      { i2: 9, i8: 2 ** 31 - 1, f8: Number.NEGATIVE_INFINITY, tsUs: 0, t: '-inf' },
    ];
    const back = await roundTrip(rows);
    expect(back).toHaveLength(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const want = rows[i] as Row;
      const got = back[i] as Row;
      expect({ ...got, f8: null }).toEqual({ ...want, f8: null });
      // Bit-exact doubles: Object.is tells -0 from 0 and NaN from everything else.
      expect(Object.is(got.f8, want.f8), `row ${i}: ${got.f8} vs ${want.f8}`).toBe(true);
    }
  });

  it('round-trips random rows in one stream, growing its buffer from 64 bytes', async () => {
    const row = fc.record({
      i2: fc.option(fc.integer({ min: -32768, max: 32767 })),
      i8: fc.option(fc.maxSafeInteger()),
      f8: fc.option(fc.double()),
      tsUs: fc.option(fc.integer({ min: Date.UTC(1990, 0, 1) * 1000, max: Date.UTC(2100, 0, 1) * 1000 })),
      // Any string PostgreSQL's text can hold: every code point but NUL.
      t: fc.option(fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'))),
    });
    const rows = fc.sample(fc.array(row, { minLength: 2000, maxLength: 2000 }), {
      numRuns: 1,
      seed: 42,
    })[0] as Row[];
    const enc = new CopyBinaryEncoder(64);
    const back = await roundTrip(rows, enc);
    expect(enc.length).toBeGreaterThan(64);
    for (let i = 0; i < rows.length; i++) {
      const want = rows[i] as Row;
      const got = back[i] as Row;
      // Lone surrogates are not UTF-8: Buffer encodes them as U+FFFD, as PostgreSQL would store.
      const text = want.t === null ? null : Buffer.from(want.t, 'utf8').toString('utf8');
      expect({ ...got, f8: null }).toEqual({ ...want, t: text, f8: null });
      expect(Object.is(got.f8, want.f8), `row ${i}: ${got.f8} vs ${want.f8}`).toBe(true);
    }
  });

  it('encodes ticks byte for byte as the general encoder does, rows grouped by symbol in ring order', () => {
    const { ring, names } = syntheticTicks(5000, 7);
    const reader = new SymbolNamesReader(names.namesSab);
    // Two batches from the middle of the ring, the second after the buffer has been used once.
    const tick = new TickCopyEncoder(reader, 64);
    const start = ring.cursor(0);
    for (const [from, to] of [
      [0, 3000],
      [1234, 5000],
    ] as const) {
      const ingestUs = Date.UTC(2026, 11, 4, 22, 0, 0) * 1000 + 7;
      const got = Buffer.from(tick.encode([ring], [(start + from) >>> 0], [(start + to) >>> 0], ingestUs));
      const seqs = Array.from({ length: to - from }, (_, k) => (start + from + k) >>> 0);
      const symbolOf = (seq: number) => ring.u32[ring.base32(seq) + TICK.u32.symbolId] as number;
      seqs.sort((a, b) => symbolOf(a) - symbolOf(b) || a - b); // stable by symbol, ring order within
      const ref = new CopyBinaryEncoder(64).reset().header();
      for (const seq of seqs) {
        const u32 = ring.u32;
        const b32 = ring.base32(seq);
        const b64 = ring.base64(seq);
        const b8 = ring.base8(seq);
        ref
          .reserve(200)
          .tuple(12)
          .timestampUs(
            usFromWords(u32[b32 + TICK.u32.tsEventHi] as number, u32[b32 + TICK.u32.tsEventLo] as number),
          )
          .timestampUs(ingestUs)
          .text(reader.nameOf(symbolOf(seq)) as string)
          .int8(usFromWords(u32[b32 + TICK.u32.seqHi] as number, u32[b32 + TICK.u32.seqLo] as number))
          .int2(ring.u8[b8 + TICK.u8.kind] as number)
          .float8(ring.f64[b64 + TICK.f64.price] as number)
          .float8(ring.f64[b64 + TICK.f64.size] as number)
          .float8OrNullIfZero(ring.f64[b64 + TICK.f64.bid] as number)
          .float8OrNullIfZero(ring.f64[b64 + TICK.f64.ask] as number)
          .float8OrNullIfZero(ring.f64[b64 + TICK.f64.bidSize] as number)
          .float8OrNullIfZero(ring.f64[b64 + TICK.f64.askSize] as number)
          .int2(ring.i8[b8 + TICK.i8.aggressor] as number);
      }
      ref.trailer();
      expect(got.length).toBe(ref.length);
      expect(got.equals(ref.bytes())).toBe(true);
    }
  });
});
