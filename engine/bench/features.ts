import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { countGcs, cpuSeconds } from '../../shared/bench/lib/cpu-time.ts';
import { FeatureStepper } from '../src/features/feature-stepper.ts';
import { coefficients, DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS } from '../src/features/params.ts';
import { FeatureState } from '../src/features/state.ts';
import { ShardControl } from '../src/pool/shard-control.ts';
import { TICK } from '../src/ring/layout.ts';
import { makeRings, processorOn } from '../tests/support/pipeline-reference.ts';
import { feedTape, generateTape } from '../tests/support/tick-tape.ts';

const SYMBOLS = 1000;
const N = 1 << 21;
const REPS = 5;
const machine = machineInfo();
const k = coefficients(DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS);
const tape = generateTape({ seed: 3, symbols: SYMBOLS, ticks: N, stepUs: 10 });
const rings = makeRings(1, N, 1 << 20);
feedTape(tape, rings.ticks, 256);
const ring = rings.ticks[0]!;

const gcsSoFar = countGcs();

interface Row {
  variant: string;
  ticksPerCpuSec: number;
  nsPerTick: number;
  gcs: number;
}

async function measure(variant: string, run: () => number): Promise<Row> {
  let best = 0;
  let bestGcs = 0;
  for (let rep = 0; rep < REPS; rep++) {
    await new Promise((r) => setTimeout(r, 20));
    const gcs0 = gcsSoFar();
    let n = 0;
    const cpuS = cpuSeconds(() => {
      n = run();
    });
    await new Promise((r) => setTimeout(r, 20)); // let the GC observer report
    const rate = n / cpuS;
    if (rate > best) {
      best = rate;
      bestGcs = gcsSoFar() - gcs0;
    }
  }
  return { variant, ticksPerCpuSec: Math.round(best), nsPerTick: 1e9 / best, gcs: bestGcs };
}

const rows: Row[] = [];
rows.push(
  await measure('shard processor (pool hot path)', () => {
    ring.commit(0, 0);
    rings.candidates[0]!.commit(0, rings.candidates[0]!.head());
    const p = processorOn(rings, 0, {
      shards: 1,
      state: FeatureState.create(SYMBOLS),
      control: ShardControl.create(1),
      coefficients: k,
      candidatePolicy: 'drop',
    });
    let n = 0;
    for (let b = p.processBatch(256); b > 0; b = p.processBatch(256)) n += b;
    return n;
  }),
);

/** The baseline: an object per tick in, a features object per tick out. */
rows.push(
  await measure('baseline: object per tick in and out', () => {
    const stepper = new FeatureStepper(FeatureState.create(SYMBOLS), k);
    let sum = 0;
    for (let seq = 0; seq < N; seq++) {
      const b32 = ring.base32(seq);
      const b64 = ring.base64(seq);
      const b8 = ring.base8(seq);
      const tick = {
        symbolId: ring.u32[b32 + TICK.u32.symbolId]!,
        tsEventUs: ring.u32[b32 + TICK.u32.tsEventHi]! * 4294967296 + ring.u32[b32 + TICK.u32.tsEventLo]!,
        kind: ring.u8[b8 + TICK.u8.kind]!,
        aggressor: ring.i8[b8 + TICK.i8.aggressor]!,
        price: ring.f64[b64 + TICK.f64.price]!,
        size: ring.f64[b64 + TICK.f64.size]!,
        bid: ring.f64[b64 + TICK.f64.bid]!,
        ask: ring.f64[b64 + TICK.f64.ask]!,
        bidSize: ring.f64[b64 + TICK.f64.bidSize]!,
        askSize: ring.f64[b64 + TICK.f64.askSize]!,
      };
      const d = stepper.apply(
        tick.symbolId,
        tick.tsEventUs,
        tick.kind,
        tick.aggressor,
        tick.price,
        tick.size,
        tick.bid,
        tick.ask,
        tick.bidSize,
        tick.askSize,
      );
      const out = { detection: d, features: new Float64Array(8) };
      stepper.state.snapshot(tick.symbolId, out.features);
      sum += out.features[0]!;
    }
    if (sum === -1) throw new Error('unreachable');
    return N;
  }),
);

console.table(
  rows.map((r) => ({
    variant: r.variant,
    'ticks per CPU-second': r.ticksPerCpuSec.toLocaleString('en-US'),
    'ns/tick (CPU)': r.nsPerTick.toFixed(1),
    'GCs per run': r.gcs,
  })),
);
writeBenchResult('features', {
  question: 'per-tick feature + pattern cost on one core',
  machine,
  ticksPerRun: N,
  symbols: SYMBOLS,
  rows,
  at: new Date().toISOString(),
});
