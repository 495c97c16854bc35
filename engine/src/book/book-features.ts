import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { BookFeatures } from '@aegis/shared/market/venue-books';
import type { OrderBook } from './order-book.ts';

/**
 * Book features per instrument (`bookFeaturesSchema` in shared/src/market/venue-books.ts):
 *
 *   imbalance  = (bidDepth − askDepth) / (bidDepth + askDepth), depth = sum of the sizes of the N
 *                best levels of a side (N = `levels`, default 10); 0 when both sides are empty.
 *
 *   withdrawal = W / (W + D), where D is the current top-N depth of both sides and W the depth
 *                withdrawn by cancels, summed with an exponential time decay of constant τ
 *                (`withdrawalWindowMs`, default 5 s): W(t) = Σ vᵢ · e^−(t − tᵢ)/τ. With cancels at
 *                a steady rate r, W ≈ r·τ, the volume pulled over the last window: withdrawal is
 *                the share of "what stood in the top N recently" (still standing + pulled) that
 *                was pulled. 0 with no cancels, → 1 when the book is emptied by cancels.
 *
 * What counts as withdrawn: a size decrease or a removal of a level that was among the N best of
 * its side just before the update, minus what trades at that price explain. Trades arrive on
 * their own channel, before or after the depth change they cause, so matching goes both ways
 * within `tradeMatchMs` (default 1 s) per price: a trade leaves a credit that a later decrease
 * at that price consumes; a decrease with no credit is counted at once and remembered, and a
 * trade at that price inside the window refunds it (decayed as it was when counted). Levels
 * dropped to uncross a book, snapshots and clears are data events, never counted as withdrawal.
 *
 * The window runs on the VENUE's event time (the `tsEventUs` the feeds pass), not the wall
 * clock: replays give the same values, and a book that stops changing keeps its last value.
 *
 * For other threads the features also live in a SharedArrayBuffer (layout below), written on
 * every book change with a seqlock per slot, read by `BookFeaturesReader` without any message.
 */
export interface BookFeatureOptions {
  /** Levels per side for the imbalance and the withdrawal depth (default 10). */
  readonly levels?: number;
  /** Time constant τ of the withdrawal's exponential window, ms (default 5000). */
  readonly withdrawalWindowMs?: number;
  /** How far apart a trade and the depth change it explains may be, ms (default 1000). */
  readonly tradeMatchMs?: number;
}

export const DEFAULT_FEATURE_LEVELS = 10;
export const DEFAULT_WITHDRAWAL_WINDOW_MS = 5_000;
export const DEFAULT_TRADE_MATCH_MS = 1_000;

/* ------------------------------------------------------------------------------------------------
 * Shared memory layout of the book features (one SharedArrayBuffer per registry):
 *
 *   byte 0                 64                 64+32            64+32·s                 64+32·cap
 *   ┌──────────────────────┬──────────────────┬─────── … ───────┬──────────────────┬───┐
 *   │ header: i32 magic,   │ slot 0           │                 │ slot s           │   │
 *   │ version, capacity,   │                  │                 │                  │   │
 *   │ levels; padding      │                  │                 │                  │   │
 *   └──────────────────────┴──────────────────┴─────── … ───────┴──────────────────┴───┘
 *
 *   slot (32 bytes, symbol id s):
 *     +0  i32 seq        seqlock: odd while the main thread writes the slot, even when stable
 *     +4  (padding)
 *     +8  f64 imbalance  NaN = no book
 *     +16 f64 withdrawal NaN = no book
 *     +24 f64 tsEventUs  venue event time of the change the values were taken at (0 = never)
 *
 * One writer (the engine's main thread, which owns the books); any number of readers. The seqlock
 * makes a reader's pair (imbalance, withdrawal) come from one write: read seq (Atomics, even),
 * read the fields, read seq again; equal means consistent, else retry. Atomics accesses are
 * sequentially consistent and order the plain Float64 accesses around them.
 * ---------------------------------------------------------------------------------------------- */
export const BOOK_FEATURES_MAGIC = 0x41424b46; // 'ABKF'
export const BOOK_FEATURES_VERSION = 1;
const HEADER_BYTES = 64;
const SLOT_BYTES = 32;
/** Int32 indexes of the header words. */
export const BOOK_FEATURES_HEADER = { MAGIC: 0, VERSION: 1, CAPACITY: 2, LEVELS: 3 } as const;
/** Index of slot `s`'s seqlock in the Int32 view. */
const seqIndex = (s: number): number => (HEADER_BYTES + s * SLOT_BYTES) >> 2;
/** Index of slot `s`'s first f64 (imbalance) in the Float64 view. */
const f64Index = (s: number): number => (HEADER_BYTES + s * SLOT_BYTES + 8) >> 3;
/** Offsets (in f64 units) of the fields from a slot's first f64. */
export const BOOK_FEATURES_SLOT = { imbalance: 0, withdrawal: 1, tsEventUs: 2 } as const;

export function bookFeaturesBytes(capacity: number): number {
  return HEADER_BYTES + capacity * SLOT_BYTES;
}

/** Tries of a seqlocked read before giving up (a write takes a few stores; see `read`). */
const READ_SPINS = 10_000;

/** Trade-match slots per instrument: recent prices with trade credit or unexplained cancels. */
const MATCH_SLOTS = 8;
/** Fields per match slot (Float64Array): price, credit, creditUs, unexplained, unexplainedUs. */
const M = { price: 0, credit: 1, creditUs: 2, unexplained: 3, unexplainedUs: 4, stride: 5 } as const;

/**
 * The withdrawal state of every instrument (typed arrays indexed by symbol id) and the shared
 * feature slots. Owned by `BookRegistry`, which calls it from the book's change paths.
 */
export class BookFeatureBook {
  readonly levels: number;
  readonly sab: SharedArrayBuffer;
  readonly #tauUs: number;
  readonly #matchUs: number;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  /** Decayed withdrawn volume W per instrument and the event time it was decayed to. */
  readonly #w: Float64Array;
  readonly #wUs: Float64Array;
  readonly #match: Float64Array;

  constructor(capacity: number, options: BookFeatureOptions = {}) {
    this.levels = Math.max(1, Math.floor(options.levels ?? DEFAULT_FEATURE_LEVELS));
    this.#tauUs = Math.max(1, (options.withdrawalWindowMs ?? DEFAULT_WITHDRAWAL_WINDOW_MS) * 1000);
    this.#matchUs = Math.max(0, (options.tradeMatchMs ?? DEFAULT_TRADE_MATCH_MS) * 1000);
    this.sab = new SharedArrayBuffer(bookFeaturesBytes(capacity));
    this.#i32 = new Int32Array(this.sab);
    this.#f64 = new Float64Array(this.sab);
    this.#i32[BOOK_FEATURES_HEADER.MAGIC] = BOOK_FEATURES_MAGIC;
    this.#i32[BOOK_FEATURES_HEADER.VERSION] = BOOK_FEATURES_VERSION;
    this.#i32[BOOK_FEATURES_HEADER.CAPACITY] = capacity;
    this.#i32[BOOK_FEATURES_HEADER.LEVELS] = this.levels;
    for (let s = 0; s < capacity; s++) {
      this.#f64[f64Index(s)] = Number.NaN;
      this.#f64[f64Index(s) + 1] = Number.NaN;
    }
    this.#w = new Float64Array(capacity);
    this.#wUs = new Float64Array(capacity);
    this.#match = new Float64Array(capacity * MATCH_SLOTS * M.stride).fill(Number.NaN);
  }

  /** Forgets an instrument's withdrawal history (its book was cleared). */
  reset(id: number): void {
    this.#w[id] = 0;
    this.#wUs[id] = 0;
    this.#match.fill(Number.NaN, id * MATCH_SLOTS * M.stride, (id + 1) * MATCH_SLOTS * M.stride);
  }

  /** A trade at `price` for `size`: refunds recent unexplained cancels there, else leaves credit. */
  onTrade(id: number, price: number, size: number, tsUs: number): void {
    if (!(price > 0 && size > 0)) return;
    let rest = size;
    const m = this.#slotFor(id, price, tsUs);
    const un = this.#match[m + M.unexplained] as number;
    if (un > 0 && tsUs - (this.#match[m + M.unexplainedUs] as number) <= this.#matchUs) {
      const r = Math.min(un, rest);
      this.#match[m + M.unexplained] = un - r;
      rest -= r;
      // Take back what was counted, as decayed as it is now.
      this.#decayTo(id, tsUs);
      const age = Math.max(0, (this.#wUs[id] as number) - (this.#match[m + M.unexplainedUs] as number));
      const w = (this.#w[id] as number) - r * Math.exp(-age / this.#tauUs);
      this.#w[id] = Math.max(w, 0);
    }
    if (rest > 0) {
      const c = this.#match[m + M.credit] as number;
      const fresh = tsUs - (this.#match[m + M.creditUs] as number) <= this.#matchUs;
      this.#match[m + M.credit] = (fresh && c > 0 ? c : 0) + rest;
      this.#match[m + M.creditUs] = tsUs;
    }
  }

  /** A level among the top N lost `amount` at `price` (not through a snapshot or an uncross). */
  onDecrease(id: number, price: number, amount: number, tsUs: number): void {
    if (!(amount > 0)) return;
    let rest = amount;
    const m = this.#find(id, price, tsUs);
    if (m >= 0) {
      const c = this.#match[m + M.credit] as number;
      if (c > 0 && tsUs - (this.#match[m + M.creditUs] as number) <= this.#matchUs) {
        const used = Math.min(c, rest);
        this.#match[m + M.credit] = c - used;
        rest -= used;
      }
    }
    if (rest <= 0) return;
    this.#decayTo(id, tsUs);
    this.#w[id] = (this.#w[id] as number) + rest;
    const s = m >= 0 ? m : this.#slotFor(id, price, tsUs);
    const un = this.#match[s + M.unexplained] as number;
    const fresh = tsUs - (this.#match[s + M.unexplainedUs] as number) <= this.#matchUs;
    this.#match[s + M.unexplained] = (fresh && un > 0 ? un : 0) + rest;
    this.#match[s + M.unexplainedUs] = tsUs;
  }

  /** The decayed withdrawn volume W at event time `tsUs`. */
  withdrawnAt(id: number, tsUs: number): number {
    this.#decayTo(id, tsUs);
    return this.#w[id] as number;
  }

  /** The features of `book` at event time `tsUs` (also decays W to it). */
  compute(id: number, book: OrderBook, tsUs: number, out: MutableBookFeatures): MutableBookFeatures {
    const bid = book.bids.depth(this.levels);
    const ask = book.asks.depth(this.levels);
    const w = this.withdrawnAt(id, tsUs);
    out.imbalance = depthImbalance(bid, ask);
    out.levels = this.levels;
    out.withdrawal = withdrawalShare(w, bid + ask);
    return out;
  }

  /** Writes an instrument's features into its shared slot (seqlocked). NaN = no book. */
  store(id: number, imbalance: number, withdrawal: number, tsUs: number): void {
    const q = seqIndex(id);
    const f = f64Index(id);
    Atomics.add(this.#i32, q, 1); // odd: writing
    this.#f64[f] = imbalance;
    this.#f64[f + 1] = withdrawal;
    this.#f64[f + 2] = tsUs;
    Atomics.add(this.#i32, q, 1); // even: stable
  }

  #decayTo(id: number, tsUs: number): void {
    const last = this.#wUs[id] as number;
    // Out-of-order event times never move the window back.
    if (tsUs <= last) return;
    const w = this.#w[id] as number;
    if (w > 0) {
      const d = w * Math.exp(-(tsUs - last) / this.#tauUs);
      // Below a millionth of a unit the history is gone: keep W exactly 0 rather than denormals.
      this.#w[id] = d > 1e-12 ? d : 0;
    }
    this.#wUs[id] = tsUs;
  }

  /** The live match slot for `price`, or −1. */
  #find(id: number, price: number, tsUs: number): number {
    const base = id * MATCH_SLOTS * M.stride;
    for (let k = 0; k < MATCH_SLOTS; k++) {
      const m = base + k * M.stride;
      if (this.#match[m + M.price] === price && this.#live(m, tsUs)) return m;
    }
    return -1;
  }

  /** The slot for `price`: its live one, else a free or expired one, else the stalest. */
  #slotFor(id: number, price: number, tsUs: number): number {
    const found = this.#find(id, price, tsUs);
    if (found >= 0) return found;
    const base = id * MATCH_SLOTS * M.stride;
    let pick = base;
    let oldest = Number.POSITIVE_INFINITY;
    for (let k = 0; k < MATCH_SLOTS; k++) {
      const m = base + k * M.stride;
      if (!this.#live(m, tsUs)) {
        pick = m;
        break;
      }
      const t = this.#lastUs(m);
      if (t < oldest) {
        oldest = t;
        pick = m;
      }
    }
    this.#match[pick + M.price] = price;
    this.#match[pick + M.credit] = 0;
    this.#match[pick + M.creditUs] = tsUs;
    this.#match[pick + M.unexplained] = 0;
    this.#match[pick + M.unexplainedUs] = tsUs;
    return pick;
  }

  #lastUs(m: number): number {
    // Both times are set together when a slot is taken (NaN only in a never-used slot).
    return Math.max(this.#match[m + M.creditUs] as number, this.#match[m + M.unexplainedUs] as number);
  }

  #live(m: number, tsUs: number): boolean {
    // NaN (never used) compares false.
    return tsUs - this.#lastUs(m) <= this.#matchUs;
  }
}

export interface MutableBookFeatures {
  imbalance: number;
  levels: number;
  withdrawal: number;
}

/** (bid − ask) / (bid + ask), 0 when both are 0; in [−1, 1]. */
export function depthImbalance(bidDepth: number, askDepth: number): number {
  const total = bidDepth + askDepth;
  if (!(total > 0)) return 0;
  return Math.min(1, Math.max(-1, (bidDepth - askDepth) / total));
}

/** W / (W + D), 0 when both are 0; in [0, 1]. */
export function withdrawalShare(withdrawn: number, depth: number): number {
  const total = withdrawn + depth;
  if (!(total > 0)) return 0;
  return Math.min(1, Math.max(0, withdrawn / total));
}

/**
 * Reads the book features another thread's `BookRegistry` keeps in its SharedArrayBuffer (send the
 * buffer once in the worker's startup data: `registry.featuresSab`). No messages per read.
 */
export class BookFeaturesReader {
  readonly capacity: number;
  readonly levels: number;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.#i32 = new Int32Array(sab);
    this.#f64 = new Float64Array(sab);
    if (this.#i32[BOOK_FEATURES_HEADER.MAGIC] !== BOOK_FEATURES_MAGIC) {
      throw new AppError(ErrorCode.BAD_INPUT, 'book features: not a book features buffer (bad magic)');
    }
    if (this.#i32[BOOK_FEATURES_HEADER.VERSION] !== BOOK_FEATURES_VERSION) {
      throw new AppError(ErrorCode.BAD_INPUT, 'book features: unsupported layout version');
    }
    this.capacity = this.#i32[BOOK_FEATURES_HEADER.CAPACITY] as number;
    this.levels = this.#i32[BOOK_FEATURES_HEADER.LEVELS] as number;
  }

  /**
   * Copies symbol `id`'s features into `out` ([imbalance, withdrawal, tsEventUs]); false when
   * the instrument has no book (NaN values), is out of range, or its slot stayed mid-write for
   * `READ_SPINS` tries (only if the writing thread died inside a write). Never blocks: a slot
   * being written is retried (a write is a few stores long).
   */
  read(id: number, out: Float64Array): boolean {
    if (id < 0 || id >= this.capacity) return false;
    const q = seqIndex(id);
    const f = f64Index(id);
    for (let spin = 0; spin < READ_SPINS; spin++) {
      const before = Atomics.load(this.#i32, q);
      if ((before & 1) === 1) continue;
      const imbalance = this.#f64[f] as number;
      const withdrawal = this.#f64[f + 1] as number;
      const ts = this.#f64[f + 2] as number;
      if (Atomics.load(this.#i32, q) !== before) continue;
      out[0] = imbalance;
      out[1] = withdrawal;
      out[2] = ts;
      return !Number.isNaN(imbalance);
    }
    return false;
  }

  /** The features as the schema's object (allocates: for tools and tests, not the hot path). */
  features(id: number): BookFeatures | null {
    const out = new Float64Array(3);
    if (!this.read(id, out)) return null;
    return { imbalance: out[0] as number, levels: this.levels, withdrawal: out[1] as number };
  }
}
