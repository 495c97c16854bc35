import { ccxtVenueName, instrumentSymbolFor } from '@aegis/shared/market/instrument-symbols';
import { ASK, BID, type BookSink } from '../../book/book-sink.ts';
import type { MalformedRecords } from '../malformed.ts';
import type { SymbolTable } from '../symbol-table.ts';
import { MALFORMED, parseDecimal, type TickSink } from '../tick.ts';
import { VenueTickEmitter } from './ccxt-tick-emitter.ts';

/**
 * Raw Binance Spot WebSocket messages (`trade`, `depthUpdate`, raw or combined `{stream, data}`,
 * https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams) into the tick
 * ring and the book, without a socket: the feed benchmark's decoder (the live feed lets ccxt parse
 * Binance's messages and checks their shape with `validLevels` before ccxt sees them).
 */
interface RawBookState {
  readonly symbolId: number;
  /** Last applied final update id `u`; -1 = no snapshot (events are not applied). */
  lastU: number;
  /** The first event after a snapshot may straddle it (U ≤ lastUpdateId+1 ≤ u). */
  first: boolean;
}

export interface BinanceRawDecoderOptions {
  readonly symbolTable: SymbolTable;
  readonly books: BookSink;
  readonly malformed: MalformedRecords;
  /** Binance market ids and ccxt unified symbols: `{ id: 'BTCUSDT', symbol: 'BTC/USDT' }`. */
  readonly markets: readonly { readonly id: string; readonly symbol: string }[];
  readonly maxFutureSkewMs?: number;
  readonly source?: string;
  readonly nowMs?: () => number;
}

/**
 * Decodes raw Binance Spot stream messages into a TickSink and the BookSink without a socket:
 * `trade` → trade tick (`m` true = buyer is maker = seller aggressed); `depthUpdate` → level
 * updates and a quote tick, applied only on a book synced by `snapshot()` and only in sequence
 * (Binance: drop u ≤ lastUpdateId; the first event has U ≤ lastUpdateId+1 ≤ u; then U = previous
 * u + 1). A break in the sequence is a gap: counted, the book cleared until the next snapshot.
 */
export class BinanceRawDecoder {
  readonly emitter: VenueTickEmitter;
  readonly #books: BookSink;
  readonly #byId = new Map<string, RawBookState>();
  readonly #levels = new LevelBuffer();
  messages = 0;
  gaps = 0;
  /** Depth events for a book with no snapshot yet (ignored, as Binance's recipe buffers them). */
  unsynced = 0;

  constructor(o: BinanceRawDecoderOptions) {
    const source = o.source ?? 'binance-raw';
    this.#books = o.books;
    this.emitter = new VenueTickEmitter({
      source,
      malformed: o.malformed,
      books: o.books,
      maxFutureSkewMs: o.maxFutureSkewMs ?? 5_000,
      ...(o.nowMs && { nowMs: o.nowMs }),
    });
    const venue = ccxtVenueName('binance');
    for (const m of o.markets) {
      const symbolId = o.symbolTable.intern(instrumentSymbolFor(venue, m.symbol));
      if (symbolId >= 0) this.#byId.set(m.id, { symbolId, lastU: -1, first: true });
    }
  }

  /** The symbol id a Binance market id decodes to (-1 when not configured). */
  symbolIdOf(marketId: string): number {
    return this.#byId.get(marketId)?.symbolId ?? -1;
  }

  /** A REST depth snapshot (`/api/v3/depth`): the book restarts from `lastUpdateId`. */
  snapshot(
    marketId: string,
    lastUpdateId: number,
    bids: readonly (readonly [string, string])[],
    asks: readonly (readonly [string, string])[],
    tsEventUs: number,
  ): boolean {
    const st = this.#byId.get(marketId);
    if (!st) return false;
    const b = new Float64Array(bids.length * 2);
    const a = new Float64Array(asks.length * 2);
    bids.forEach(([p, q], i) => {
      b[2 * i] = parseDecimal(p);
      b[2 * i + 1] = parseDecimal(q);
    });
    asks.forEach(([p, q], i) => {
      a[2 * i] = parseDecimal(p);
      a[2 * i + 1] = parseDecimal(q);
    });
    this.#books.snapshot(st.symbolId, b, bids.length, a, asks.length, tsEventUs);
    st.lastU = lastUpdateId;
    st.first = true;
    return true;
  }

  onMessage(raw: string, sink: TickSink): void {
    this.messages++;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    if (msg === null || typeof msg !== 'object') {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    // Combined streams wrap the event: {"stream":"btcusdt@trade","data":{…}}.
    const data = typeof msg.stream === 'string' ? (msg.data as Record<string, unknown>) : msg;
    if (data === null || typeof data !== 'object') {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    const e = data.e;
    if (e === 'trade') this.#trade(data, sink);
    else if (e === 'depthUpdate') this.#depth(data, sink);
    else if ('result' in data && 'id' in data) {
      // A SUBSCRIBE acknowledgement: not market data.
    } else this.emitter.reject(MALFORMED.kind, this.messages);
  }

  #trade(m: Record<string, unknown>, sink: TickSink): void {
    const st = typeof m.s === 'string' ? this.#byId.get(m.s) : undefined;
    if (!st) {
      this.emitter.reject(MALFORMED.symbol, this.messages);
      return;
    }
    const price = typeof m.p === 'string' ? parseDecimal(m.p) : Number.NaN;
    const size = typeof m.q === 'string' ? parseDecimal(m.q) : Number.NaN;
    const ts = typeof m.T === 'number' ? m.T : Number.NaN;
    if (typeof m.m !== 'boolean') {
      this.emitter.reject(MALFORMED.aggressor, this.messages);
      return;
    }
    this.emitter.trade(sink, st.symbolId, ts, price, size, m.m ? -1 : 1, this.messages);
  }

  #depth(m: Record<string, unknown>, sink: TickSink): void {
    const st = typeof m.s === 'string' ? this.#byId.get(m.s) : undefined;
    if (!st) {
      this.emitter.reject(MALFORMED.symbol, this.messages);
      return;
    }
    const U = m.U;
    const u = m.u;
    const E = m.E;
    if (
      typeof U !== 'number' ||
      typeof u !== 'number' ||
      typeof E !== 'number' ||
      !Array.isArray(m.b) ||
      !Array.isArray(m.a)
    ) {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    if (st.lastU < 0) {
      this.unsynced++;
      return;
    }
    if (u <= st.lastU) return; // older than the book: dropped, as documented
    const inSequence = st.first ? U <= st.lastU + 1 && u >= st.lastU + 1 : U === st.lastU + 1;
    if (!inSequence) {
      this.gaps++;
      st.lastU = -1;
      this.#books.clear(st.symbolId);
      return;
    }
    // Validate every level before touching the book: a bad level must not leave half an event.
    const nb = parseLevels(m.b, this.#levels, 0);
    const na = nb < 0 ? -1 : parseLevels(m.a, this.#levels, nb);
    if (na < 0) {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    if (!this.emitter.checkSkew(E)) return;
    const tsUs = Math.round(E * 1000);
    const lv = this.#levels.values;
    for (let i = 0; i < nb; i++)
      this.#books.update(st.symbolId, BID, lv[2 * i] as number, lv[2 * i + 1] as number, tsUs);
    for (let i = nb; i < na; i++)
      this.#books.update(st.symbolId, ASK, lv[2 * i] as number, lv[2 * i + 1] as number, tsUs);
    st.lastU = u;
    st.first = false;
    this.emitter.quote(sink, st.symbolId, E, this.messages);
  }
}

/** Binance depth levels: ["price", "qty"] decimal strings, price > 0, qty ≥ 0 (0 removes). */
export function validLevels(levels: unknown[]): boolean {
  for (const lv of levels) {
    if (!Array.isArray(lv) || typeof lv[0] !== 'string' || typeof lv[1] !== 'string') return false;
    const p = parseDecimal(lv[0]);
    const q = parseDecimal(lv[1]);
    if (!(p > 0) || !(q >= 0)) return false;
  }
  return true;
}

/** Reused parse buffer for one depth event's levels (grown, never shrunk). */
class LevelBuffer {
  values = new Float64Array(64);
}

/**
 * Parses Binance levels into `buf` from pair index `at`; returns the pair index after them, or -1
 * when a level is malformed. One parse per number: the buffer is what gets applied.
 */
function parseLevels(levels: unknown[], buf: LevelBuffer, at: number): number {
  if (buf.values.length < 2 * (at + levels.length)) {
    const grown = new Float64Array(Math.max(2 * buf.values.length, 2 * (at + levels.length)));
    grown.set(buf.values);
    buf.values = grown;
  }
  const v = buf.values;
  for (let i = 0; i < levels.length; i++) {
    const lv = levels[i];
    if (!Array.isArray(lv) || typeof lv[0] !== 'string' || typeof lv[1] !== 'string') return -1;
    const p = parseDecimal(lv[0]);
    const q = parseDecimal(lv[1]);
    if (!(p > 0) || !(q >= 0)) return -1;
    v[2 * (at + i)] = p;
    v[2 * (at + i) + 1] = q;
  }
  return at + levels.length;
}
