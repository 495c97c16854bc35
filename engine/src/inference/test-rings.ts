/**
 * Test support for the inference thread's suites (inference-thread.test.ts,
 * inference-crash.test.ts): candidates as the feature workers write them, the scored ring read as
 * the main thread reads it, the TypeScript model's reference scores, and fresh rings. Imported by
 * tests only.
 */
import { MODEL_INPUT_SIZE, toModelInputs } from '../model/inputs.ts';
import { mlpForward } from '../model/mlp.ts';
import { loadModelFile } from '../model/model-file.ts';
import type { SeededRandom } from '../random/seeded-random.ts';
import { CANDIDATE, FEATURE_COUNT, SCORED, usFromWords, usHi, usLo } from '../ring/layout.ts';
import { RingBuffer } from '../ring/ring-buffer.ts';

export interface Candidate {
  id: number;
  symbolId: number;
  tsEventUs: number;
  pattern: number;
  direction: number;
  price: number;
  features: Float64Array;
}

export function randomCandidate(rng: SeededRandom, id: number): Candidate {
  const price = 10 + rng.next() * 990;
  const features = Float64Array.of(
    price * (1 + rng.normal() * 5e-4),
    price * (1 + rng.normal() * 5e-4),
    price * (1 + rng.normal() * 2e-3),
    Math.abs(rng.normal()) * 2e-4,
    rng.next() * 2 - 1,
    price * (1 + rng.normal() * 1e-4),
    rng.normal() * 2,
    rng.normal() * 2e-3,
    rng.next() * 2 - 1, // tradeImbalanceFast
    rng.next() * 2 - 1, // tradeImbalance
    rng.next() * 2 - 1, // tradeImbalanceSlow
    rng.next() * 2 - 1, // depthImbalance
    rng.normal() * 0.5, // depthChange
    Math.exp(rng.normal() * 0.5), // volumeRatio
    rng.normal() * 2, // deviationZ
    rng.next(), // bookAvailability
    rng.next(), // tradeRate
    Math.exp(rng.normal() * 0.3), // volumeTrend
  );
  return {
    id,
    symbolId: rng.int(1000),
    tsEventUs: 1_764_000_000_000_000 + id * 37,
    pattern: 1 + rng.int(3),
    direction: rng.next() < 0.5 ? -1 : 1,
    price,
    features,
  };
}

/** Writes candidates into a candidate ring as the feature workers do (claim, fill, publish once). */
export function produce(ring: RingBuffer, cands: readonly Candidate[]): void {
  const first = ring.claim(cands.length, 5_000);
  if (first === -1) throw new Error('candidate ring full');
  for (const [k, c] of cands.entries()) {
    const seq = (first + k) >>> 0;
    const b32 = ring.base32(seq);
    const b8 = ring.base8(seq);
    const b64 = ring.base64(seq);
    ring.u32[b32 + CANDIDATE.u32.candidateId] = c.id;
    ring.u32[b32 + CANDIDATE.u32.symbolId] = c.symbolId;
    ring.u32[b32 + CANDIDATE.u32.tsEventHi] = usHi(c.tsEventUs);
    ring.u32[b32 + CANDIDATE.u32.tsEventLo] = usLo(c.tsEventUs);
    ring.u8[b8 + CANDIDATE.u8.pattern] = c.pattern;
    ring.i8[b8 + CANDIDATE.i8.direction] = c.direction;
    ring.f64[b64 + CANDIDATE.f64.price] = c.price;
    ring.f64.set(c.features, b64 + CANDIDATE.f64.features);
  }
  ring.publish((first + cands.length) >>> 0);
}

export interface Scored {
  id: number;
  symbolId: number;
  tsEventUs: number;
  tsSignalUs: number;
  pattern: number;
  direction: number;
  price: number;
  features: number[];
  score: number;
  batchSize: number;
  shard: number;
}

/** Reads `n` SCORED records as the main thread does (async wait, commit per batch). */
export async function consume(ring: RingBuffer, n: number): Promise<Scored[]> {
  const out: Scored[] = [];
  while (out.length < n) {
    const readable = await ring.waitForDataAsync(0, 10_000);
    if (readable === 0) throw new Error(`timed out after ${out.length} of ${n} scored records`);
    const avail = Math.min(readable, n - out.length);
    const from = ring.cursor(0);
    for (let k = 0; k < avail; k++) {
      const seq = (from + k) >>> 0;
      const b32 = ring.base32(seq);
      const b16 = ring.base16(seq);
      const b8 = ring.base8(seq);
      const b64 = ring.base64(seq);
      out.push({
        id: ring.u32[b32 + SCORED.u32.candidateId]!,
        symbolId: ring.u32[b32 + SCORED.u32.symbolId]!,
        tsEventUs: usFromWords(ring.u32[b32 + SCORED.u32.tsEventHi]!, ring.u32[b32 + SCORED.u32.tsEventLo]!),
        tsSignalUs: usFromWords(
          ring.u32[b32 + SCORED.u32.tsSignalHi]!,
          ring.u32[b32 + SCORED.u32.tsSignalLo]!,
        ),
        pattern: ring.u8[b8 + SCORED.u8.pattern]!,
        direction: ring.i8[b8 + SCORED.i8.direction]!,
        price: ring.f64[b64 + SCORED.f64.price]!,
        features: Array.from(
          ring.f64.subarray(b64 + SCORED.f64.features, b64 + SCORED.f64.features + FEATURE_COUNT),
        ),
        score: ring.f32[b32 + SCORED.f32.score]!,
        batchSize: ring.u16[b16 + SCORED.u16.inferenceBatchSize]!,
        shard: ring.u16[b16 + SCORED.u16.shard]!,
      });
    }
    ring.commit(0, (from + avail) >>> 0);
  }
  return out;
}

export async function referenceScores(cands: readonly Candidate[]): Promise<Map<number, number>> {
  const { model } = await loadModelFile();
  const x = new Float32Array(cands.length * MODEL_INPUT_SIZE);
  cands.forEach((c, i) => {
    toModelInputs(c.features, c.price, c.pattern, c.direction, x, i * MODEL_INPUT_SIZE);
  });
  const p = new Float64Array(cands.length);
  mlpForward(model, x, cands.length, p);
  return new Map(cands.map((c, i) => [c.id, p[i]!]));
}

export function rings(shards: number, candidateCapacity = 1024, scoredCapacity = 4096) {
  const candidateRings = Array.from({ length: shards }, () =>
    RingBuffer.create({ capacity: candidateCapacity, recordBytes: CANDIDATE.bytes, consumers: 1 }),
  );
  const scoredRing = RingBuffer.create({ capacity: scoredCapacity, recordBytes: SCORED.bytes, consumers: 1 });
  return { candidateRings, scoredRing };
}
