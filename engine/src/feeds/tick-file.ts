import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import { TICK } from '../ring/layout.ts';
import { readTick, type TickRecordViews, writeTick } from '../ring/tick-ring-writer.ts';
import { isValidSymbol } from './symbol-table.ts';
import type { TickRecord } from './tick.ts';

/**
 * The engine's binary tick file (`.ticks`): a small header with a symbol dictionary, then
 * fixed-size records in exactly the TICK ring layout (ring/layout.ts), so a replay copies
 * records without parsing text. Little-endian (x86-64 / arm64 hosts).
 *
 *   byte  0  u32  magic 0x4b544741 ("AGTK" read as bytes A G T K)
 *   byte  4  u16  version (1)
 *   byte  6  u16  reserved (0)
 *   byte  8  u32  recordBytes (72 = TICK.bytes)
 *   byte 12  u32  symbolCount
 *   byte 16  u32  dataOffset: byte offset of record 0 (a multiple of 8)
 *   byte 20  u32  reserved (0)
 *   byte 24  f64  recordCount (written when the file is closed; readers still stop at EOF)
 *   byte 32  dictionary: symbolCount × (u8 length, ASCII name); id i = the i-th name
 *   …        zero padding up to dataOffset
 *   dataOffset + k × 72: record k — TICK layout with symbolId = dictionary index
 *
 * A trailing partial record (a file cut short while being written) is reported as truncated.
 */
export const TICK_FILE_MAGIC = 0x4b544741;
export const TICK_FILE_VERSION = 1;
const FIXED_HEADER_BYTES = 32;

export interface TickFileHeader {
  readonly symbols: readonly string[];
  readonly recordBytes: number;
  readonly dataOffset: number;
  readonly recordCount: number;
}

export function encodeHeader(symbols: readonly string[], recordCount: number): Uint8Array {
  let dictBytes = 0;
  for (const s of symbols) {
    if (!isValidSymbol(s))
      throw new AppError(ErrorCode.BAD_INPUT, `tick file: invalid symbol ${JSON.stringify(s)}`);
    dictBytes += 1 + s.length;
  }
  const dataOffset = Math.ceil((FIXED_HEADER_BYTES + dictBytes) / 8) * 8;
  const buf = new Uint8Array(dataOffset);
  const view = new DataView(buf.buffer);
  view.setUint32(0, TICK_FILE_MAGIC, true);
  view.setUint16(4, TICK_FILE_VERSION, true);
  view.setUint32(8, TICK.bytes, true);
  view.setUint32(12, symbols.length, true);
  view.setUint32(16, dataOffset, true);
  view.setFloat64(24, recordCount, true);
  let o = FIXED_HEADER_BYTES;
  for (const s of symbols) {
    buf[o++] = s.length;
    for (let i = 0; i < s.length; i++) buf[o++] = s.charCodeAt(i);
  }
  return buf;
}

/** Reads and checks the header at the start of an open file. */
export function readHeader(fd: number): TickFileHeader {
  const fixed = new Uint8Array(FIXED_HEADER_BYTES);
  if (readSync(fd, fixed, 0, FIXED_HEADER_BYTES, 0) !== FIXED_HEADER_BYTES) {
    throw new AppError(ErrorCode.BAD_INPUT, 'tick file: shorter than its header');
  }
  const view = new DataView(fixed.buffer);
  if (view.getUint32(0, true) !== TICK_FILE_MAGIC)
    throw new AppError(ErrorCode.BAD_INPUT, 'tick file: bad magic');
  const version = view.getUint16(4, true);
  if (version !== TICK_FILE_VERSION) {
    throw new AppError(ErrorCode.BAD_INPUT, `tick file: unsupported version ${version}`);
  }
  const recordBytes = view.getUint32(8, true);
  if (recordBytes !== TICK.bytes) {
    throw new AppError(ErrorCode.BAD_INPUT, `tick file: record size ${recordBytes}, expected ${TICK.bytes}`);
  }
  const symbolCount = view.getUint32(12, true);
  const dataOffset = view.getUint32(16, true);
  const recordCount = view.getFloat64(24, true);
  if (dataOffset % 8 !== 0 || dataOffset < FIXED_HEADER_BYTES) {
    throw new AppError(ErrorCode.BAD_INPUT, 'tick file: bad data offset');
  }
  const dict = new Uint8Array(dataOffset - FIXED_HEADER_BYTES);
  if (readSync(fd, dict, 0, dict.length, FIXED_HEADER_BYTES) !== dict.length) {
    throw new AppError(ErrorCode.BAD_INPUT, 'tick file: dictionary cut short');
  }
  const symbols: string[] = [];
  let o = 0;
  for (let i = 0; i < symbolCount; i++) {
    const len = dict[o++];
    if (len === undefined || o + len > dict.length)
      throw new AppError(ErrorCode.BAD_INPUT, 'tick file: bad dictionary');
    symbols.push(String.fromCharCode(...dict.subarray(o, o + len)));
    o += len;
  }
  return { symbols, recordBytes, dataOffset, recordCount };
}

/** Record k of a chunk (a 72-byte-aligned view over whole records) → `out`, and back. */
export class RecordCodec implements TickRecordViews {
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;

  constructor(buffer: ArrayBuffer) {
    this.u8 = new Uint8Array(buffer);
    this.i8 = new Int8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }

  base8(k: number): number {
    return k * TICK.bytes;
  }
  base32(k: number): number {
    return k * (TICK.bytes / 4);
  }
  base64(k: number): number {
    return k * (TICK.bytes / 8);
  }

  read(k: number, out: TickRecord): void {
    readTick(this, k, out);
  }

  write(k: number, t: TickRecord): void {
    // Padding bytes zeroed: the same ticks give the same file, byte for byte.
    this.u8.fill(0, k * TICK.bytes, (k + 1) * TICK.bytes);
    writeTick(this, k, t);
  }
}

const WRITE_CHUNK_RECORDS = 4096;

/**
 * Writes a tick file: the symbol dictionary is fixed up front (ticks carry dictionary indexes
 * as symbolId), records are buffered and written in chunks, the count is patched at close.
 */
export class TickFileWriter {
  readonly #fd: number;
  readonly #symbols: readonly string[];
  readonly #codec = new RecordCodec(new ArrayBuffer(WRITE_CHUNK_RECORDS * TICK.bytes));
  #buffered = 0;
  #count = 0;
  #offset: number;

  constructor(path: string, symbols: readonly string[]) {
    this.#symbols = symbols;
    this.#fd = openSync(path, 'w');
    const header = encodeHeader(symbols, 0);
    writeSync(this.#fd, header, 0, header.length, 0);
    this.#offset = header.length;
  }

  write(t: TickRecord): void {
    if (t.symbolId < 0 || t.symbolId >= this.#symbols.length) {
      throw new AppError(ErrorCode.BAD_INPUT, `tick file: symbolId ${t.symbolId} not in the dictionary`);
    }
    this.#codec.write(this.#buffered++, t);
    this.#count++;
    if (this.#buffered === WRITE_CHUNK_RECORDS) this.#flush();
  }

  #flush(): void {
    if (this.#buffered === 0) return;
    const bytes = this.#buffered * TICK.bytes;
    writeSync(this.#fd, this.#codec.u8, 0, bytes, this.#offset);
    this.#offset += bytes;
    this.#buffered = 0;
  }

  close(): number {
    this.#flush();
    const header = encodeHeader(this.#symbols, this.#count);
    writeSync(this.#fd, header, 0, header.length, 0);
    closeSync(this.#fd);
    return this.#count;
  }
}
