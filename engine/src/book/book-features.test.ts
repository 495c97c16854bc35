import { AppError } from '@aegis/shared/errors';
import { bookFeaturesSchema } from '@aegis/shared/market/venue-books';
import { describe, expect, it } from 'vitest';
import { BookFeaturesReader, depthImbalance, withdrawalShare } from './book-features.ts';
import { BookRegistry } from './book-registry.ts';
import { ASK, BID } from './book-sink.ts';

const T0 = Date.UTC(2026, 11, 4, 12) * 1000;
const MS = 1000; // µs

/** Bids 100, 99, 98 (sizes 1, 2, 3); asks 101, 102 (sizes 4, 6). */
function booked(options: ConstructorParameters<typeof BookRegistry>[1] = {}): BookRegistry {
  const r = new BookRegistry(4, { withdrawalWindowMs: 1000, tradeMatchMs: 500, ...options });
  r.snapshot(1, [100, 1, 99, 2, 98, 3], 3, [101, 4, 102, 6], 2, T0);
  return r;
}

describe('book features', () => {
  it('depth imbalance over the N best levels', () => {
    expect(booked().features(1)).toEqual({ imbalance: (6 - 10) / 16, levels: 10, withdrawal: 0 });
    // N = 2: bids 1 + 2 = 3, asks 4 + 6 = 10.
    expect(booked({ levels: 2 }).features(1)?.imbalance).toBeCloseTo(-7 / 13, 15);
    // N = 1: 1 vs 4.
    expect(booked({ levels: 1 }).features(1)?.imbalance).toBeCloseTo(-3 / 5, 15);
    expect(depthImbalance(0, 0)).toBe(0);
    expect(depthImbalance(5, 0)).toBe(1);
    expect(depthImbalance(0, 5)).toBe(-1);
    expect(withdrawalShare(0, 0)).toBe(0);
    expect(withdrawalShare(3, 1)).toBe(0.75);
  });

  it('withdrawal: cancelled top-N depth over (cancelled + standing), decaying with the window', () => {
    const r = booked();
    r.update(1, ASK, 102, 1, T0 + 10 * MS); // 5 pulled: W = 5, D = 6 + 5 = 11
    expect(r.features(1)?.withdrawal).toBeCloseTo(5 / 16, 12);
    r.update(1, BID, 98, 0, T0 + 20 * MS); // level of 3 removed: W = 5·e^(−0.01) + 3, D = 3 + 5 = 8
    const w = 5 * Math.exp(-0.01) + 3;
    expect(r.features(1)?.withdrawal).toBeCloseTo(w / (w + 8), 12);
    // One window (τ = 1 s) later, a new level (not a withdrawal) just moves time: W·e^(−1).
    r.update(1, BID, 97, 4, T0 + 1020 * MS);
    const w2 = w * Math.exp(-1);
    expect(r.features(1)?.withdrawal).toBeCloseTo(w2 / (w2 + 12), 12);
    const f = r.features(1);
    expect(bookFeaturesSchema.safeParse(f).success).toBe(true);
  });

  it('depth taken by a trade at that price is not withdrawal, in either arrival order', () => {
    // Trade first, then the level shrinks by the traded size (and a bit more: a real cancel).
    const a = booked();
    a.trade(1, 101, 3, T0 + 5 * MS);
    a.update(1, ASK, 101, 0, T0 + 6 * MS); // 4 gone: 3 traded, 1 cancelled; W = 1, D = 6 + 6 = 12
    expect(a.features(1)?.withdrawal).toBeCloseTo(1 / 13, 12);
    // The level shrinks first, the trade that explains it arrives 100 ms later: refunded.
    const b = booked();
    b.update(1, BID, 100, 0, T0 + 5 * MS); // 1 gone, not yet explained
    expect(b.features(1)?.withdrawal).toBeGreaterThan(0);
    b.trade(1, 100, 1, T0 + 105 * MS);
    expect(b.features(1)?.withdrawal).toBeCloseTo(0, 12);
    // A trade at ANOTHER price explains nothing.
    const c = booked();
    c.trade(1, 99, 2, T0 + 5 * MS);
    c.update(1, BID, 100, 0, T0 + 6 * MS);
    expect(c.features(1)?.withdrawal).toBeCloseTo(1 / (1 + 5 + 10), 12);
  });

  it('a trade older than the match window explains nothing', () => {
    const r = booked();
    r.trade(1, 101, 4, T0);
    r.update(1, ASK, 101, 0, T0 + 600 * MS); // tradeMatchMs = 500
    const w = 4; // counted at T0 + 600 ms, evaluated at that time
    expect(r.features(1)?.withdrawal).toBeCloseTo(w / (w + 6 + 6), 12); // D: bids 6, asks 6
  });

  it('ignores decreases outside the top N, size increases, uncrossing and snapshots', () => {
    const r = booked({ levels: 2 });
    r.update(1, BID, 98, 0, T0 + 1 * MS); // third level: outside N = 2
    r.update(1, BID, 99, 9, T0 + 2 * MS); // an increase
    r.update(1, BID, 101.5, 1, T0 + 3 * MS); // crosses: the ask at 101 is dropped, not withdrawn
    r.snapshot(1, [100, 1], 1, [101, 1], 1, T0 + 4 * MS); // depth replaced by a resync
    expect(r.features(1)?.withdrawal).toBe(0);
    expect(r.crossedLevelsDropped).toBe(1);
  });

  it('forgets the withdrawal history when the book is cleared', () => {
    const r = booked();
    r.update(1, ASK, 102, 0, T0 + 1 * MS);
    expect(r.features(1)?.withdrawal).toBeGreaterThan(0);
    r.clear(1);
    expect(r.features(1)).toBeNull();
    r.snapshot(1, [100, 1], 1, [101, 1], 1, T0 + 2 * MS);
    expect(r.features(1)).toEqual({ imbalance: 0, levels: 10, withdrawal: 0 });
  });

  it('mirrors the features into shared memory for readers in other threads', () => {
    const r = booked();
    r.update(1, ASK, 102, 1, T0 + 10 * MS);
    const reader = new BookFeaturesReader(r.featuresSab);
    expect([reader.capacity, reader.levels]).toEqual([4, 10]);
    const f = r.features(1);
    const out = new Float64Array(3);
    expect(reader.read(1, out)).toBe(true);
    expect(out[0]).toBe(f?.imbalance);
    expect(out[1]).toBe(f?.withdrawal);
    expect(out[2]).toBe(T0 + 10 * MS);
    expect(reader.features(1)).toEqual(f);
    expect(reader.read(0, out)).toBe(false); // never had a book
    expect(reader.read(99, out)).toBe(false);
    r.clear(1);
    expect(reader.features(1)).toBeNull();
    expect(() => new BookFeaturesReader(new SharedArrayBuffer(64))).toThrow(AppError);
    // A slot left mid-write (odd seqlock: only if the writer died inside a write) reads as absent
    // instead of spinning forever.
    const i32 = new Int32Array(r.featuresSab);
    r.snapshot(1, [100, 1], 1, [101, 1], 1, T0 + 30 * MS);
    expect(reader.read(1, out)).toBe(true);
    Atomics.add(i32, (64 + 32) / 4, 1);
    expect(reader.read(1, out)).toBe(false);
    Atomics.add(i32, (64 + 32) / 4, 1);
    expect(reader.read(1, out)).toBe(true);
  });

  it('reads the shared features from a worker thread without messages', async () => {
    const { Worker } = await import('node:worker_threads');
    const r = booked();
    r.update(1, ASK, 102, 1, T0 + 10 * MS);
    const f = r.features(1);
    // The worker reads the documented layout directly (byte offsets in book-features.ts): slot 1
    // is at byte 64 + 32; its seqlock is Int32 word 24, imbalance and withdrawal f64 13 and 14.
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      const i32 = new Int32Array(workerData);
      const f64 = new Float64Array(workerData);
      const seq = Atomics.load(i32, 24);
      parentPort.postMessage({ magic: i32[0], seq, imbalance: f64[13], withdrawal: f64[14] });`;
    const w = new Worker(code, { eval: true, workerData: r.featuresSab });
    const got = await new Promise<{ magic: number; seq: number; imbalance: number; withdrawal: number }>(
      (ok) => w.once('message', ok),
    );
    await w.terminate();
    expect(got.magic).toBe(0x41424b46);
    expect(got.seq % 2).toBe(0);
    expect(got.imbalance).toBe(f?.imbalance);
    expect(got.withdrawal).toBe(f?.withdrawal);
  });
});
