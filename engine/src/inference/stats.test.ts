import { describe, expect, it } from 'vitest';
import {
  BATCH_SIZE_BUCKETS,
  createStatsBuffer,
  LATENCY_BUCKETS_US,
  readStats,
  STAT,
  StatsWriter,
} from './stats.ts';

describe('inference stats in shared memory', () => {
  it('counts batches into per-bucket (non-cumulative) histograms, bound inclusive, +Inf last', () => {
    const sab = createStatsBuffer();
    const w = new StatsWriter(sab);
    w.recordBatch(1, 25); // size bucket ≤1, latency bucket ≤25
    w.recordBatch(3, 25.5); // size ≤4, latency ≤50
    w.recordBatch(256, 1000); // size ≤256, latency ≤1000
    w.recordBatch(5000, 1e9); // both +Inf
    w.increment(STAT.scoredRingWaits);
    const s = readStats(sab);
    expect(s.batches).toBe(4);
    expect(s.scored).toBe(1 + 3 + 256 + 5000);
    expect(s.maxBatchSize).toBe(5000);
    expect(s.meanBatchSize).toBe(s.scored / 4);
    expect(s.scoredRingWaits).toBe(1);
    expect(s.latencyUs.counts).toHaveLength(LATENCY_BUCKETS_US.length + 1);
    expect(s.batchSize.counts).toHaveLength(BATCH_SIZE_BUCKETS.length + 1);
    const lat = (bound: number) => s.latencyUs.counts[LATENCY_BUCKETS_US.indexOf(bound as never)];
    expect(lat(25)).toBe(1);
    expect(lat(50)).toBe(1);
    expect(lat(1000)).toBe(1);
    expect(s.latencyUs.counts.at(-1)).toBe(1);
    const size = (bound: number) => s.batchSize.counts[BATCH_SIZE_BUCKETS.indexOf(bound as never)];
    expect(size(1)).toBe(1);
    expect(size(4)).toBe(1);
    expect(size(256)).toBe(1);
    expect(s.batchSize.counts.at(-1)).toBe(1);
    expect(s.latencyUs.sum).toBe(25 + 25.5 + 1000 + 1e9);
    expect(s.latencyUs.count).toBe(4);
  });

  it('counts batches per scoring path: js as flagged, ort the rest', () => {
    const sab = createStatsBuffer();
    const w = new StatsWriter(sab);
    w.recordBatch(3, 5, true);
    w.recordBatch(300, 40);
    w.recordBatch(1, 2, true);
    expect(readStats(sab).batchesByPath).toEqual({ js: 2, ort: 1 });
  });

  it('a reader attached to the same buffer sees the writer (another thread reads it the same way)', () => {
    const sab = createStatsBuffer();
    new StatsWriter(sab).recordBatch(7, 10);
    expect(readStats(sab).scored).toBe(7);
  });
});
