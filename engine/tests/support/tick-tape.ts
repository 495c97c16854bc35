import { Mulberry32 } from '../../src/random/seeded-random.ts';
import { TICK, TICK_KIND, usHi, usLo } from '../../src/ring/layout.ts';
import type { RingBuffer } from '../../src/ring/ring-buffer.ts';

/**
 * A deterministic tape of TICK records (the ring's record layout, back to back) for tests and
 * benchmarks: per-symbol mid prices as a random walk with jumps, a spread that widens now and then,
 * and bursts of one-sided aggressive flow — some that move the price (breakouts) and some that
 * do not (absorption) — so that every detector fires. Same seed, same bytes.
 */
export interface TickTape {
  count: number;
  symbols: number;
  /** count × TICK.bytes bytes. */
  u32: Uint32Array;
  f64: Float64Array;
  u8: Uint8Array;
  i8: Int8Array;
}

export interface TapeOptions {
  seed: number;
  symbols: number;
  ticks: number;
  startUs?: number;
  /** Event-time step between consecutive ticks (any symbol), µs. */
  stepUs?: number;
}

/** Uniform draws in [0, 1) from the engine's seeded generator (mulberry32: the tapes' sequence). */
export function rng(seed: number): () => number {
  const r = new Mulberry32(seed);
  return () => r.next();
}

export function generateTape(o: TapeOptions): TickTape {
  const random = rng(o.seed);
  const gauss = (): number => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const n = o.ticks;
  const buf = new ArrayBuffer(n * TICK.bytes);
  const tape: TickTape = {
    count: n,
    symbols: o.symbols,
    u32: new Uint32Array(buf),
    f64: new Float64Array(buf),
    u8: new Uint8Array(buf),
    i8: new Int8Array(buf),
  };
  const mid = Float64Array.from({ length: o.symbols }, (_, i) => 50 + ((i * 37) % 200));
  const burstLeft = new Int32Array(o.symbols);
  const burstDir = new Int8Array(o.symbols);
  const burstMoves = new Uint8Array(o.symbols);
  const seq = new Float64Array(o.symbols);
  let ts = o.startUs ?? 1_764_000_000_000_000;
  const step = o.stepUs ?? 10;
  for (let i = 0; i < n; i++) {
    const s = Math.floor(random() * o.symbols);
    ts += step;
    if (burstLeft[s] === 0 && random() < 0.01) {
      burstLeft[s] = 20 + Math.floor(random() * 40);
      burstDir[s] = random() < 0.5 ? -1 : 1;
      burstMoves[s] = random() < 0.6 ? 1 : 0;
    }
    const inBurst = burstLeft[s]! > 0;
    if (inBurst) burstLeft[s]!--;
    let m = mid[s]!;
    const drift = inBurst && burstMoves[s] ? burstDir[s]! * 0.0015 : 0;
    const jump = random() < 0.001 ? gauss() * 0.02 : 0;
    m *= Math.exp(drift + jump + gauss() * (inBurst && !burstMoves[s] ? 0.00002 : 0.0004));
    mid[s] = m;
    const spread = m * (random() < 0.02 ? 0.004 : 0.0005 + random() * 0.0005);
    const bid = m - spread / 2;
    const ask = m + spread / 2;
    const isTrade = random() < 0.5;
    let aggressor = 0;
    let size = 0;
    let price = 0;
    if (isTrade) {
      aggressor = inBurst ? (random() < 0.9 ? burstDir[s]! : -burstDir[s]!) : random() < 0.5 ? 1 : -1;
      size = Math.round((1 + random() * 9) * (inBurst ? 5 : 1));
      price = aggressor > 0 ? ask : bid;
    }
    const b32 = i * (TICK.bytes / 4);
    const b64 = i * (TICK.bytes / 8);
    const b8 = i * TICK.bytes;
    const sq = ++seq[s]!;
    tape.u32[b32 + TICK.u32.symbolId] = s;
    tape.u32[b32 + TICK.u32.seqHi] = usHi(sq);
    tape.u32[b32 + TICK.u32.seqLo] = usLo(sq);
    tape.u32[b32 + TICK.u32.tsEventHi] = usHi(ts);
    tape.u32[b32 + TICK.u32.tsEventLo] = usLo(ts);
    tape.u8[b8 + TICK.u8.kind] = isTrade ? TICK_KIND.trade : TICK_KIND.quote;
    tape.i8[b8 + TICK.i8.aggressor] = aggressor;
    tape.f64[b64 + TICK.f64.price] = price;
    tape.f64[b64 + TICK.f64.size] = size;
    tape.f64[b64 + TICK.f64.bid] = bid;
    tape.f64[b64 + TICK.f64.ask] = ask;
    tape.f64[b64 + TICK.f64.bidSize] = Math.round(1 + random() * 20);
    tape.f64[b64 + TICK.f64.askSize] = Math.round(1 + random() * 20);
  }
  return tape;
}

const WORDS = TICK.bytes / 4;

/** Copy tape record `i` into the ring record of `seq` (18 u32 words: bit-exact, no allocation). */
export function copyTick(tape: TickTape, i: number, ring: RingBuffer, seq: number): void {
  const src = i * WORDS;
  const dst = ring.base32(seq);
  const from = tape.u32;
  const to = ring.u32;
  for (let w = 0; w < WORDS; w++) to[dst + w] = from[src + w]!;
}

/** Shard of tape record `i`. */
export function tapeSymbol(tape: TickTape, i: number): number {
  return tape.u32[i * WORDS + TICK.u32.symbolId]!;
}

/**
 * Feed the whole tape into per-shard tick rings from this thread (blocking claims: the consumers
 * must run elsewhere), publishing every `publishEvery` ticks per ring and at the end.
 */
export function feedTape(tape: TickTape, rings: RingBuffer[], publishEvery = 64): void {
  const shards = rings.length;
  const pending = new Int32Array(shards);
  for (let i = 0; i < tape.count; i++) {
    const shard = tapeSymbol(tape, i) % shards;
    const ring = rings[shard]!;
    let seq = ring.tryClaim(1);
    if (seq === -1) {
      for (let s = 0; s < shards; s++) flush(rings, pending, s);
      seq = ring.claim(1);
    }
    copyTick(tape, i, ring, seq);
    if (++pending[shard]! >= publishEvery) flush(rings, pending, shard);
  }
  for (let s = 0; s < shards; s++) flush(rings, pending, s);
}

function flush(rings: RingBuffer[], pending: Int32Array, s: number): void {
  if (pending[s] === 0) return;
  pending[s] = 0;
  rings[s]!.publish(rings[s]!.claimed());
}
