import { AppError, ErrorCode } from '@aegis/shared/errors';

/**
 * Per-symbol feature state in one SharedArrayBuffer, so that a feature worker that dies loses
 * nothing and any worker can take its shard over.
 *
 * Layout of one symbol block (Float64 words; stride STATE_STRIDE = 136 words = 1088 bytes, blocks
 * back to back, every part on its own 64-byte lines):
 *
 *   word 0        8                        40                       72                       136
 *   ┌────────────┬────────────────────────┬────────────────────────┬────────────────────────┐
 *   │ i32 ACTIVE │ half 0: fields F.*     │ half 1: fields F.*     │ log-price history:     │
 *   │ (0|1)      │ 32 f64 (4 cache lines) │ 32 f64 (4 cache lines) │ 64 f64, slot = n % 64  │
 *   └────────────┴────────────────────────┴────────────────────────┴────────────────────────┘
 *
 * Crash safety without locks: applying a tick loads every field of the ACTIVE half into locals,
 * computes, stores every field into the other half, and only then flips ACTIVE with Atomics.store
 * (the commit point). A worker terminated before the flip leaves the active half untouched (the
 * tick is simply applied again); after the flip the half's APPLIED_END says the tick is in, and
 * the replay skips it. The history ring is shared by both halves: a tick writes the one slot that
 * no window of the current or the next state reads (PRICE_SLOTS > longest window + 1), so a
 * replayed tick reads the same history. Per tick: ~25 loads, ~27 stores, one Atomics.store. (A
 * journal (redo log) variant measured slower here: it stores every field twice. Keeping a rolling
 * max/min band in the state measured ~45 ns/tick of rescans; the breakout detector instead scans
 * the history backwards with an early exit, patterns/detectors.ts.)
 *
 * Fields that are ratios of stored sums (VWAP, OFI, realized vol, micro-price before the first
 * quote) are not stored: they are derived when read (`get`, `copyFeatures`), which keeps two
 * divisions and a square root off the per-tick path. Their F.* ids are ≥ DERIVED.
 */
export const F = {
  /** Ticks applied for this symbol. */
  TICKS: 0,
  /** Reference prices appended to the history (index of the next one). */
  PRICES: 1,
  /** Last reference price (trade price, or the mid of a quote) and its natural log. */
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
  /** EWMA of squared log returns (variance per tick). */
  RV_VAR: 10,
  /** EWMA of signed trade volume and of trade volume. */
  OFI_SIGNED: 11,
  OFI_VOLUME: 12,
  /** Micro-price of the last usable quote (see MICRO_PRICE for the value before any quote). */
  MICRO_RAW: 13,
  /** Usable quotes seen. */
  QUOTES: 14,
  /** EWMA mean and variance of the spread; z of the last quote against the stats before it. */
  SPREAD_MEAN: 15,
  SPREAD_VAR: 16,
  SPREAD_Z: 17,
  /** ln(p_t / p_{t-N}) over the last N reference prices. */
  MOMENTUM: 18,
  /** EWMA of (p - emaSlow)^2 (mean-reversion z = deviation / sqrt of this before the tick). */
  DEV_VAR: 19,
  /** Short-horizon EWMAs of signed and of total trade volume (absorption). */
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

  /** Derived on read: VWAP_PV / VWAP_V, or the last price before the first trade. */
  VWAP: 100,
  /** Derived on read: sqrt(RV_VAR). */
  REALIZED_VOL: 101,
  /** Derived on read: OFI_SIGNED / OFI_VOLUME, in [-1, 1]; 0 before the first trade. */
  OFI: 102,
  /** Derived on read: MICRO_RAW, or the last price before the first usable quote. */
  MICRO_PRICE: 103,
} as const;
export const DERIVED = 100;

/** Stored field words per half (4 cache lines); computeTick writes the first FIELD_WORDS. */
export const STATE_WORDS = 32;
export const FIELD_WORDS = F.APPLIED_END + 1;
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

  /** The 8 model features of a symbol, in FEATURE_NAMES order, into `out[at..at+8)`. */
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
    case F.OFI: {
      const v = f64[b + F.OFI_VOLUME]!;
      return v > 0 ? f64[b + F.OFI_SIGNED]! / v : 0;
    }
    case F.MICRO_PRICE:
      return f64[b + F.QUOTES]! > 0 ? f64[b + F.MICRO_RAW]! : f64[b + F.LAST_PRICE]!;
    default:
      throw new AppError(ErrorCode.BAD_INPUT, 'feature state: unknown field', { field });
  }
}

/** The 8 model features (FEATURE_NAMES order) of the half at word `b` of `f64`. */
export function copyFeatures(f64: Float64Array, b: number, out: Float64Array | number[], at: number): void {
  out[at] = f64[b + F.EMA_FAST]!;
  out[at + 1] = f64[b + F.EMA_SLOW]!;
  out[at + 2] = fieldOf(f64, b, F.VWAP);
  out[at + 3] = fieldOf(f64, b, F.REALIZED_VOL);
  out[at + 4] = fieldOf(f64, b, F.OFI);
  out[at + 5] = fieldOf(f64, b, F.MICRO_PRICE);
  out[at + 6] = f64[b + F.SPREAD_Z]!;
  out[at + 7] = f64[b + F.MOMENTUM]!;
}
