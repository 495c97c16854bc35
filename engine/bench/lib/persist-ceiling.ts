import postgres from 'postgres';
import { SymbolNamesReader, SymbolTable } from '../../src/feeds/symbol-table.ts';
import { TICK } from '../../src/ring/layout.ts';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';
import { copyIn } from '../../src/writer/copy-stream.ts';
import { copyWrites, TICK_COLUMNS, TickCopyEncoder } from '../../src/writer/tick-copy.ts';
import {
  TimescaleWriter,
  type TimescaleWriterOptions,
  WRITER_STAT,
} from '../../src/writer/timescale-writer.ts';

/**
 * The database's own ceiling for the `ticks` schema: one COPY (FORMAT binary) of a stream encoded
 * before the clock starts, into a fresh table with the columns, defaults, constraints and indexes
 * of `ticks` (what one daily partition or chunk is), no engine around it. The writer can at best
 * approach it. Used by engine/bench/persist.ts and engine/bench/engine.ts; the synthetic ticks and
 * the writer over them also by engine/tests/integration/writer.test.ts.
 */

export interface SyntheticTicks {
  readonly ring: RingBuffer;
  readonly names: SymbolTable;
  readonly rows: number;
}

/**
 * `rows` ticks for `symbols` symbols in a fresh TICK ring (one consumer), published and ready to
 * read: event times from `startUs` 10 µs apart (all inside today's partition for a start near
 * now), a per-symbol sequence, one quote (bid/ask/sizes) in four ticks, cent prices.
 */
export function syntheticTicks(
  rows: number,
  symbols = 64,
  startUs = Date.now() * 1000 - 3_600_000_000,
): SyntheticTicks {
  let capacity = 2;
  while (capacity < rows) capacity *= 2;
  const ring = RingBuffer.create({ capacity, recordBytes: TICK.bytes, consumers: 1 });
  const names = new SymbolTable({ capacity: symbols, shards: 1 });
  for (let s = 0; s < symbols; s++) names.intern(`SYN${String(s).padStart(4, '0')}-USD`);
  const seqs = new Float64Array(symbols);
  const cents = new Float64Array(symbols).map((_, s) => 10_000 + s * 1_000);
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const start = ring.tryClaim(rows);
  if (start < 0) throw new Error('syntheticTicks: ring too small');
  const TWO_POW_32 = 4_294_967_296;
  for (let i = 0; i < rows; i++) {
    const seq = (start + i) >>> 0;
    const b32 = ring.base32(seq);
    const b64 = ring.base64(seq);
    const b8 = ring.base8(seq);
    const sym = i % symbols;
    const ts = startUs + i * 10;
    const tickSeq = ++(seqs[sym] as number);
    (cents[sym] as number) += Math.round((next() - 0.5) * 20);
    const price = (cents[sym] as number) / 100;
    const quote = i % 4 === 3;
    ring.u32[b32 + TICK.u32.symbolId] = sym;
    ring.u32[b32 + TICK.u32.seqHi] = Math.floor(tickSeq / TWO_POW_32);
    ring.u32[b32 + TICK.u32.seqLo] = tickSeq >>> 0;
    ring.u32[b32 + TICK.u32.tsEventHi] = Math.floor(ts / TWO_POW_32);
    ring.u32[b32 + TICK.u32.tsEventLo] = ts % TWO_POW_32;
    ring.u8[b8 + TICK.u8.kind] = quote ? 2 : 1;
    ring.i8[b8 + TICK.i8.aggressor] = quote ? 0 : next() < 0.5 ? 1 : -1;
    ring.f64[b64 + TICK.f64.price] = price;
    ring.f64[b64 + TICK.f64.size] = Math.round(next() * 50_000 + 1) / 10_000;
    ring.f64[b64 + TICK.f64.bid] = quote ? price - 0.01 : 0;
    ring.f64[b64 + TICK.f64.ask] = quote ? price + 0.01 : 0;
    ring.f64[b64 + TICK.f64.bidSize] = quote ? 400 : 0;
    ring.f64[b64 + TICK.f64.askSize] = quote ? 300 : 0;
  }
  ring.publish((start + rows) >>> 0);
  return { ring, names, rows };
}

/**
 * The engine's writer over synthetic ticks: consumer 0 of their ring into `sql`'s `ticks`, no
 * feature samples, counting into a fresh `stats` array (WRITER_STAT words).
 */
export function writerOverTicks(
  sql: postgres.Sql,
  ticks: SyntheticTicks,
  options: Pick<TimescaleWriterOptions, 'log' | 'tokenName' | 'asyncCommit'>,
): { writer: TimescaleWriter; stats: Float64Array } {
  const stats = new Float64Array(WRITER_STAT.WORDS);
  const writer = new TimescaleWriter({
    sql,
    tickRings: [ticks.ring],
    consumer: 0,
    symbolNames: new SymbolNamesReader(ticks.names.namesSab),
    featureSampleMs: 0,
    stats,
    ...options,
  });
  return { writer, stats };
}

export interface PersistCeiling {
  readonly ticksPerSec: number;
  readonly rows: number;
  readonly seconds: number;
  readonly bytes: number;
}

/**
 * Raw COPY ceiling: `rows` synthetic ticks encoded up front, then timed from BEGIN to COMMIT into
 * `table` (created LIKE ticks, with or without its indexes, dropped afterwards). `url` must be
 * allowed to create tables (the owner's URL).
 */
export async function measurePersistCeiling(
  url: string,
  rows = 1_000_000,
  options: { readonly indexes?: boolean; readonly table?: string; readonly symbols?: number } = {},
): Promise<PersistCeiling> {
  const table = options.table ?? 'bench_ticks_ceiling';
  const { ring, names } = syntheticTicks(rows, options.symbols);
  const bytes = new TickCopyEncoder(new SymbolNamesReader(names.namesSab)).encode(
    [ring],
    [ring.cursor(0)],
    [ring.head()],
    Date.now() * 1000,
  );
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP TABLE IF EXISTS ${table}`);
    await sql.unsafe(
      `CREATE TABLE ${table} (LIKE ticks INCLUDING DEFAULTS INCLUDING CONSTRAINTS${options.indexes === false ? '' : ' INCLUDING INDEXES'})`,
    );
    const t0 = performance.now();
    await sql.begin((tx) =>
      copyIn(tx, `COPY ${table} (${TICK_COLUMNS}) FROM STDIN (FORMAT binary)`, copyWrites(bytes)),
    );
    const seconds = (performance.now() - t0) / 1000;
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
    if (n?.n !== rows) throw new Error(`persist ceiling: ${n?.n} of ${rows} rows stored`);
    return { ticksPerSec: rows / seconds, rows, seconds, bytes: bytes.length };
  } finally {
    await sql.unsafe(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await sql.end();
  }
}
