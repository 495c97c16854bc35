import type { Dec } from '@aegis/shared/accounting/decimal';
import { decStr } from '@aegis/shared/accounting/decimal';

/**
 * Equity (and the buy-and-hold benchmark) over simulated time, bounded in size whatever the
 * run's length: a point at the first tick at or after each multiple of the interval; when the
 * points reach `maxPoints`, every other one is dropped and the interval doubles, so the curve
 * stays evenly spaced (what Sharpe and Sortino need) and at most `maxPoints` long.
 */
export class EquityCurve {
  readonly tsUs: number[] = [];
  readonly equity: string[] = [];
  readonly benchmark: string[] = [];
  readonly maxPoints: number;
  intervalUs: number;
  #nextUs = Number.NEGATIVE_INFINITY;

  constructor(options: { maxPoints?: number; intervalUs?: number } = {}) {
    this.maxPoints = options.maxPoints ?? 2000;
    this.intervalUs = options.intervalUs ?? 1_000_000;
  }

  /** Whether a point is due at `tsUs` (one comparison: called on every tick). */
  due(tsUs: number): boolean {
    return tsUs >= this.#nextUs;
  }

  record(tsUs: number, equity: Dec, benchmark: Dec): void {
    this.tsUs.push(tsUs);
    this.equity.push(decStr(equity));
    this.benchmark.push(decStr(benchmark));
    if (this.tsUs.length > this.maxPoints) this.#halve();
    this.#nextUs = (Math.floor(tsUs / this.intervalUs) + 1) * this.intervalUs;
  }

  /** The closing point (replaces a point already at the same time). */
  close(tsUs: number, equity: Dec, benchmark: Dec): void {
    if (this.tsUs.at(-1) === tsUs) {
      this.tsUs.pop();
      this.equity.pop();
      this.benchmark.pop();
    }
    this.tsUs.push(tsUs);
    this.equity.push(decStr(equity));
    this.benchmark.push(decStr(benchmark));
  }

  #halve(): void {
    for (const a of [this.tsUs, this.equity, this.benchmark] as unknown[][]) {
      let w = 0;
      for (let r = 0; r < a.length; r += 2) a[w++] = a[r];
      a.length = w;
    }
    this.intervalUs *= 2;
  }
}
