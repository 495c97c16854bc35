/**
 * The two measures the CPU benchmarks report with (shared/bench/greeks.ts, engine/bench/feeds.ts):
 * the CPU seconds (user + system) a run took, and the median of repeated runs.
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
