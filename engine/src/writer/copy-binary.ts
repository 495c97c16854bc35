/**
 * PostgreSQL COPY binary-format encoding (`COPY … FROM STDIN (FORMAT binary)`), into one
 * growable Buffer that the writer keeps across flushes: a batch costs no allocation per row.
 *
 * Why binary: the server parses no text. float8 arrives as its 8 IEEE bytes and timestamptz as
 * an int64, where text COPY made the server run float8in/timestamptz_in (and numeric_in, the
 * slowest of all) for every column of every row.
 *
 * Stream layout (PostgreSQL docs, "COPY — Binary Format"), all integers big-endian:
 *
 *   header   11 bytes  "PGCOPY\n\377\r\n\0"
 *             4 bytes  flags (0: no OIDs)
 *             4 bytes  header extension length (0)
 *   tuple     2 bytes  int16 field count
 *            per field: int32 byte length (-1 = NULL), then the value's bytes
 *   trailer   2 bytes  int16 -1
 *
 * Values: int2/int8 two's complement; float8 IEEE 754; timestamptz int64 µs since
 * 2000-01-01 00:00:00 UTC (the server's epoch, not Unix's); text the UTF-8 bytes, no terminator.
 *
 * Numbers stay JS doubles: int64 values are written from a double split into two 32-bit words,
 * exact for every safe integer (|n| ≤ 2^53 − 1). No BigInt on this path.
 */

/** The 11 bytes every COPY binary stream starts with. */
export const PGCOPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const SIGNATURE = PGCOPY_SIGNATURE;
/** µs between the Unix epoch and PostgreSQL's (2000-01-01T00:00:00Z). */
export const PG_EPOCH_OFFSET_US = 946_684_800_000_000;
const TWO_POW_32 = 4_294_967_296;

export class CopyBinaryEncoder {
  #buf: Buffer;
  /** Over #buf: DataView's setters are JIT intrinsics, cheaper than Buffer's checked writers. */
  #dv: DataView;
  #pos = 0;

  constructor(initialBytes = 1 << 16) {
    this.#buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
    this.#dv = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  #replace(buf: Buffer): void {
    this.#buf = buf;
    this.#dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Bytes written since the last reset(). */
  get length(): number {
    return this.#pos;
  }

  /** The encoded bytes (a view of the internal buffer: valid until the next reset()). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Starts over, keeping the buffer; `capacity` bytes are made available up front. */
  reset(capacity = 0): this {
    this.#pos = 0;
    if (capacity > this.#buf.length) this.#replace(Buffer.allocUnsafe(capacity));
    return this;
  }

  /**
   * Makes room for `n` more bytes. Callers reserve once per row (or per batch) with the row's
   * upper bound, so the per-field writers below do no bounds bookkeeping.
   */
  reserve(n: number): this {
    const need = this.#pos + n;
    if (need > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(grown, 0, 0, this.#pos);
      this.#replace(grown);
    }
    return this;
  }

  header(): this {
    this.reserve(19);
    SIGNATURE.copy(this.#buf, this.#pos);
    this.#dv.setInt32(this.#pos + 11, 0);
    this.#dv.setInt32(this.#pos + 15, 0);
    this.#pos += 19;
    return this;
  }

  trailer(): this {
    this.reserve(2);
    this.#dv.setInt16(this.#pos, -1);
    this.#pos += 2;
    return this;
  }

  /** Starts a tuple of `fields` columns (the COPY's column list, in order). */
  tuple(fields: number): this {
    this.#dv.setInt16(this.#pos, fields);
    this.#pos += 2;
    return this;
  }

  null(): this {
    this.#dv.setInt32(this.#pos, -1);
    this.#pos += 4;
    return this;
  }

  int2(n: number): this {
    this.#dv.setInt32(this.#pos, 2);
    this.#dv.setInt16(this.#pos + 4, n);
    this.#pos += 6;
    return this;
  }

  /** int8 from a safe integer. */
  int8(n: number): this {
    this.#dv.setInt32(this.#pos, 8);
    this.#int64(n, this.#pos + 4);
    this.#pos += 12;
    return this;
  }

  float8(x: number): this {
    this.#dv.setInt32(this.#pos, 8);
    this.#dv.setFloat64(this.#pos + 4, x);
    this.#pos += 12;
    return this;
  }

  /** float8, or NULL when x is 0 (the tick record's "absent" for optional quote fields). */
  float8OrNullIfZero(x: number): this {
    return x === 0 ? this.null() : this.float8(x);
  }

  /** timestamptz from µs since the Unix epoch. */
  timestampUs(usUnix: number): this {
    this.#dv.setInt32(this.#pos, 8);
    this.#int64(usUnix - PG_EPOCH_OFFSET_US, this.#pos + 4);
    this.#pos += 12;
    return this;
  }

  /** text from pre-encoded UTF-8 bytes (the writer caches them per symbol). */
  textBytes(utf8: Uint8Array): this {
    const n = utf8.length;
    this.reserve(4 + n);
    this.#dv.setInt32(this.#pos, n);
    this.#buf.set(utf8, this.#pos + 4);
    this.#pos += 4 + n;
    return this;
  }

  /** text from a string (encoded in place; reserves the UTF-8 worst case, 3 bytes per unit). */
  text(s: string): this {
    this.reserve(4 + s.length * 3);
    const n = this.#buf.write(s, this.#pos + 4, 'utf8');
    this.#dv.setInt32(this.#pos, n);
    this.#pos += 4 + n;
    return this;
  }

  /** Two's complement int64 from a safe integer, as two 32-bit words (high word signed). */
  #int64(n: number, at: number): void {
    const hi = Math.floor(n / TWO_POW_32);
    const lo = n - hi * TWO_POW_32;
    this.#dv.setInt32(at, hi);
    this.#dv.setUint32(at + 4, lo);
  }
}

/** Upper bound of one field's bytes for fixed-width types (length word + value). */
export const FIELD_BYTES = { int2: 6, int8: 12, float8: 12, timestamptz: 12 } as const;
