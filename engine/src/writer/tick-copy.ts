import type { SymbolNamesReader } from '../feeds/symbol-table.ts';
import { TICK, usFromWords } from '../ring/layout.ts';
import type { RingBuffer } from '../ring/ring-buffer.ts';
import { CopyBinaryEncoder, FIELD_BYTES } from './copy-binary.ts';
import { optionalNumeric, timestampText } from './copy-text.ts';

/** The COPY column list of `ticks`, in the order both encoders emit them. */
export const TICK_COLUMNS =
  'ts, ts_ingest, symbol, seq, kind, price, size, bid, ask, bid_size, ask_size, aggressor';
const TICK_FIELDS = 12;
/** A tuple without its symbol text: field count + 12 length words + fixed-width values. */
const TICK_FIXED_BYTES =
  2 + // field count
  2 * FIELD_BYTES.timestamptz + // ts, ts_ingest
  4 + // symbol's length word (its bytes are added per symbol)
  FIELD_BYTES.int8 + // seq
  2 * FIELD_BYTES.int2 + // kind, aggressor
  6 * FIELD_BYTES.float8; // price, size, bid, ask, bid_size, ask_size
/** Bytes handed to the COPY stream per write (postgres.js copies each into a CopyData message). */
const WRITE_BYTES = 1 << 20;

/**
 * Encodes ring ranges of TICK records as one COPY binary stream for `ticks`
 * (`COPY ticks (TICK_COLUMNS) FROM STDIN (FORMAT binary)`), into one buffer kept across batches.
 * Symbol names are UTF-8 encoded once per symbol id, not per row.
 *
 * Column types: ts/ts_ingest timestamptz, symbol text, seq int8, kind/aggressor int2, the six
 * market-data columns float8 (bid, ask and their sizes NULL when the record holds 0: absent).
 */
export class TickCopyEncoder {
  readonly #names: SymbolNamesReader;
  readonly #enc: CopyBinaryEncoder;
  #symbolBytes: (Uint8Array | undefined)[] = [];
  /** Ring sequences of the batch in output order, and per-symbol counts (reused, grown only). */
  #order = new Uint32Array(0);
  #counts = new Int32Array(256);
  #maxSymbolBytes = 0;

  constructor(names: SymbolNamesReader, initialBytes = 1 << 20) {
    this.#names = names;
    this.#enc = new CopyBinaryEncoder(initialBytes);
  }

  /**
   * The whole batch [starts[i], ends[i]) of every ring, with header and trailer. The returned
   * view is valid until the next encode() (the stream must have been consumed by then: the
   * writer awaits the COPY before the next flush).
   */
  encode(
    rings: readonly RingBuffer[],
    starts: readonly number[],
    ends: readonly number[],
    tsIngestUs: number,
  ): Buffer {
    let rows = 0;
    for (let i = 0; i < rings.length; i++) rows += ((ends[i] as number) - (starts[i] as number)) >>> 0;
    const enc = this.#enc;
    // One reservation per batch with a row bound from the longest symbol seen; a longer new
    // symbol reserves for itself in textBytes().
    enc.reset(21 + rows * (TICK_FIXED_BYTES + Math.max(16, this.#maxSymbolBytes)));
    enc.header();
    for (let i = 0; i < rings.length; i++) {
      const r = rings[i] as RingBuffer;
      const n = this.#groupBySymbol(r, starts[i] as number, ends[i] as number);
      const order = this.#order;
      const u32 = r.u32;
      const f64 = r.f64;
      for (let k = 0; k < n; k++) {
        const seq = order[k] as number;
        const b32 = r.base32(seq);
        const b64 = r.base64(seq);
        const b8 = r.base8(seq);
        enc
          .tuple(TICK_FIELDS)
          .timestampUs(
            usFromWords(u32[b32 + TICK.u32.tsEventHi] as number, u32[b32 + TICK.u32.tsEventLo] as number),
          )
          .timestampUs(tsIngestUs)
          .textBytes(this.#symbol(u32[b32 + TICK.u32.symbolId] as number))
          .int8(usFromWords(u32[b32 + TICK.u32.seqHi] as number, u32[b32 + TICK.u32.seqLo] as number))
          .int2(r.u8[b8 + TICK.u8.kind] as number)
          .float8(f64[b64 + TICK.f64.price] as number)
          .float8(f64[b64 + TICK.f64.size] as number)
          .float8OrNullIfZero(f64[b64 + TICK.f64.bid] as number)
          .float8OrNullIfZero(f64[b64 + TICK.f64.ask] as number)
          .float8OrNullIfZero(f64[b64 + TICK.f64.bidSize] as number)
          .float8OrNullIfZero(f64[b64 + TICK.f64.askSize] as number)
          .int2(r.i8[b8 + TICK.i8.aggressor] as number);
      }
    }
    enc.trailer();
    return enc.bytes();
  }

  /**
   * Fills #order with the ring sequences [start, end) grouped by symbol id (a stable counting
   * sort: each symbol's ticks keep their ring order, which is their time order). Why: the
   * identity index is (symbol, ts, seq); rows of one symbol in a row land on the same btree leaf
   * while it is in the CPU's cache, where interleaved symbols touch a different leaf per row.
   * Measured (binary COPY, 64 symbols, 300k rows, busy machine): 97–171k rows/s interleaved,
   * 117–190k grouped. A symbol belongs to one shard, so grouping per ring groups globally.
   */
  #groupBySymbol(r: RingBuffer, start: number, end: number): number {
    const n = (end - start) >>> 0;
    if (this.#order.length < n) this.#order = new Uint32Array(Math.max(n, this.#order.length * 2));
    const u32 = r.u32;
    let maxId = -1;
    let counts = this.#counts;
    for (let seq = start; seq !== end; seq = (seq + 1) >>> 0) {
      const id = u32[r.base32(seq) + TICK.u32.symbolId] as number;
      if (id >= counts.length) {
        const grown = new Int32Array(Math.max(id + 1, counts.length * 2));
        grown.set(counts);
        counts = grown;
        this.#counts = grown;
      }
      if (id > maxId) {
        counts.fill(0, maxId + 1, id + 1);
        maxId = id;
      }
      counts[id] = (counts[id] as number) + 1;
    }
    // counts[id] becomes the first output index of symbol id.
    let at = 0;
    for (let id = 0; id <= maxId; id++) {
      const c = counts[id] as number;
      counts[id] = at;
      at += c;
    }
    const order = this.#order;
    for (let seq = start; seq !== end; seq = (seq + 1) >>> 0) {
      const id = u32[r.base32(seq) + TICK.u32.symbolId] as number;
      const k = counts[id] as number;
      order[k] = seq;
      counts[id] = k + 1;
    }
    return n;
  }

  #symbol(id: number): Uint8Array {
    const cached = this.#symbolBytes[id];
    if (cached) return cached;
    const bytes = Buffer.from(this.#names.nameOf(id) ?? 'UNKNOWN', 'utf8');
    this.#symbolBytes[id] = bytes;
    if (bytes.length > this.#maxSymbolBytes) this.#maxSymbolBytes = bytes.length;
    return bytes;
  }
}

/** Slices of an encoded stream for a COPY writable (views, no copies). */
export function* copyWrites(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += WRITE_BYTES) yield bytes.subarray(at, at + WRITE_BYTES);
}

/**
 * The previous text-format encoder (one string per 2048 rows, numbers through String()). Kept as
 * the baseline of `npm run bench:persist`; the writer uses TickCopyEncoder.
 */
export function* tickTextChunks(
  rings: readonly RingBuffer[],
  names: SymbolNamesReader,
  starts: readonly number[],
  ends: readonly number[],
  tsIngestUs: number,
): Generator<string> {
  const ingest = timestampText(tsIngestUs);
  let chunk = '';
  let inChunk = 0;
  for (let i = 0; i < rings.length; i++) {
    const r = rings[i] as RingBuffer;
    const end = ends[i] as number;
    for (let seq = starts[i] as number; seq !== end; seq = (seq + 1) >>> 0) {
      const b32 = r.base32(seq);
      const b64 = r.base64(seq);
      const b8 = r.base8(seq);
      const u32 = r.u32;
      const f64 = r.f64;
      const symbol = names.nameOf(u32[b32 + TICK.u32.symbolId] as number) ?? 'UNKNOWN';
      const ts = usFromWords(
        u32[b32 + TICK.u32.tsEventHi] as number,
        u32[b32 + TICK.u32.tsEventLo] as number,
      );
      const tseq = usFromWords(u32[b32 + TICK.u32.seqHi] as number, u32[b32 + TICK.u32.seqLo] as number);
      chunk += `${timestampText(ts)}\t${ingest}\t${symbol}\t${tseq}\t${r.u8[b8 + TICK.u8.kind]}\t${f64[b64 + TICK.f64.price]}\t${f64[b64 + TICK.f64.size]}\t${optionalNumeric(f64[b64 + TICK.f64.bid] as number)}\t${optionalNumeric(f64[b64 + TICK.f64.ask] as number)}\t${optionalNumeric(f64[b64 + TICK.f64.bidSize] as number)}\t${optionalNumeric(f64[b64 + TICK.f64.askSize] as number)}\t${r.i8[b8 + TICK.i8.aggressor]}\n`;
      if (++inChunk === 2048) {
        yield chunk;
        chunk = '';
        inChunk = 0;
      }
    }
  }
  if (inChunk > 0) yield chunk;
}
