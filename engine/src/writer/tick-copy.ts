import type { SymbolNamesReader } from '../feeds/symbol-table.ts';
import { TICK, usFromWords } from '../ring/layout.ts';
import type { RingBuffer } from '../ring/ring-buffer.ts';
import { FIELD_BYTES, PG_EPOCH_OFFSET_US, PGCOPY_SIGNATURE as SIGNATURE } from './copy-binary.ts';
import { optionalNumeric, timestampText } from './copy-text.ts';

/** The COPY column list of `ticks`, in the order both encoders emit them. */
export const TICK_COLUMNS =
  'ts, ts_ingest, symbol, seq, kind, price, size, bid, ask, bid_size, ask_size, aggressor';
const TICK_FIELDS = 12;
const TWO_POW_32 = 4_294_967_296;
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
  #buf: Buffer;
  /** Over #buf: DataView's setters are JIT intrinsics, cheaper than Buffer's checked writers. */
  #dv: DataView;
  #symbolBytes: (Uint8Array | undefined)[] = [];
  /** Ring sequences of the batch in output order, and per-symbol counts (reused, grown only). */
  #orders: Uint32Array[] = [];
  #counts = new Int32Array(256);
  /** Text bytes of the symbols of the batch being encoded (set by #groupBySymbol). */
  #symbolTextBytes = 0;

  constructor(names: SymbolNamesReader, initialBytes = 1 << 20) {
    this.#names = names;
    this.#buf = Buffer.allocUnsafe(initialBytes);
    this.#dv = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  /**
   * The whole batch [starts[i], ends[i]) of every ring, with header and trailer. The returned
   * view is valid until the next encode() (the stream must have been consumed by then: the
   * writer awaits the COPY before the next flush).
   *
   * One hot loop with the buffer position in a local and the exact batch size reserved up front
   * (the same layout CopyBinaryEncoder writes field by field; the round-trip tests pin that one,
   * the writer tests this one): ~2× faster than chaining the general encoder's calls.
   */
  encode(
    rings: readonly RingBuffer[],
    starts: readonly number[],
    ends: readonly number[],
    tsIngestUs: number,
  ): Buffer {
    // Grouping first: it also gives each symbol's row count, hence the exact size.
    const groups: number[] = [];
    let bytes = 21;
    for (let i = 0; i < rings.length; i++) {
      const r = rings[i] as RingBuffer;
      const n = this.#groupBySymbol(r, starts[i] as number, ends[i] as number, i);
      groups.push(n);
      bytes += n * TICK_FIXED_BYTES;
    }
    bytes += this.#symbolTextBytes;
    if (bytes > this.#buf.length) {
      this.#buf = Buffer.allocUnsafe(Math.max(bytes, this.#buf.length * 2));
      this.#dv = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
    }
    const buf = this.#buf;
    const dv = this.#dv;
    SIGNATURE.copy(buf, 0);
    dv.setInt32(11, 0); // flags
    dv.setInt32(15, 0); // header extension length
    let pos = 19;
    const ingest = tsIngestUs - PG_EPOCH_OFFSET_US;
    const ingestHi = Math.floor(ingest / TWO_POW_32);
    const ingestLo = ingest - ingestHi * TWO_POW_32;
    const names = this.#symbolBytes;
    for (let i = 0; i < rings.length; i++) {
      const r = rings[i] as RingBuffer;
      const order = this.#orders[i] as Uint32Array;
      const n = groups[i] as number;
      const u32 = r.u32;
      const f64 = r.f64;
      const u8 = r.u8;
      const i8 = r.i8;
      for (let k = 0; k < n; k++) {
        const seq = order[k] as number;
        const b32 = r.base32(seq);
        const b64 = r.base64(seq);
        const b8 = r.base8(seq);
        dv.setInt16(pos, TICK_FIELDS);
        // ts: int64 µs since 2000-01-01.
        const ts =
          (u32[b32 + TICK.u32.tsEventHi] as number) * TWO_POW_32 +
          (u32[b32 + TICK.u32.tsEventLo] as number) -
          PG_EPOCH_OFFSET_US;
        const tsHi = Math.floor(ts / TWO_POW_32);
        dv.setInt32(pos + 2, 8);
        dv.setInt32(pos + 6, tsHi);
        dv.setUint32(pos + 10, ts - tsHi * TWO_POW_32);
        // ts_ingest
        dv.setInt32(pos + 14, 8);
        dv.setInt32(pos + 18, ingestHi);
        dv.setUint32(pos + 22, ingestLo);
        pos += 26;
        // symbol: short byte strings copy faster by hand than through TypedArray.set.
        const name = names[u32[b32 + TICK.u32.symbolId] as number] as Uint8Array;
        const len = name.length;
        dv.setInt32(pos, len);
        pos += 4;
        for (let j = 0; j < len; j++) buf[pos + j] = name[j] as number;
        pos += len;
        // seq: int8, already two u32 words (non-negative).
        dv.setInt32(pos, 8);
        dv.setUint32(pos + 4, u32[b32 + TICK.u32.seqHi] as number);
        dv.setUint32(pos + 8, u32[b32 + TICK.u32.seqLo] as number);
        // kind: int2
        dv.setInt32(pos + 12, 2);
        dv.setInt16(pos + 16, u8[b8 + TICK.u8.kind] as number);
        // price, size: float8
        dv.setInt32(pos + 18, 8);
        dv.setFloat64(pos + 22, f64[b64 + TICK.f64.price] as number);
        dv.setInt32(pos + 30, 8);
        dv.setFloat64(pos + 34, f64[b64 + TICK.f64.size] as number);
        pos += 42;
        // bid, ask, bid_size, ask_size: float8, NULL when 0 (absent in the record).
        for (let f = TICK.f64.bid; f <= TICK.f64.askSize; f++) {
          const x = f64[b64 + f] as number;
          if (x === 0) {
            dv.setInt32(pos, -1);
            pos += 4;
          } else {
            dv.setInt32(pos, 8);
            dv.setFloat64(pos + 4, x);
            pos += 12;
          }
        }
        // aggressor: int2
        dv.setInt32(pos, 2);
        dv.setInt16(pos + 4, i8[b8 + TICK.i8.aggressor] as number);
        pos += 6;
      }
    }
    dv.setInt16(pos, -1); // trailer
    pos += 2;
    return buf.subarray(0, pos);
  }

  /**
   * Fills #order with the ring sequences [start, end) grouped by symbol id (a stable counting
   * sort: each symbol's ticks keep their ring order, which is their time order). Why: the
   * identity index is (symbol, ts, seq); rows of one symbol in a row land on the same btree leaf
   * while it is in the CPU's cache, where interleaved symbols touch a different leaf per row.
   * Measured (binary COPY, 64 symbols, 300k rows, busy machine): 97–171k rows/s interleaved,
   * 117–190k grouped. A symbol belongs to one shard, so grouping per ring groups globally.
   */
  #groupBySymbol(r: RingBuffer, start: number, end: number, ring: number): number {
    const n = (end - start) >>> 0;
    if (ring === 0) this.#symbolTextBytes = 0;
    let order = this.#orders[ring];
    if (!order || order.length < n) {
      order = new Uint32Array(Math.max(n, (order?.length ?? 0) * 2, 1024));
      this.#orders[ring] = order;
    }
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
    // counts[id] becomes the first output index of symbol id; symbol names are encoded (once
    // per id, cached) and their bytes summed for the batch's exact size.
    let at = 0;
    for (let id = 0; id <= maxId; id++) {
      const c = counts[id] as number;
      if (c > 0) this.#symbolTextBytes += c * this.#symbol(id).length;
      counts[id] = at;
      at += c;
    }
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
