import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CandidateRow,
  drainCandidates,
  makeRings,
  nextPow2,
  processorOn,
  runReference,
} from '../../tests/support/pipeline-reference.ts';
import { feedTape, generateTape } from '../../tests/support/tick-tape.ts';
import { coefficients, DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS } from '../features/params.ts';
import { F, FeatureState, FIELD_WORDS, HALF0, STATE_STRIDE, STATE_WORDS } from '../features/state.ts';
import { TICK } from '../ring/layout.ts';
import { SHARD, ShardControl } from './shard-control.ts';

/**
 * Crash recovery, made deterministic: a worker terminated at any instruction leaves the shared
 * memory in one of a few states (shard-processor.ts). Each test builds exactly such a state —
 * part of a batch applied but the cursor not committed (with or without ABS_HINT stored), or a
 * candidate published but its tick not flipped — lets a fresh processor take over, and compares
 * the candidates and the whole feature state, byte for byte, with an uninterrupted run.
 */
const SHARDS = 2;
const tape = generateTape({ seed: 7, symbols: 24, ticks: 30_000, stepUs: 1000 });
const reference = runReference(tape, SHARDS);
const k = coefficients(DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS);

function setup() {
  const rings = makeRings(SHARDS, nextPow2(tape.count), nextPow2(tape.count));
  const state = FeatureState.create(tape.symbols);
  const control = ShardControl.create(SHARDS);
  feedTape(tape, rings.ticks);
  const processor = (shard: number) =>
    processorOn(rings, shard, { shards: SHARDS, state, control, coefficients: k });
  const finish = () => {
    const candidates: CandidateRow[] = [];
    for (let s = 0; s < SHARDS; s++) {
      const p = processor(s);
      while (p.processBatch(256) > 0);
      drainCandidates(rings.candidates[s]!, s, candidates);
    }
    return candidates;
  };
  /** Roll shard 0's cursor back (a crash before its commit), optionally its ABS_HINT too. */
  const rollBack = (to: number, hintToo: boolean) => {
    rings.ticks[0]!.commit(0, to);
    if (hintToo) control.f64[control.at(0, SHARD.ABS_HINT)] = to;
  };
  return { rings, state, control, processor, finish, rollBack };
}

function expectSameAsReference(candidates: CandidateRow[], state: FeatureState): void {
  expect(candidates).toEqual(reference.candidates);
  expect(Buffer.from(state.sab).equals(Buffer.from(reference.state.sab))).toBe(true);
}

describe('ShardProcessor crash recovery', () => {
  it('part of a batch applied, cursor not committed, a next half half-written: exact takeover', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 14_000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.boolean(),
        fc.integer({ min: 0, max: FIELD_WORDS }),
        (x, j, hintToo, torn) => {
          const t = setup();
          const p = t.processor(0);
          let done = 0;
          while (done < x) done += p.processBatch(Math.min(256, x - done));
          const applied = p.processBatch(j);
          t.rollBack(done, hintToo);
          // The next tick's computation was under way when the worker died: garbage in the
          // inactive half of its symbol.
          const next = done + applied;
          if (next < t.rings.ticks[0]!.head()) {
            const sym = t.rings.ticks[0]!.u32[t.rings.ticks[0]!.base32(next) + TICK.u32.symbolId]!;
            const nxt = sym * STATE_STRIDE + HALF0 + (1 - t.state.active(sym)) * STATE_WORDS;
            t.state.f64.fill(Number.NaN, nxt + torn, nxt + FIELD_WORDS);
          }
          const candidates = t.finish();
          expectSameAsReference(candidates, t.state);
          expect(t.control.get(0, SHARD.REPLAY_SKIPPED)).toBe(applied);
          expect(t.control.get(0, SHARD.DUPLICATES_SKIPPED)).toBe(0);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('candidate published, its tick not flipped: the replay finds it and does not write it twice', () => {
    const shard0 = reference.candidates.filter((c) => c.shard === 0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: shard0.length - 1 }), (which) => {
        const target = shard0[which]!.candidateId; // = the tick's position in shard 0's ring
        const t = setup();
        const p = t.processor(0);
        let done = 0;
        while (done < target) done += p.processBatch(Math.min(256, target - done));
        expect(p.processBatch(1)).toBe(1); // emits the candidate, flips, commits
        expect(t.rings.candidates[0]!.readable(0)).toBe(which + 1);
        // Undo the flip and the commit: the state a crash between publish and flip leaves.
        const sym = t.rings.ticks[0]!.u32[t.rings.ticks[0]!.base32(target) + TICK.u32.symbolId]!;
        t.state.flip(sym, 1 - t.state.active(sym));
        t.rollBack(target, true);
        const candidates = t.finish();
        expectSameAsReference(candidates, t.state);
        expect(t.control.get(0, SHARD.DUPLICATES_SKIPPED)).toBe(1);
      }),
      { numRuns: 8 },
    );
  });

  it('a candidate ring that is full under the drop policy drops and counts, never blocks', () => {
    const rings = makeRings(1, nextPow2(tape.count), 4);
    const state = FeatureState.create(tape.symbols);
    const control = ShardControl.create(1);
    feedTape(tape, rings.ticks);
    const p = processorOn(rings, 0, { shards: 1, state, control, coefficients: k, candidatePolicy: 'drop' });
    while (p.processBatch(256) > 0);
    const total = reference.candidates.length;
    expect(rings.candidates[0]!.readable(0)).toBe(4);
    expect(control.get(0, SHARD.CANDIDATES_DROPPED)).toBe(total - 4);
  });

  it('a tick whose symbol belongs to another shard (or to no symbol) is skipped and counted', () => {
    const rings = makeRings(3, 16, 16);
    const state = FeatureState.create(9);
    const control = ShardControl.create(3);
    const ring = rings.ticks[1]!;
    for (const sym of [1, 2, 4, 100]) {
      const seq = ring.tryClaim(1);
      ring.u32[ring.base32(seq) + TICK.u32.symbolId] = sym;
      ring.u8[ring.base8(seq) + TICK.u8.kind] = 2;
      ring.f64[ring.base64(seq) + TICK.f64.bid] = 10;
      ring.f64[ring.base64(seq) + TICK.f64.ask] = 11;
      ring.f64[ring.base64(seq) + TICK.f64.bidSize] = 1;
      ring.publish((seq + 1) >>> 0);
    }
    const p = processorOn(rings, 1, { shards: 3, state, control, coefficients: k, candidatePolicy: 'drop' });
    expect(p.processBatch(16)).toBe(4);
    expect(control.get(1, SHARD.MISROUTED)).toBe(2); // 2 (shard 2) and 100 (no such symbol)
    expect([1, 2, 4].map((s) => state.get(s, F.TICKS))).toEqual([1, 0, 1]);
  });
});
