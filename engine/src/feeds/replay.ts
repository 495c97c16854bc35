import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TICK } from '../ring/layout.ts';
import { FEED_BATCH, type Feed, sleep, yieldToEventLoop } from './feed.ts';
import type { MalformedRecords } from './malformed.ts';
import type { SymbolTable } from './symbol-table.ts';
import { MALFORMED, type TickRecord, type TickSink, validateTick } from './tick.ts';
import { CSV_HEADER, parseCsvLine } from './tick-csv.ts';
import { RecordCodec, readHeader, TICK_FILE_MAGIC } from './tick-file.ts';

/**
 * Replays recorded ticks from a binary `.ticks` file (tick-file.ts) or CSV (tick-csv.ts) —
 * detected by the file's magic — at 1× (event-time gaps kept), N× (gaps divided by N) or full
 * speed (speed 0). Malformed records are counted and skipped (MalformedRecords names the file
 * and the record index or byte offset); the replay never stops for bad data.
 *
 * Position (durable): `bin:<next record index>` or `csv:<byte offset of the next line>`.
 */
export interface ReplayFeedOptions {
  readonly path: string;
  /** 0 = full speed, 1 = real time, N = N× real time. */
  readonly speed: number;
  readonly symbolTable: SymbolTable;
  readonly malformed: MalformedRecords;
  readonly resumeFrom?: string | null;
}

const BIN_CHUNK_RECORDS = 4096;
const CSV_CHUNK_BYTES = 1 << 20;

export class ReplayFeed implements Feed {
  readonly name = 'replay';
  readonly #o: ReplayFeedOptions;
  readonly #t: TickRecord;
  readonly #source: string;
  #stopped = false;
  #ticksIn = 0;
  #dropped = 0;
  /** Durable position as format + number; the string is built only when asked (not per tick). */
  #format: 'bin' | 'csv' | null = null;
  #at = 0;
  readonly #resumeFrom: string | null;
  // Pacing: event time of the first tick and the wall time it was replayed at.
  #ts0 = -1;
  #wall0 = 0;
  #sinceYield = 0;

  constructor(options: ReplayFeedOptions, scratch: TickRecord) {
    this.#o = options;
    this.#t = scratch;
    this.#source = `replay:${options.path}`;
    this.#resumeFrom = options.resumeFrom ?? null;
  }

  get ticksIn(): number {
    return this.#ticksIn;
  }
  get ticksDropped(): number {
    return this.#dropped;
  }
  position(): string | null {
    return this.#format ? `${this.#format}:${this.#at}` : this.#resumeFrom;
  }
  async commit(): Promise<void> {}
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Whether the saved position is already at (or past) the end of the file: the run would replay
   * nothing. The engine says so at start (a rerun of a finished file is almost always a mistake)
   * and `--from-start` / ENGINE_REPLAY_FROM_START replays it again.
   */
  resumesAtEnd(): boolean {
    if (!this.#resumeFrom) return false;
    const fd = openSync(this.#o.path, 'r');
    try {
      const size = fstatSync(fd).size;
      const magic = new Uint8Array(4);
      const n = readSync(fd, magic, 0, 4, 0);
      if (n === 4 && new DataView(magic.buffer).getUint32(0, true) === TICK_FILE_MAGIC) {
        const header = readHeader(fd);
        return header.dataOffset + parsePosition(this.#resumeFrom, 'bin') * TICK.bytes >= size;
      }
      return parsePosition(this.#resumeFrom, 'csv') >= size;
    } finally {
      closeSync(fd);
    }
  }

  async run(sink: TickSink): Promise<void> {
    const fd = openSync(this.#o.path, 'r');
    try {
      const magic = new Uint8Array(4);
      const n = readSync(fd, magic, 0, 4, 0);
      const isBinary = n === 4 && new DataView(magic.buffer).getUint32(0, true) === TICK_FILE_MAGIC;
      if (isBinary) await this.#runBinary(fd, sink);
      else await this.#runCsv(fd, sink);
    } finally {
      closeSync(fd);
      sink.flush?.();
    }
  }

  async #runBinary(fd: number, sink: TickSink): Promise<void> {
    const header = readHeader(fd);
    const ids = header.symbols.map((s) => this.#o.symbolTable.intern(s));
    const codec = new RecordCodec(new ArrayBuffer(BIN_CHUNK_RECORDS * TICK.bytes));
    const t = this.#t;
    let index = parsePosition(this.#resumeFrom, 'bin');
    this.#format = 'bin';
    this.#at = index;
    while (!this.#stopped) {
      const bytes = readSync(fd, codec.u8, 0, codec.u8.length, header.dataOffset + index * TICK.bytes);
      const records = Math.floor(bytes / TICK.bytes);
      for (let k = 0; k < records && !this.#stopped; k++) {
        codec.read(k, t);
        const fileSymbol = t.symbolId;
        const id = fileSymbol < ids.length ? (ids[fileSymbol] as number) : -1;
        const recordIndex = index + k;
        if (id < 0) {
          this.#o.malformed.record(this.#source, MALFORMED.symbol, `record ${recordIndex}`);
        } else {
          t.symbolId = id;
          const bad = validateTick(t);
          if (bad) this.#o.malformed.record(this.#source, bad, `record ${recordIndex}`);
          else {
            if (this.#o.speed > 0) await this.#pace(t.tsEventUs, sink);
            if (sink.publish(t)) this.#ticksIn++;
            else this.#dropped++;
          }
        }
        this.#at = recordIndex + 1;
        if (++this.#sinceYield >= FEED_BATCH) {
          this.#sinceYield = 0;
          sink.flush?.();
          await (sink.backpressure?.() ?? yieldToEventLoop());
        }
      }
      if (this.#stopped) return;
      index += records;
      if (bytes < codec.u8.length) {
        if (bytes % TICK.bytes !== 0) {
          this.#o.malformed.record(
            this.#source,
            MALFORMED.truncated,
            `record ${index} (byte ${header.dataOffset + index * TICK.bytes})`,
          );
        }
        return;
      }
    }
  }

  async #runCsv(fd: number, sink: TickSink): Promise<void> {
    const buf = Buffer.allocUnsafe(CSV_CHUNK_BYTES);
    const t = this.#t;
    const table = this.#o.symbolTable;
    const idOf = (s: string) => table.intern(s);
    let offset = parsePosition(this.#resumeFrom, 'csv');
    this.#format = 'csv';
    this.#at = offset;
    let carry = '';
    let carryStart = offset;
    let lineNo = 0;
    let atStart = offset === 0;
    while (!this.#stopped) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      const eof = n === 0;
      let start = 0;
      // Lines are split on bytes so positions stay byte offsets; a line cut by the chunk
      // boundary is carried over to the next read.
      for (let i = 0; i <= n; i++) {
        if (i < n && buf[i] !== 0x0a) continue;
        if (i === n && !eof) break;
        const piece = buf.toString('utf8', start, i);
        let line = carry + piece;
        const lineStart = carry ? carryStart : offset + start;
        carry = '';
        const next = offset + i + 1;
        start = i + 1;
        if (i === n && line === '') break;
        if (line.endsWith('\r')) line = line.slice(0, -1);
        lineNo++;
        if (atStart) {
          atStart = false;
          if (line.trim() === CSV_HEADER) {
            this.#at = Math.min(next, offset + n);
            continue;
          }
        }
        if (line.trim() !== '') {
          const bad = parseCsvLine(line, idOf, t);
          if (bad)
            this.#o.malformed.record(this.#source, bad, `byte ${lineStart} (line ${lineNo} of this run)`);
          else {
            if (this.#o.speed > 0) await this.#pace(t.tsEventUs, sink);
            if (sink.publish(t)) this.#ticksIn++;
            else this.#dropped++;
          }
        }
        this.#at = Math.min(next, offset + n);
        if (++this.#sinceYield >= FEED_BATCH) {
          this.#sinceYield = 0;
          sink.flush?.();
          await (sink.backpressure?.() ?? yieldToEventLoop());
        }
        if (this.#stopped) return;
      }
      if (eof) return;
      if (start < n) {
        carryStart = offset + start;
        carry = buf.toString('utf8', start, n);
      }
      offset += n;
    }
  }

  /** Waits until the tick is due at the configured speed (no-op at full speed). */
  async #pace(tsUs: number, sink: TickSink): Promise<void> {
    const speed = this.#o.speed;
    if (speed <= 0) return;
    if (this.#ts0 < 0) {
      this.#ts0 = tsUs;
      this.#wall0 = performance.now();
      return;
    }
    const dueMs = this.#wall0 + (tsUs - this.#ts0) / 1000 / speed;
    const wait = dueMs - performance.now();
    if (wait >= 1) {
      sink.flush?.();
      await sleep(wait);
      this.#sinceYield = 0;
    }
  }
}

function parsePosition(position: string | null | undefined, format: 'bin' | 'csv'): number {
  if (!position?.startsWith(`${format}:`)) return 0;
  const n = Number(position.slice(format.length + 1));
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}
