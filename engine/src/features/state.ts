import { AppError, ErrorCode } from '@aegis/shared/errors';

/**
 * Per-symbol feature state in one SharedArrayBuffer, so that a feature worker that dies loses
 * nothing and any worker can take its shard over.
 *
 * Layout of one symbol block (Float64 words; stride STATE_STRIDE = 168 words = 1344 bytes, blocks
 * back to back, every part on its own 64-byte lines):
 *
 *   word 0        8                        56                       104                      168
 *   ┌────────────┬────────────────────────┬────────────────────────┬────────────────────────┐
 *   │ i32 ACTIVE │ half 0: fields F.*     │ half 1: fields F.*     │ log-price history:     │
 *   │ (0|1)      │ 48 f64 (6 cache lines) │ 48 f64 (6 cache lines) │ 64 f64, slot = n % 64  │
 *   └────────────┴────────────────────────┴────────────────────────┴────────────────────────┘
 *
 * Crash safety without locks: applying a tick loads every field of the ACTIVE half into locals,
 * computes, stores every field into the other half, and only then flips ACTIVE with Atomics.store
 * (the commit point). A worker terminated before the flip leaves the active half untouched (the
 * tick is simply applied again); after the flip the half's APPLIED_END says the tick is in, and
 * the replay skips it. The history ring is shared by both halves: a tick writes the one slot that
 * no window of the current or the next state reads (PRICE_SLOTS > longest window + 1), so a
 * replayed tick reads the same history. Per tick: ~40 loads, ~42 stores, one Atomics.store. (A
 * journal (redo log) variant measured slower here: it stores every field twice.)
 *
 * The reference price is the MID whenever the tick carries a usable bid/ask (trades carry the
 * prevailing quote too), so volatility, momentum and deviations measure the mid, not prints
 * bouncing between bid and ask; only a tick without a usable quote falls back to its trade price.
 * Book sizes feed the order-flow imbalance (Cont–Kukanov–Stoikov), the depth features and the
 * micro-price; when a feed has no sizes those features decay to their neutral value and
 * BOOK_AVAILABILITY (the share of recent ticks with sizes) says so, instead of a silent constant.
 *
 * Fields that are ratios of stored sums (VWAP, imbalances, realized vol, z-scores) are not stored:
 * they are derived when read (`get`, `copyFeatures`), which keeps divisions, logs and square roots
 * off the per-tick path. Their F.* ids are ≥ DERIVED.
 */
export const F = {
  /** Ticks applied for this symbol. */
  TICKS: 0,
  /** Reference prices appended to the history (index of the next one). */
  PRICES: 1,
  /** Last reference price (the mid, or a trade price when the tick has no usable quote) and its log. */
  LAST_PRICE: 2,
  LAST_LOG_PRICE: 3,
  /** Event time of the last applied tick, µs since the epoch. */
  LAST_TS_US: 4,
  EMA_FAST: 5,
  EMA_SLOW: 6,
  /** Session VWAP sums: Σ price·size and Σ size of trades since 00:00 UTC of the session's day. */
  VWAP_PV: 7,
  VWAP_V: 8,
  /** End of the VWAP session (next 00:00 UTC, µs); 0 before the first trade. */
  VWAP_SESSION_END_US: 9,
  /** EWMA of squared log returns of the reference price (the mid): variance per tick. */
  RV_VAR: 10,
  /** EWMA (span ofiSpan) of signed trade volume and of trade volume, per trade. */
  FLOW_SIGNED: 11,
  FLOW_VOLUME: 12,
  /** Micro-price of the last usable quote (the mid when it had no sizes). */
  MICRO_RAW: 13,
  /** Usable quotes (bid/ask) seen. */
  QUOTES: 14,
  /** EWMA mean and variance of the spread; z of the last quote against the stats before it. */
  SPREAD_MEAN: 15,
  SPREAD_VAR: 16,
  SPREAD_Z: 17,
  /** ln(p_t / p_{t-N}) over the last N reference prices. */
  MOMENTUM: 18,
  /** EWMA of (p - emaSlow)^2 (deviation z = deviation / sqrt of this). */
  DEV_VAR: 19,
  /** Short-horizon (flowFastSpan) EWMAs of signed and of total trade volume. */
  FLOW_SIGNED_FAST: 20,
  FLOW_VOLUME_FAST: 21,
  /** Per-pattern cooldowns: no candidate of that pattern before this event time (µs). */
  COOLDOWN_BREAKOUT: 22,
  COOLDOWN_MEAN_REVERSION: 23,
  COOLDOWN_ABSORPTION: 24,
  /** Candidates the detectors emitted for this symbol. */
  CANDIDATES: 25,
  /** 1 + absolute position (shard tick ring, exact below 2^53) of the last applied tick; 0 = none. */
  APPLIED_END: 26,
  /** Long-horizon (flowSlowSpan) EWMAs of signed and of total trade volume. */
  FLOW_SIGNED_SLOW: 27,
  FLOW_VOLUME_SLOW: 28,
  /** Best bid/ask prices and sizes of the last tick that had a book (sizes), for the OFI. */
  PREV_BID: 29,
  PREV_ASK: 30,
  PREV_BID_SIZE: 31,
  PREV_ASK_SIZE: 32,
  /** EWMA (span cksSpan, per tick) of the Cont–Kukanov–Stoikov order-flow increment e_n. */
  CKS_OFI: 33,
  /** EWMAs (span depthFastSpan, seeded) of the best bid size and the best ask size. */
  BID_DEPTH_FAST: 34,
  ASK_DEPTH_FAST: 35,
  /** EWMA (span depthSlowSpan, seeded) of the mean touch size (bidSize + askSize) / 2. */
  DEPTH_SLOW: 36,
  /** EWMA (span depthFastSpan, per tick, from 0) of 1 when the tick had book sizes, else 0. */
  BOOK_AVAIL: 37,
  /** Ticks with book sizes seen. */
  BOOKS: 38,
  /** Per-pattern re-arm state: 1 after a candidate until the pattern's condition lapses once. */
  FIRED_BREAKOUT: 39,
  FIRED_MEAN_REVERSION: 40,
  FIRED_ABSORPTION: 41,
  /** EWMA (span ofiSpan, per tick, from 0) of 1 for a trade, else 0: the share of ticks that trade. */
  TRADE_RATE: 42,

  /** Derived on read: VWAP_PV / VWAP_V, or the last price before the first trade. */
  VWAP: 100,
  /** Derived on read: sqrt(RV_VAR), the mid's per-tick volatility. */
  REALIZED_VOL: 101,
  /** Derived on read: FLOW_SIGNED / FLOW_VOLUME, trade-sign imbalance in [-1, 1]; 0 before a trade. */
  TRADE_IMBALANCE: 102,
  /** Derived on read: MICRO_RAW, or the last price before the first usable quote. */
  MICRO_PRICE: 103,
  /** Derived on read: short-horizon trade-sign imbalance, in [-1, 1]. */
  TRADE_IMBALANCE_FAST: 104,
  /** Derived on read: long-horizon trade-sign imbalance, in [-1, 1]. */
  TRADE_IMBALANCE_SLOW: 105,
  /** Derived on read: CKS_OFI / DEPTH_SLOW (OFI in units of the usual touch depth); 0 without a book. */
  ORDER_FLOW_IMBALANCE: 106,
  /** Derived on read: (bidFast − askFast) / (bidFast + askFast), in [-1, 1]; 0 without a book. */
  DEPTH_IMBALANCE: 107,
  /** Derived on read: ln(((bidFast + askFast) / 2) / DEPTH_SLOW); 0 without a book. */
  DEPTH_CHANGE: 108,
  /** Derived on read: FLOW_VOLUME_FAST / FLOW_VOLUME (a burst of trading is > 1); 1 before a trade. */
  VOLUME_RATIO: 109,
  /** Derived on read: (LAST_PRICE − EMA_SLOW) / sqrt(DEV_VAR); 0 while DEV_VAR is 0. */
  DEVIATION_Z: 110,
  /** Derived on read: BOOK_AVAIL, the share of recent ticks that carried book sizes. */
  BOOK_AVAILABILITY: 111,
  /** Derived on read: FLOW_VOLUME / FLOW_VOLUME_SLOW (sustained heavier trading is > 1); 1 before a trade. */
  VOLUME_TREND: 112,
} as const;
export const DERIVED = 100;

/** Stored field words per half (6 cache lines); computeTick writes the first FIELD_WORDS. */
export const STATE_WORDS = 48;
export const FIELD_WORDS = F.TRADE_RATE + 1;
/** Slots of the per-symbol log-price history (power of two). */
export const PRICE_SLOTS = 64;
/** Longest window a feature or detector may read from the history (see the crash note above). */
export const MAX_PRICE_WINDOW = PRICE_SLOTS - 2;
/** Words of the control line at the start of a block (Int32 ACTIVE in its first word). */
const CTRL_WORDS = 8;
export const HALF0 = CTRL_WORDS;
export const PRICES_OFFSET = CTRL_WORDS + 2 * STATE_WORDS;
export const STATE_STRIDE = PRICES_OFFSET + PRICE_SLOTS;

/**
 * Typed access to a feature-state SharedArrayBuffer. Symbols are dense ids (feeds/symbol-table.ts);
 * a symbol's state is written by one thread at a time (the owner of its shard). Reads from other
 * threads (metrics, the writer's feature rows) see each field whole, not a consistent snapshot.
 */
export class FeatureState {
  readonly sab: SharedArrayBuffer;
  readonly symbols: number;
  readonly f64: Float64Array;
  readonly i32: Int32Array;

  static byteLength(symbols: number): number {
    return symbols * STATE_STRIDE * 8;
  }

  /** Fresh state for `symbols` symbols (all zero: nothing applied). */
  static create(symbols: number): FeatureState {
    if (!Number.isInteger(symbols) || symbols < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'feature state: symbols must be a positive integer', {
        symbols,
      });
    }
    return new FeatureState(new SharedArrayBuffer(FeatureState.byteLength(symbols)));
  }

  static attach(sab: SharedArrayBuffer): FeatureState {
    return new FeatureState(sab);
  }

  private constructor(sab: SharedArrayBuffer) {
    if (
      !(sab instanceof SharedArrayBuffer) ||
      sab.byteLength === 0 ||
      sab.byteLength % (STATE_STRIDE * 8) !== 0
    ) {
      throw new AppError(
        ErrorCode.BAD_INPUT,
        'feature state: buffer size is not a whole number of symbol blocks',
        {
          byteLength: sab?.byteLength,
          blockBytes: STATE_STRIDE * 8,
        },
      );
    }
    this.sab = sab;
    this.symbols = sab.byteLength / (STATE_STRIDE * 8);
    this.f64 = new Float64Array(sab);
    this.i32 = new Int32Array(sab);
  }

  /** Word index of a symbol's block (its history starts at + PRICES_OFFSET). */
  block(sym: number): number {
    return sym * STATE_STRIDE;
  }

  /** Which half (0|1) holds the symbol's current fields. */
  active(sym: number): number {
    return Atomics.load(this.i32, sym * STATE_STRIDE * 2);
  }

  /** Word index of the symbol's current half (add F.* for a stored field). */
  current(sym: number): number {
    return sym * STATE_STRIDE + HALF0 + Atomics.load(this.i32, sym * STATE_STRIDE * 2) * STATE_WORDS;
  }

  /** Make `half` the symbol's current fields: the commit point of one applied tick. */
  flip(sym: number, half: number): void {
    Atomics.store(this.i32, sym * STATE_STRIDE * 2, half);
  }

  /** A field of a symbol's current fields (stored or derived, see F). */
  get(sym: number, field: number): number {
    return fieldOf(this.f64, this.current(sym), field);
  }

  /** The model features of a symbol, in FEATURE_NAMES order, into `out[at..at+FEATURE_COUNT)`. */
  snapshot(sym: number, out: Float64Array | number[], at = 0): void {
    copyFeatures(this.f64, this.current(sym), out, at);
  }
}

/** A field (stored or derived) of the half at word `b` of `f64`. */
export function fieldOf(f64: Float64Array, b: number, field: number): number {
  if (field < DERIVED) return f64[b + field]!;
  switch (field) {
    case F.VWAP: {
      const v = f64[b + F.VWAP_V]!;
      return v > 0 ? f64[b + F.VWAP_PV]! / v : f64[b + F.LAST_PRICE]!;
    }
    case F.REALIZED_VOL:
      return Math.sqrt(f64[b + F.RV_VAR]!);
    case F.TRADE_IMBALANCE:
      return ratio(f64[b + F.FLOW_SIGNED]!, f64[b + F.FLOW_VOLUME]!);
    case F.MICRO_PRICE:
      return f64[b + F.QUOTES]! > 0 ? f64[b + F.MICRO_RAW]! : f64[b + F.LAST_PRICE]!;
    case F.TRADE_IMBALANCE_FAST:
      return ratio(f64[b + F.FLOW_SIGNED_FAST]!, f64[b + F.FLOW_VOLUME_FAST]!);
    case F.TRADE_IMBALANCE_SLOW:
      return ratio(f64[b + F.FLOW_SIGNED_SLOW]!, f64[b + F.FLOW_VOLUME_SLOW]!);
    case F.ORDER_FLOW_IMBALANCE:
      return ratio(f64[b + F.CKS_OFI]!, f64[b + F.DEPTH_SLOW]!);
    case F.DEPTH_IMBALANCE: {
      const bid = f64[b + F.BID_DEPTH_FAST]!;
      const ask = f64[b + F.ASK_DEPTH_FAST]!;
      return ratio(bid - ask, bid + ask);
    }
    case F.DEPTH_CHANGE: {
      const slow = f64[b + F.DEPTH_SLOW]!;
      const fast = (f64[b + F.BID_DEPTH_FAST]! + f64[b + F.ASK_DEPTH_FAST]!) * 0.5;
      return slow > 0 && fast > 0 ? Math.log(fast / slow) : 0;
    }
    case F.VOLUME_RATIO: {
      const v = f64[b + F.FLOW_VOLUME]!;
      return v > 0 ? f64[b + F.FLOW_VOLUME_FAST]! / v : 1;
    }
    case F.DEVIATION_Z: {
      const v = f64[b + F.DEV_VAR]!;
      return v > 0 ? (f64[b + F.LAST_PRICE]! - f64[b + F.EMA_SLOW]!) / Math.sqrt(v) : 0;
    }
    case F.BOOK_AVAILABILITY:
      return f64[b + F.BOOK_AVAIL]!;
    case F.VOLUME_TREND: {
      const v = f64[b + F.FLOW_VOLUME_SLOW]!;
      return v > 0 ? f64[b + F.FLOW_VOLUME]! / v : 1;
    }
    default:
      throw new AppError(ErrorCode.BAD_INPUT, 'feature state: unknown field', { field });
  }
}

/** a / b, or 0 when b is not positive (no data yet). */
function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 0;
}

/** The model features (FEATURE_NAMES order, ring/layout.ts) of the half at word `b` of `f64`. */
export function copyFeatures(f64: Float64Array, b: number, out: Float64Array | number[], at: number): void {
  out[at] = f64[b + F.EMA_FAST]!;
  out[at + 1] = f64[b + F.EMA_SLOW]!;
  out[at + 2] = fieldOf(f64, b, F.VWAP);
  out[at + 3] = fieldOf(f64, b, F.REALIZED_VOL);
  out[at + 4] = fieldOf(f64, b, F.ORDER_FLOW_IMBALANCE);
  out[at + 5] = fieldOf(f64, b, F.MICRO_PRICE);
  out[at + 6] = f64[b + F.SPREAD_Z]!;
  out[at + 7] = f64[b + F.MOMENTUM]!;
  out[at + 8] = fieldOf(f64, b, F.TRADE_IMBALANCE_FAST);
  out[at + 9] = fieldOf(f64, b, F.TRADE_IMBALANCE);
  out[at + 10] = fieldOf(f64, b, F.TRADE_IMBALANCE_SLOW);
  out[at + 11] = fieldOf(f64, b, F.DEPTH_IMBALANCE);
  out[at + 12] = fieldOf(f64, b, F.DEPTH_CHANGE);
  out[at + 13] = fieldOf(f64, b, F.VOLUME_RATIO);
  out[at + 14] = fieldOf(f64, b, F.DEVIATION_Z);
  out[at + 15] = fieldOf(f64, b, F.BOOK_AVAILABILITY);
  out[at + 16] = f64[b + F.TRADE_RATE]!;
  out[at + 17] = fieldOf(f64, b, F.VOLUME_TREND);
}
