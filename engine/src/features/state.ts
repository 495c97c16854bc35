import { AppError, ErrorCode } from '@aegis/shared/errors';

/**
 * Per-symbol feature state in one SharedArrayBuffer, so that a feature worker that dies loses
 * nothing and any worker can take its shard over.
 *
 * Crash safety without locks: each symbol's scalar state exists twice (half 0 and half 1) and an
 * Int32 flag says which half is current. Applying a tick reads the current half, writes the whole
 * next half, and only then flips the flag with Atomics.store (a release: a takeover thread that
 * reads the flag with Atomics.load sees the half complete). A worker terminated mid-update leaves
 * the current half untouched, so the tick can be applied again from scratch; a worker terminated
 * after the flip has applied it, which the half's LAST_APPLIED_ABS records — the replay skips it.
 * The price history ring is shared by both halves: a tick writes the one slot that neither the old
 * nor the new window reads (PRICE_SLOTS > longest window + 1), so replays read the same prices.
 *
 * Layout of one symbol block (Float64 words; stride = STATE_STRIDE, blocks back to back):
 *
 *   word 0               word 2                 word 2+H               word 2+2H           2+2H+P
 *   ┌──────────────────┬──────────────────────┬──────────────────────┬────────────────────┐
 *   │ ctrl: i32 ACTIVE │ half 0: H f64 fields │ half 1: H f64 fields │ prices: P f64 ring │
 *   │ (0|1), i32 spare │ (F.* below)          │ (F.* below)          │ slot = n % P       │
 *   │ f64 spare        │                      │                      │                    │
 *   └──────────────────┴──────────────────────┴──────────────────────┴────────────────────┘
 *
 * H = HALF_WORDS (fields F.*, padded to 40), P = PRICE_SLOTS (64). 1000 symbols take ~1.1 MB.
 */
export const F = {
  /** Absolute position (in the shard's tick ring, exact below 2^53) of the last applied tick; -1 = none. */
  LAST_APPLIED_ABS: 0,
  /** Ticks applied for this symbol. */
  TICKS: 1,
  /** Reference prices appended to the price ring (index of the next one). */
  PRICES: 2,
  /** Last reference price (trade price, or the mid of a quote). */
  LAST_PRICE: 3,
  /** Event time of the last applied tick, µs since the epoch. */
  LAST_TS_US: 4,
  EMA_FAST: 5,
  EMA_SLOW: 6,
  /** Session VWAP: Σ price·size and Σ size of trades since the session (UTC day) began. */
  VWAP_PV: 7,
  VWAP_V: 8,
  /** UTC day number of the VWAP session. */
  VWAP_DAY: 9,
  VWAP: 10,
  /** EWMA of squared log returns (variance per tick); realized vol = sqrt. */
  RV_VAR: 11,
  REALIZED_VOL: 12,
  /** EWMA of signed trade volume and of trade volume; OFI = signed / volume, in [-1, 1]. */
  OFI_SIGNED: 13,
  OFI_VOLUME: 14,
  OFI: 15,
  MICRO_PRICE: 16,
  /** EWMA mean and variance of the quoted spread (ask - bid); z against the stats before the tick. */
  SPREAD_MEAN: 17,
  SPREAD_VAR: 18,
  SPREAD_Z: 19,
  /** Log return over the last N reference prices. */
  MOMENTUM: 20,
  /** Rolling band over the last W reference prices: max/min and the price index where it occurred. */
  BAND_HI: 21,
  BAND_HI_IDX: 22,
  BAND_LO: 23,
  BAND_LO_IDX: 24,
  /** EWMA variance of (price - emaSlow); price z = deviation / sqrt(var before the tick). */
  DEV_VAR: 25,
  PRICE_Z: 26,
  /** Short-horizon EWMA of signed and of total trade volume (absorption detector). */
  FLOW_SIGNED_FAST: 27,
  FLOW_VOLUME_FAST: 28,
  /** Per-pattern cooldowns: no candidate of that pattern before this event time (µs). */
  COOLDOWN_BREAKOUT: 29,
  COOLDOWN_MEAN_REVERSION: 30,
  COOLDOWN_ABSORPTION: 31,
  /** Candidates emitted for this symbol (the detector fired; see the pool for drops). */
  CANDIDATES: 32,
  /** Usable quotes seen (spread statistics and micro-price start with the first). */
  QUOTES: 33,
} as const;

/** Words per half (fields above, padded so halves start on 64-byte boundaries). */
export const HALF_WORDS = 40;
/** Slots of the per-symbol price history ring (power of two). */
export const PRICE_SLOTS = 64;
/** Longest window a feature or detector may read from the price ring (see the crash note above). */
export const MAX_PRICE_WINDOW = PRICE_SLOTS - 2;
/** Words of the control area at the start of a symbol block. */
const CTRL_WORDS = 2;
export const HALF0 = CTRL_WORDS;
export const PRICES_OFFSET = CTRL_WORDS + 2 * HALF_WORDS;
export const STATE_STRIDE = PRICES_OFFSET + PRICE_SLOTS;

/** Int32 index (within the Int32 view) of a symbol's ACTIVE flag. */
const activeIndex = (sym: number): number => sym * STATE_STRIDE * 2;

/**
 * Typed access to a feature-state SharedArrayBuffer. Symbols are dense ids (symbol-table.ts);
 * a symbol's state is touched by one thread at a time (the owner of its shard).
 */
export class FeatureState {
  readonly sab: SharedArrayBuffer;
  readonly symbols: number;
  readonly f64: Float64Array;
  readonly i32: Int32Array;

  static byteLength(symbols: number): number {
    return symbols * STATE_STRIDE * 8;
  }

  /** Fresh state for `symbols` symbols: every symbol at "nothing applied". */
  static create(symbols: number): FeatureState {
    if (!Number.isInteger(symbols) || symbols < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'feature state: symbols must be a positive integer', {
        symbols,
      });
    }
    const st = new FeatureState(new SharedArrayBuffer(FeatureState.byteLength(symbols)));
    for (let s = 0; s < symbols; s++) {
      const b = s * STATE_STRIDE;
      st.f64[b + HALF0 + F.LAST_APPLIED_ABS] = -1;
      st.f64[b + HALF0 + HALF_WORDS + F.LAST_APPLIED_ABS] = -1;
    }
    return st;
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

  /** Word index of a symbol block. */
  block(sym: number): number {
    return sym * STATE_STRIDE;
  }

  /** Which half (0|1) holds the symbol's current state. */
  active(sym: number): number {
    return Atomics.load(this.i32, activeIndex(sym));
  }

  /** Word index of the symbol's current half (add F.* to read a field). */
  current(sym: number): number {
    return sym * STATE_STRIDE + HALF0 + Atomics.load(this.i32, activeIndex(sym)) * HALF_WORDS;
  }

  /** Make `half` the symbol's current state: the commit point of one applied tick. */
  flip(sym: number, half: number): void {
    Atomics.store(this.i32, activeIndex(sym), half);
  }

  /** Read a field of the symbol's current state. */
  get(sym: number, field: number): number {
    return this.f64[this.current(sym) + field]!;
  }

  /** The 8 model features of the symbol's current state, in FEATURE_NAMES order, into `out[at..at+8)`. */
  snapshot(sym: number, out: Float64Array | number[], at = 0): void {
    copyFeatures(this.f64, this.current(sym), out, at);
  }
}

/** Copy the 8 model features (FEATURE_NAMES order) of the half at word `h`. */
export function copyFeatures(f64: Float64Array, h: number, out: Float64Array | number[], at: number): void {
  out[at] = f64[h + F.EMA_FAST]!;
  out[at + 1] = f64[h + F.EMA_SLOW]!;
  out[at + 2] = f64[h + F.VWAP]!;
  out[at + 3] = f64[h + F.REALIZED_VOL]!;
  out[at + 4] = f64[h + F.OFI]!;
  out[at + 5] = f64[h + F.MICRO_PRICE]!;
  out[at + 6] = f64[h + F.SPREAD_Z]!;
  out[at + 7] = f64[h + F.MOMENTUM]!;
}
