/**
 * Training data: ticks -> per-symbol features -> pattern candidates -> labels from forward
 * returns -> model inputs (through the same `toModelInputs` the inference thread uses).
 *
 * The feature and pattern math here is a straightforward per-symbol implementation of the
 * definitions in `inputs.ts` (units) and contract §2 (order). Label of a candidate at tick i of a
 * symbol: 1 when direction * ln(mid[i + horizon] / mid[i]) > 0, else 0 — the event the model's
 * output is the probability of. Split by time (train on the earlier part of every symbol's
 * history, validate on the later part, with a `horizon` gap so no label straddles the cut).
 */
import { FEATURE_COUNT, PATTERN } from '../ring/layout.ts';
import { MODEL_INPUT_SIZE, RawFeature, toModelInputs } from './inputs.ts';
import type { LabelledSet } from './mlp.ts';
import { generateTrainingTicks, type TrainingTick } from './training-ticks.ts';

export interface DatasetOptions {
  readonly seed: number;
  readonly symbols: number;
  readonly ticksPerSymbol: number;
  /** Forward-return horizon in ticks of the same symbol. */
  readonly horizonTicks: number;
  /** Fraction of each symbol's history used for training (the rest validates). */
  readonly trainFraction: number;
}

/** Feature definitions shared by the training path (documented units: see inputs.ts). */
export const FEATURE_PARAMS = {
  emaFastTicks: 10,
  emaSlowTicks: 50,
  /** Per-trade decay of the exponentially weighted VWAP. */
  vwapDecay: 0.01,
  /** EWMA weight for realized vol, OFI and the spread mean/variance. */
  ewmaAlpha: 0.05,
  momentumTicks: 20,
  /** Ticks before a symbol's features count as warmed up. */
  warmupTicks: 100,
  /** Minimum ticks between two candidates of the same pattern on one symbol. */
  cooldownTicks: 20,
} as const;

/** Pattern thresholds (in units of realized vol over the momentum lookback). */
export const PATTERN_PARAMS = {
  breakoutSigmas: 2.5,
  meanReversionSigmas: 3,
  absorptionOfi: 0.45,
  absorptionMaxSigmas: 0.5,
} as const;

interface SymbolFeatureState {
  ticks: number;
  emaFast: number;
  emaSlow: number;
  vwapPv: number;
  vwapV: number;
  lastMid: number;
  var: number;
  ofiSigned: number;
  ofiTotal: number;
  spreadMean: number;
  spreadVar: number;
  mids: Float64Array; // ring of the last momentumTicks mids
  lastCandidate: Float64Array; // per pattern code, tick index of the last candidate
}

function newState(): SymbolFeatureState {
  return {
    ticks: 0,
    emaFast: 0,
    emaSlow: 0,
    vwapPv: 0,
    vwapV: 0,
    lastMid: 0,
    var: 0,
    ofiSigned: 0,
    ofiTotal: 0,
    spreadMean: 0,
    spreadVar: 0,
    mids: new Float64Array(FEATURE_PARAMS.momentumTicks),
    lastCandidate: new Float64Array(4).fill(-1e9),
  };
}

/** Updates `st` with tick `t` and writes the 8 raw features (contract order) into `out`. */
export function updateFeatures(st: SymbolFeatureState, t: TrainingTick, out: Float64Array): void {
  const P = FEATURE_PARAMS;
  const mid = (t.bid + t.ask) / 2;
  const spread = t.ask - t.bid;
  const a = P.ewmaAlpha;
  if (st.ticks === 0) {
    st.emaFast = mid;
    st.emaSlow = mid;
    st.lastMid = mid;
    st.spreadMean = spread;
    st.mids.fill(mid);
  }
  st.emaFast += (2 / (P.emaFastTicks + 1)) * (mid - st.emaFast);
  st.emaSlow += (2 / (P.emaSlowTicks + 1)) * (mid - st.emaSlow);
  if (t.kind === 1 && t.size > 0) {
    st.vwapPv = st.vwapPv * (1 - P.vwapDecay) + t.price * t.size;
    st.vwapV = st.vwapV * (1 - P.vwapDecay) + t.size;
    st.ofiSigned = st.ofiSigned * (1 - a) + t.aggressor * t.size;
    st.ofiTotal = st.ofiTotal * (1 - a) + t.size;
  }
  const r = Math.log(mid / st.lastMid);
  st.var = st.var * (1 - a) + a * r * r;
  st.lastMid = mid;
  const dev = spread - st.spreadMean;
  st.spreadMean += a * dev;
  st.spreadVar = (1 - a) * (st.spreadVar + a * dev * dev);
  const slot = st.ticks % P.momentumTicks;
  const midBack = st.mids[slot]!;
  st.mids[slot] = mid;
  st.ticks++;
  out[RawFeature.emaFast] = st.emaFast;
  out[RawFeature.emaSlow] = st.emaSlow;
  out[RawFeature.vwap] = st.vwapV > 0 ? st.vwapPv / st.vwapV : mid;
  out[RawFeature.realizedVol] = Math.sqrt(st.var);
  out[RawFeature.orderFlowImbalance] = st.ofiTotal > 0 ? st.ofiSigned / st.ofiTotal : 0;
  const depth = t.bidSize + t.askSize;
  out[RawFeature.microPrice] = depth > 0 ? (t.bid * t.askSize + t.ask * t.bidSize) / depth : mid;
  out[RawFeature.spreadZ] = st.spreadVar > 0 ? dev / Math.sqrt(st.spreadVar) : 0;
  out[RawFeature.momentum] = Math.log(mid / midBack);
}

/** Pattern code (0 = none) and direction for the current features; cooldown applied by caller. */
export function detectPattern(f: Float64Array, price: number): { pattern: number; direction: number } {
  const P = PATTERN_PARAMS;
  const sigma = f[RawFeature.realizedVol]! * Math.sqrt(FEATURE_PARAMS.momentumTicks);
  if (!(sigma > 0)) return { pattern: 0, direction: 0 };
  const mom = f[RawFeature.momentum]!;
  const trend = f[RawFeature.emaFast]! - f[RawFeature.emaSlow]!;
  const vwapDev = Math.log(price / f[RawFeature.vwap]!);
  const ofi = f[RawFeature.orderFlowImbalance]!;
  if (Math.abs(mom) > P.breakoutSigmas * sigma && Math.sign(trend) === Math.sign(mom)) {
    return { pattern: PATTERN.breakout, direction: Math.sign(mom) };
  }
  if (Math.abs(vwapDev) > P.meanReversionSigmas * sigma) {
    return { pattern: PATTERN.mean_reversion, direction: -Math.sign(vwapDev) };
  }
  if (Math.abs(ofi) > P.absorptionOfi && Math.abs(mom) < P.absorptionMaxSigmas * sigma) {
    // Heavy one-sided flow that does not move the price is being absorbed: fade it.
    return { pattern: PATTERN.absorption, direction: -Math.sign(ofi) };
  }
  return { pattern: 0, direction: 0 };
}

export interface TrainingData {
  readonly train: LabelledSet;
  readonly valid: LabelledSet;
  readonly ticks: number;
  readonly candidatesByPattern: Readonly<Record<string, number>>;
}

class SetBuilder {
  x: Float32Array = new Float32Array(1024 * MODEL_INPUT_SIZE);
  y: Uint8Array = new Uint8Array(1024);
  n = 0;
  add(features: Float64Array, price: number, pattern: number, direction: number, label: number): void {
    if (this.n === this.y.length) {
      const x = new Float32Array(this.x.length * 2);
      x.set(this.x);
      this.x = x;
      const y = new Uint8Array(this.y.length * 2);
      y.set(this.y);
      this.y = y;
    }
    toModelInputs(features, price, pattern, direction, this.x, this.n * MODEL_INPUT_SIZE);
    this.y[this.n] = label;
    this.n++;
  }
  build(): LabelledSet {
    return {
      x: this.x.slice(0, this.n * MODEL_INPUT_SIZE),
      y: this.y.slice(0, this.n),
      n: this.n,
      d: MODEL_INPUT_SIZE,
    };
  }
}

interface PendingCandidate {
  tick: number;
  mid: number;
  pattern: number;
  direction: number;
  price: number;
  features: Float64Array;
}

export function buildTrainingData(opts: DatasetOptions): TrainingData {
  const states = Array.from({ length: opts.symbols }, newState);
  const mids = Array.from({ length: opts.symbols }, () => new Float64Array(opts.ticksPerSymbol));
  const pending: PendingCandidate[][] = Array.from({ length: opts.symbols }, () => []);
  const features = new Float64Array(FEATURE_COUNT);
  const counts: Record<string, number> = { breakout: 0, mean_reversion: 0, absorption: 0 };
  const names = ['', 'breakout', 'mean_reversion', 'absorption'] as const;
  let ticks = 0;
  generateTrainingTicks(
    { seed: opts.seed, symbols: opts.symbols, ticksPerSymbol: opts.ticksPerSymbol },
    (t) => {
      ticks++;
      const st = states[t.symbolId]!;
      const i = st.ticks;
      updateFeatures(st, t, features);
      const mid = (t.bid + t.ask) / 2;
      mids[t.symbolId]![i] = mid;
      if (i < FEATURE_PARAMS.warmupTicks) return;
      const { pattern, direction } = detectPattern(features, t.price);
      if (pattern === 0 || i - st.lastCandidate[pattern]! < FEATURE_PARAMS.cooldownTicks) return;
      st.lastCandidate[pattern] = i;
      counts[names[pattern]!]! += 1;
      pending[t.symbolId]!.push({
        tick: i,
        mid,
        pattern,
        direction,
        price: t.price,
        features: features.slice(),
      });
    },
  );
  const train = new SetBuilder();
  const valid = new SetBuilder();
  const cut = Math.floor(opts.ticksPerSymbol * opts.trainFraction);
  for (let s = 0; s < opts.symbols; s++) {
    for (const c of pending[s]!) {
      const j = c.tick + opts.horizonTicks;
      if (j >= opts.ticksPerSymbol) continue;
      const label = c.direction * Math.log(mids[s]![j]! / c.mid) > 0 ? 1 : 0;
      if (j < cut) train.add(c.features, c.price, c.pattern, c.direction, label);
      else if (c.tick >= cut) valid.add(c.features, c.price, c.pattern, c.direction, label);
    }
  }
  return { train: train.build(), valid: valid.build(), ticks, candidatesByPattern: counts };
}
