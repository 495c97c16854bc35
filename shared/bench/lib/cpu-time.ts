import { PerformanceObserver } from 'node:perf_hooks';

/**
 * The measures the CPU benchmarks report with (shared/bench/greeks.ts and engine/bench/*): the
 * CPU seconds (user + system) a run took, the median of repeated runs, and garbage collections.
 */

/** Median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** CPU seconds (user + system) spent in `run`. */
export function cpuSeconds(run: () => void): number {
  const c0 = process.cpuUsage();
  run();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/**
 * Starts counting garbage collections; returns a reader of the count so far. A GC is reported
 * asynchronously: wait a timer turn after a run before reading what it caused.
 */
export function countGcs(): () => number {
  let gcs = 0;
  new PerformanceObserver((l) => {
    gcs += l.getEntries().length;
  }).observe({ entryTypes: ['gc'] });
  return () => gcs;
}
