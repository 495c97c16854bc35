/**
 * Question: how many option contracts per second does one core price with all Greeks (price,
 * delta, gamma, vega, theta, rho, vanna, volga), and how many implied volatilities per second
 * does it solve, against a textbook baseline in the same run?
 *
 *   npm run bench:greeks          (prints a table; writes bench/results/greeks.json)
 *   BENCH_CONTRACTS=100000 BENCH_RUNS=3 npm run bench:greeks
 *
 * Contracts: a deterministic mixed set — strikes K/S 0.6 … 1.5, expiries 1 day … 2 years, vols
 * 8 % … 120 %, calls and puts, BSM with a rate and a dividend yield — laid out as struct-of-arrays
 * Float64Arrays. Then, alternating, on the main thread:
 *   greeks baseline   naiveGreeks per contract (A&S 26.2.17 CDF, one object per contract)
 *   greeks            greeksBatch over the arrays (Cody CDF, written into one Float64Array)
 *   IV baseline       plain bisection to a relative 1e-12 in σ (on the precise pricer)
 *   IV                impliedVolatilityBatch (Jäckel-style: branch guess + Householder steps)
 * Rated by CPU time of this process (the machine is shared: wall time is noisy); the table shows
 * the median of BENCH_RUNS runs after a warm-up run. The JSON also records the implied
 * volatility's maximum relative error over the accuracy grid (iv-grid.ts) and over this set.
 */
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { GREEKS_STRIDE, greeksBatch, optionPrice } from '../src/options/black-scholes.ts';
import { impliedVolatility, impliedVolatilityBatch } from '../src/options/implied-volatility.ts';
import { ivGrid } from '../src/options/iv-grid.ts';
import { cpuSeconds, median } from './lib/cpu-time.ts';
import { bisectionIv, type NaiveGreeks, naiveGreeks } from './lib/naive-greeks.ts';

const N = Number(process.env.BENCH_CONTRACTS ?? 200_000);
const N_IV_BASELINE = Math.min(N, Number(process.env.BENCH_IV_BASELINE ?? 20_000));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const machine = machineInfo();

/** Deterministic xorshift so every run prices the same contracts. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const rand = rng(13);
const isCall = new Uint8Array(N);
const underlying = new Float64Array(N);
const strike = new Float64Array(N);
const years = new Float64Array(N);
const vol = new Float64Array(N);
const rate = new Float64Array(N);
const dividendYield = new Float64Array(N);
const prices = new Float64Array(N);
const EXPIRIES = [1 / 365, 7 / 365, 30 / 365, 91 / 365, 182 / 365, 1, 2];
for (let i = 0; i < N; i++) {
  isCall[i] = i & 1;
  underlying[i] = 50 + 150 * rand();
  strike[i] = (underlying[i] as number) * (0.6 + 0.9 * rand());
  years[i] = EXPIRIES[Math.floor(rand() * EXPIRIES.length)] as number;
  vol[i] = 0.08 + 1.12 * rand();
  rate[i] = 0.05 * rand();
  dividendYield[i] = 0.03 * rand();
}
const input = { model: 'bsm' as const, isCall, underlying, strike, years, vol, rate, dividendYield };
const out = new Float64Array(N * GREEKS_STRIDE);
greeksBatch(input, out);
for (let i = 0; i < N; i++) prices[i] = out[i * GREEKS_STRIDE] as number;

let sink = 0;
function greeksBaseline(): number {
  return cpuSeconds(() => {
    let acc = 0;
    for (let i = 0; i < N; i++) {
      const g: NaiveGreeks = naiveGreeks(
        isCall[i] === 1,
        underlying[i] as number,
        strike[i] as number,
        years[i] as number,
        vol[i] as number,
        rate[i] as number,
        dividendYield[i] as number,
      );
      acc += g.price + g.delta + g.gamma + g.vega + g.theta + g.rho + g.vanna + g.volga;
    }
    sink += acc;
  });
}

function greeksFast(): number {
  // Inputs were validated once at intake (the first greeksBatch call above).
  return cpuSeconds(() => greeksBatch(input, out, false));
}

const ivOut = new Float64Array(N);
function ivFast(): number {
  return cpuSeconds(() =>
    impliedVolatilityBatch('bsm', prices, isCall, underlying, strike, years, rate, dividendYield, ivOut),
  );
}

const ivBaseOut = new Float64Array(N_IV_BASELINE);
function ivBaseline(): number {
  return cpuSeconds(() => {
    for (let i = 0; i < N_IV_BASELINE; i++) {
      const p = {
        model: 'bsm' as const,
        right: isCall[i] === 1 ? ('call' as const) : ('put' as const),
        underlying: underlying[i] as number,
        strike: strike[i] as number,
        years: years[i] as number,
        rate: rate[i] as number,
        dividendYield: dividendYield[i] as number,
      };
      ivBaseOut[i] = bisectionIv(prices[i] as number, (v) => optionPrice({ ...p, vol: v }), 1e-12);
    }
  });
}

// Warm-up (JIT) before timing.
greeksBaseline();
greeksFast();
ivFast();
ivBaseline();
const runs = {
  greeksBaselineS: [] as number[],
  greeksS: [] as number[],
  ivBaselineS: [] as number[],
  ivS: [] as number[],
};
for (let r = 0; r < RUNS; r++) {
  runs.greeksBaselineS.push(greeksBaseline());
  runs.greeksS.push(greeksFast());
  runs.ivBaselineS.push(ivBaseline());
  runs.ivS.push(ivFast());
}

/** Max relative σ error of a solver output against the σ that priced each contract. */
function maxRelError(
  solved: Float64Array,
  count: number,
  minCondition: boolean,
): { max: number; counted: number } {
  let max = 0;
  let counted = 0;
  for (let i = 0; i < count; i++) {
    const base = i * GREEKS_STRIDE;
    const v = vol[i] as number;
    // Only contracts whose price determines σ to 1e-13 (condition price/(σ·vega) ≤ 1e3) and is a
    // normal double (a 1-day far out-of-the-money price can underflow to 0 or a subnormal).
    const price = out[base] as number;
    if (minCondition && !(price >= 1e-300 && price / (v * (out[base + 3] as number)) <= 1e3)) continue;
    counted++;
    max = Math.max(max, Math.abs((solved[i] as number) - v) / v);
  }
  return { max, counted };
}
const ivSetError = maxRelError(ivOut, N, true);
const ivBaselineSetError = maxRelError(ivBaseOut, N_IV_BASELINE, true);
let gridMax = 0;
const grid = ivGrid(1e3).filter((p) => p.price >= 1e-300);
for (const p of grid) {
  const v = impliedVolatility({ ...p.inputs, price: p.price });
  gridMax = Math.max(gridMax, Math.abs(v - p.inputs.vol) / p.inputs.vol);
}

const rate1 = (n: number, s: number) => Math.round(n / median([s]));
const rows = [
  {
    what: 'Greek sets (8 values)',
    impl: 'baseline: A&S CDF, object per contract',
    n: N,
    s: median(runs.greeksBaselineS),
  },
  {
    what: 'Greek sets (8 values)',
    impl: 'greeksBatch (Cody CDF, typed arrays)',
    n: N,
    s: median(runs.greeksS),
  },
  {
    what: 'implied volatilities',
    impl: 'baseline: bisection to 1e-12',
    n: N_IV_BASELINE,
    s: median(runs.ivBaselineS),
  },
  { what: 'implied volatilities', impl: 'impliedVolatilityBatch (Householder)', n: N, s: median(runs.ivS) },
].map((r) => ({ ...r, perSecond: rate1(r.n, r.s), nsPerItem: (r.s * 1e9) / r.n }));

const fmt = (n: number) => n.toLocaleString('en-US');
process.stdout.write(
  `option Greeks and implied volatility, one core (main thread), ${RUNS} runs (median, CPU time), ${machine.cores} cores (${machine.cpu}), load ${machine.loadavg1m}\n`,
);
console.table(
  rows.map((r) => ({
    measure: r.what,
    implementation: r.impl,
    'per run': fmt(r.n),
    'per second': fmt(r.perSecond),
    'ns each': r.nsPerItem.toFixed(1),
  })),
);
const greeksSpeedup = (rows[1]?.perSecond ?? 0) / (rows[0]?.perSecond ?? 1);
const ivSpeedup = (rows[3]?.perSecond ?? 0) / (rows[2]?.perSecond ?? 1);
process.stdout.write(
  `Greeks ${greeksSpeedup.toFixed(2)}× baseline; IV ${ivSpeedup.toFixed(1)}× bisection; IV max relative error: grid ${gridMax.toExponential(2)} (${grid.length} points), this set ${ivSetError.max.toExponential(2)} (${ivSetError.counted} contracts), bisection ${ivBaselineSetError.max.toExponential(2)}\n`,
);
const path = writeBenchResult('greeks', {
  question:
    'option contracts priced with all Greeks per second, and implied volatilities per second, on one core, vs a textbook baseline',
  machine,
  contracts: N,
  ivBaselineContracts: N_IV_BASELINE,
  runs: RUNS,
  targets: { greeksPerSecond: 5_000_000, ivPerSecond: 1_000_000 },
  rows,
  greeksSpeedup,
  ivSpeedup,
  ivAccuracy: {
    gridMaxRelativeError: gridMax,
    gridPoints: grid.length,
    setMaxRelativeError: ivSetError.max,
    setContracts: ivSetError.counted,
    bisectionSetMaxRelativeError: ivBaselineSetError.max,
    note: 'contracts whose condition number price/(σ·vega) ≤ 1e3 and price ≥ 1e-300',
  },
  rawRuns: runs,
  sink,
});
process.stdout.write(`wrote ${path}\n`);
