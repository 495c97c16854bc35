import type { TickRecord, TickSink } from '../feeds/tick.ts';
import { TICK, usFromWords, usHi, usLo } from './layout.ts';
import type { RingBuffer } from './ring-buffer.ts';

/**
 * Typed views over back-to-back TICK records and where record `i` starts in each: a ring's data
 * region (`RingBuffer`, `i` a sequence) or a tick file's chunk (`RecordCodec`, `i` an index). The
 * one place the TICK layout is written and read field by field.
 */
export interface TickRecordViews {
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  base8(i: number): number;
  base32(i: number): number;
  base64(i: number): number;
}

/** Write one tick into the record of `seq` (in a ring: a claimed, unpublished sequence). */
export function writeTick(ring: TickRecordViews, seq: number, t: TickRecord): void {
  const b32 = ring.base32(seq);
  const u32 = ring.u32;
  u32[b32 + TICK.u32.symbolId] = t.symbolId;
  u32[b32 + TICK.u32.seqHi] = usHi(t.seq);
  u32[b32 + TICK.u32.seqLo] = usLo(t.seq);
  u32[b32 + TICK.u32.tsEventHi] = usHi(t.tsEventUs);
  u32[b32 + TICK.u32.tsEventLo] = usLo(t.tsEventUs);
  const b8 = ring.base8(seq);
  ring.u8[b8 + TICK.u8.kind] = t.kind;
  ring.i8[b8 + TICK.i8.aggressor] = t.aggressor;
  const b64 = ring.base64(seq);
  const f64 = ring.f64;
  f64[b64 + TICK.f64.price] = t.price;
  f64[b64 + TICK.f64.size] = t.size;
  f64[b64 + TICK.f64.bid] = t.bid;
  f64[b64 + TICK.f64.ask] = t.ask;
  f64[b64 + TICK.f64.bidSize] = t.bidSize;
  f64[b64 + TICK.f64.askSize] = t.askSize;
}

/** Read the record of `seq` into `out` (a reused object: no allocation). */
export function readTick(ring: TickRecordViews, seq: number, out: TickRecord): TickRecord {
  const b32 = ring.base32(seq);
  const u32 = ring.u32;
  out.symbolId = u32[b32 + TICK.u32.symbolId]!;
  out.seq = usFromWords(u32[b32 + TICK.u32.seqHi]!, u32[b32 + TICK.u32.seqLo]!);
  out.tsEventUs = usFromWords(u32[b32 + TICK.u32.tsEventHi]!, u32[b32 + TICK.u32.tsEventLo]!);
  const b8 = ring.base8(seq);
  out.kind = ring.u8[b8 + TICK.u8.kind]!;
  out.aggressor = ring.i8[b8 + TICK.i8.aggressor]!;
  const b64 = ring.base64(seq);
  const f64 = ring.f64;
  out.price = f64[b64 + TICK.f64.price]!;
  out.size = f64[b64 + TICK.f64.size]!;
  out.bid = f64[b64 + TICK.f64.bid]!;
  out.ask = f64[b64 + TICK.f64.ask]!;
  out.bidSize = f64[b64 + TICK.f64.bidSize]!;
  out.askSize = f64[b64 + TICK.f64.askSize]!;
  return out;
}

/** What the producer does when the slowest consumer has not freed a slot. */
export type BackpressurePolicy = 'block' | 'drop';

export interface TickRingWriterOptions {
  /** 'block': wait for the slowest consumer (the feed stalls); 'drop': discard and count. */
  policy: BackpressurePolicy;
  /**
   * Publish HEAD once per this many ticks. HEAD per tick cost ~27 ns/tick more than per 256 with
   * a consumer thread reading (engine/bench/ring.ts, bench/results/ring.json).
   */
  publishEvery: number;
  /**
   * 'block' only: the longest one wait for a slot (default 1000 ms). A consumer that has not freed
   * a slot for that long is dead or being restarted — and a restart is driven by the event loop of
   * the thread that is blocked here — so the tick is then dropped and counted in `dropped` and
   * `stalls` instead of deadlocking the feed.
   */
  blockTimeoutMs?: number;
}

/**
 * The producer side of a TICK ring for the feeds: one claim per tick, one HEAD store per
 * `publishEvery` ticks. The feed calls `flush()` when it has no more ticks for now (end of a
 * poll, a socket read, a replay chunk) so a partial batch never waits for the next burst.
 */
export class TickRingWriter implements TickSink {
  readonly ring: RingBuffer;
  readonly policy: BackpressurePolicy;
  private readonly publishEvery: number;
  private readonly blockTimeoutMs: number;
  private pending = 0;
  /** Ticks accepted into the ring since creation. */
  accepted = 0;
  /** Ticks discarded: the ring was full under 'drop', or stayed full past blockTimeoutMs under 'block'. */
  dropped = 0;
  /** 'block' waits that timed out (each also counted in `dropped`). */
  stalls = 0;

  constructor(ring: RingBuffer, options: TickRingWriterOptions) {
    this.ring = ring;
    this.policy = options.policy;
    this.publishEvery = Math.max(1, Math.min(options.publishEvery, ring.capacity));
    this.blockTimeoutMs = options.blockTimeoutMs ?? 1000;
  }

  /** Returns false when the tick was dropped (and counted in `dropped`). */
  publish(t: TickRecord): boolean {
    const ring = this.ring;
    let seq = ring.tryClaim(1);
    if (seq === -1) {
      // Full: publish what we hold first — consumers cannot free slots they cannot see.
      this.flush();
      if (this.policy === 'drop') {
        this.dropped++;
        return false;
      }
      seq = ring.claim(1, this.blockTimeoutMs);
      if (seq === -1) {
        this.stalls++;
        this.dropped++;
        return false;
      }
    }
    writeTick(ring, seq, t);
    this.accepted++;
    if (++this.pending >= this.publishEvery) this.flush();
    return true;
  }

  /** Publish every written tick now. */
  flush(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.ring.publish(this.ring.claimed());
  }
}
