/**
 * Memory layout of the engine's SharedArrayBuffer rings: the control header of every ring and the
 * field offsets of the three record types that travel through them (TICK, CANDIDATE, SCORED).
 *
 * A ring's SharedArrayBuffer:
 *
 *   byte 0        64            128           128+64            128+64*K        HEADER_BYTES(K)
 *   ┌─────────────┬─────────────┬─────────────┬───────┬─────────────┬──────────────────────────────┐
 *   │ params line │ head line   │ cursor 0    │  ...  │ cursor K-1  │ data: capacity × recordBytes │
 *   │ magic,ver,  │ HEAD,       │ CURSOR,     │       │             │ slot = seq & (capacity - 1)  │
 *   │ capacity,   │ SLEEPERS,   │             │       │             │                              │
 *   │ recordBytes,│ PRODUCER_   │             │       │             │                              │
 *   │ consumers   │ WAITING,    │             │       │             │                              │
 *   │             │ DOORBELL,   │             │       │             │                              │
 *   │             │ PROD._WANTS,│             │       │             │                              │
 *   │             │ WAKE_AT     │             │       │             │                              │
 *   └─────────────┴─────────────┴─────────────┴───────┴─────────────┴──────────────────────────────┘
 *
 * Every control word is an Int32 so that `Atomics.wait/notify` work on it. The producer's words
 * (HEAD) and each consumer's cursor sit on their own 64-byte cache line: the producer and K
 * consumers write different lines, so no two threads false-share a line they both write.
 *
 * Sequences are u32 counters that wrap modulo 2^32 (stored as Int32 bits). They are never
 * compared with `<`: the ring only ever needs the distance between two sequences, computed as
 * `(a - b) >>> 0`, which is exact across the wrap as long as the true distance is below 2^32.
 * The distance between any two live sequences is at most `capacity` (≤ 2^30), so the counters
 * cannot overflow in any sense that matters — a ring moving 100 M records/s wraps every 43 s and
 * keeps working. (Two-word 64-bit counters were rejected: a pair of Int32s cannot be read
 * atomically without a seqlock, and Atomics.wait needs a single Int32 word; BigInt64 arithmetic
 * allocates and is banned from the hot path.) Where an absolute
 * position is needed (the feature pool's idempotence markers) it is kept as a Float64 beside the
 * ring, exact to 2^53.
 */

/** Bytes per cache line; control words that different threads write live on different lines. */
export const CACHE_LINE_BYTES = 64;
/** Int32 words per cache line. */
const LINE_WORDS = CACHE_LINE_BYTES / 4;

export const RING_MAGIC = 0x41524e47; // 'ARNG'
export const RING_VERSION = 1;
/** Upper bound of consumers per ring (the header is sized for the actual count). */
export const RING_MAX_CONSUMERS = 16;
/** Upper bound of capacity: keeps every live distance below 2^31 (see the wrap note above). */
export const RING_MAX_CAPACITY = 2 ** 30;

/** Int32 word indexes of the control header. */
export const CTRL = {
  MAGIC: 0,
  VERSION: 1,
  CAPACITY: 2,
  RECORD_BYTES: 3,
  CONSUMERS: 4,
  /** Published end (exclusive) of the readable records: the producer stores it once per batch. */
  HEAD: LINE_WORDS,
  /** Number of consumers blocked (or about to block) in Atomics.wait on HEAD. */
  SLEEPERS: LINE_WORDS + 1,
  /** 1 while the producer is blocked (or about to block) waiting for a cursor to move. */
  PRODUCER_WAITING: LINE_WORDS + 2,
  /**
   * 0, or `slot + 1` of the doorbell (ring/doorbell.ts) the ring's sleeping consumer parks on when
   * it sleeps on several rings at once; written by that consumer when it takes the ring over.
   */
  DOORBELL: LINE_WORDS + 3,
  /**
   * While PRODUCER_WAITING: the cursor value that frees the room the producer waits for. A
   * consumer's commit notifies only once its cursor reaches it, so a producer waiting for a large
   * claim is woken once, not at every batch commit.
   */
  PRODUCER_WANTS: LINE_WORDS + 4,
  /**
   * 0, or the HEAD a sleeping consumer wants before it is woken (a batch being formed that only
   * needs waking once it can be full). Only a ring's sole sleeping consumer may set it.
   */
  WAKE_AT: LINE_WORDS + 5,
  /** First consumer cursor; consumer i's cursor is at CURSOR_BASE + i * CURSOR_STRIDE. */
  CURSOR_BASE: 2 * LINE_WORDS,
  CURSOR_STRIDE: LINE_WORDS,
} as const;

/** Bytes of the control header for a ring with `consumers` cursors (a multiple of 64). */
export function ringHeaderBytes(consumers: number): number {
  return 2 * CACHE_LINE_BYTES + consumers * CACHE_LINE_BYTES;
}

/* ------------------------------------------------------------------------------------------------
 * Record layouts. Each record type lists its fields per typed view, as an index in units of that
 * view relative to the record's base index in the same view (the ring's `base64(seq)`,
 * `base32(seq)`, `base16(seq)`, `base8(seq)`). Byte offsets are in the comments; every record is
 * a multiple of 8 bytes so f64 fields stay aligned in every slot.
 * ---------------------------------------------------------------------------------------------- */

/** Tick kinds (TICK.u8.kind). */
export const TICK_KIND = { trade: 1, quote: 2 } as const;

/**
 * TICK record, 72 bytes (feeds → feature workers and the writer).
 *
 *   byte  0 u32 symbolId     byte 20 u8 kind (1 trade, 2 quote)
 *   byte  4 u32 seqHi        byte 21 i8 aggressor (+1 buy, -1 sell, 0 unknown)
 *   byte  8 u32 seqLo        byte 22..23 padding
 *   byte 12 u32 tsEventHi    byte 24 f64 price   32 size   40 bid   48 ask   56 bidSize   64 askSize
 *   byte 16 u32 tsEventLo
 *
 * tsEvent is microseconds since the epoch split as hi * 2^32 + lo (two u32 words, no BigInt).
 */
export const TICK = {
  bytes: 72,
  u32: { symbolId: 0, seqHi: 1, seqLo: 2, tsEventHi: 3, tsEventLo: 4 },
  u8: { kind: 20 },
  i8: { aggressor: 21 },
  f64: { price: 3, size: 4, bid: 5, ask: 6, bidSize: 7, askSize: 8 },
} as const;

/** Candidate patterns (CANDIDATE.u8.pattern). */
export const PATTERN = { breakout: 1, mean_reversion: 2, absorption: 3 } as const;
export type PatternCode = (typeof PATTERN)[keyof typeof PATTERN];
export const PATTERN_NAMES: Readonly<Record<number, 'breakout' | 'mean_reversion' | 'absorption'>> = {
  1: 'breakout',
  2: 'mean_reversion',
  3: 'absorption',
};

/**
 * Order of the raw feature vector in CANDIDATE/SCORED records, in the signals' `features` JSON and
 * in model/inputs.ts (definitions: features/state.ts F and features/update.ts). The first eight
 * keep their historical places (the `features` table's columns).
 */
export const FEATURE_NAMES = [
  'emaFast',
  'emaSlow',
  'vwap',
  /** Per-tick volatility of the mid's log returns. */
  'realizedVol',
  /** Cont–Kukanov–Stoikov order-flow imbalance over the usual touch depth. */
  'orderFlowImbalance',
  'microPrice',
  'spreadZ',
  'momentum',
  'tradeImbalanceFast',
  'tradeImbalance',
  'tradeImbalanceSlow',
  'depthImbalance',
  'depthChange',
  'volumeRatio',
  'deviationZ',
  'bookAvailability',
  'tradeRate',
  'volumeTrend',
] as const;
export const FEATURE_COUNT = FEATURE_NAMES.length;

/**
 * CANDIDATE record, 176 bytes (feature workers → inference thread).
 *
 *   byte  0 u32 candidateId   low 32 bits of the source tick's sequence in the shard's tick ring:
 *                             (shard, candidateId) is unique, and a replay after a worker crash
 *                             re-derives the same id (used to drop a duplicate, see pool/)
 *   byte  4 u32 symbolId
 *   byte  8 u32 tsEventHi     byte 16 u8 pattern (PATTERN)   byte 17 i8 direction (+1 long, -1 short)
 *   byte 12 u32 tsEventLo     byte 18..23 padding
 *   byte 24 f64 price
 *   byte 32 f64 features[18]  FEATURE_NAMES order
 */
export const CANDIDATE = {
  bytes: 32 + FEATURE_COUNT * 8,
  u32: { candidateId: 0, symbolId: 1, tsEventHi: 2, tsEventLo: 3 },
  u8: { pattern: 16 },
  i8: { direction: 17 },
  f64: { price: 3, features: 4 },
} as const;

/**
 * SCORED record, 192 bytes (inference thread → main thread / writer): the CANDIDATE fields at the
 * same offsets, then (C = CANDIDATE.bytes = 176)
 *
 *   byte C+0  f32 score
 *   byte C+4  u16 inferenceBatchSize
 *   byte C+6  u16 shard           the shard whose candidate ring the candidate came from
 *   byte C+8  u32 tsSignalHi      microseconds since the epoch, hi * 2^32 + lo
 *   byte C+12 u32 tsSignalLo
 */
export const SCORED = {
  bytes: CANDIDATE.bytes + 16,
  u32: { ...CANDIDATE.u32, tsSignalHi: CANDIDATE.bytes / 4 + 2, tsSignalLo: CANDIDATE.bytes / 4 + 3 },
  u8: CANDIDATE.u8,
  i8: CANDIDATE.i8,
  u16: { inferenceBatchSize: CANDIDATE.bytes / 2 + 2, shard: CANDIDATE.bytes / 2 + 3 },
  f32: { score: CANDIDATE.bytes / 4 },
  f64: CANDIDATE.f64,
} as const;

const TWO_POW_32 = 4294967296;
const TWO_POW_MINUS_32 = 1 / TWO_POW_32;

/** Microseconds (a non-negative integer below 2^53) → high u32 word. */
export function usHi(us: number): number {
  // Multiplying by 2^-32 is exact (a power of two); ToUint32 then truncates: no division.
  return (us * TWO_POW_MINUS_32) >>> 0;
}

/** Microseconds (an integer below 2^53) → low u32 word. */
export function usLo(us: number): number {
  // ToUint32 of an integer-valued double is its value modulo 2^32, exactly.
  return us >>> 0;
}

/** Two u32 words → microseconds as a double (exact below 2^53 µs ≈ 285 years). */
export function usFromWords(hi: number, lo: number): number {
  return hi * TWO_POW_32 + lo;
}
