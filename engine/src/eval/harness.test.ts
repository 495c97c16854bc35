import { describe, expect, it } from 'vitest';
import { MODEL_INPUT_SIZE } from '../model/inputs.ts';
import { collectCandidates, runMarkets } from './harness.ts';

describe('harness as a library', () => {
  const opts = { symbols: 4, ticksPerSeed: 60_000 } as const;

  it('collects model-ready candidates with labels and metadata aligned row by row', () => {
    const c = collectCandidates([7, 8], opts);
    expect(c.set.n).toBeGreaterThan(50);
    expect(c.set.d).toBe(MODEL_INPUT_SIZE);
    expect(c.set.x).toHaveLength(c.set.n * MODEL_INPUT_SIZE);
    expect(c.meta).toHaveLength(c.set.n);
    expect(new Set(c.meta.map((m) => m.seed))).toEqual(new Set([7, 8]));
    for (let i = 0; i < c.set.n; i++) {
      const m = c.meta[i]!;
      // The label is the sign of the main-horizon forward return the metadata carries.
      expect(c.set.y[i]).toBe(m.forwardBp[0]! > 0 ? 1 : 0);
      expect(Math.abs(m.direction)).toBe(1);
      const mids = c.runs[m.run]!.mids[m.symbol]!;
      expect(m.tick + c.horizons[0]!).toBeLessThan(mids.length);
      // A tradable event's window implies a labelled window of the same kind.
      if (m.eventKind !== null) expect(m.windowKind).toBe(m.eventKind);
    }
    expect(c.set.x.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('is deterministic: the same seeds and parameters give the same candidates', () => {
    const a = runMarkets([9], opts)[0]!;
    const b = runMarkets([9], opts)[0]!;
    expect(a.candidates.length).toBeGreaterThan(0);
    expect(b.candidates).toEqual(a.candidates);
    expect(b.events).toEqual(a.events);
  });
});
