/**
 * Training data from ticks, through the PRODUCTION feature and pattern code: every tick goes
 * through `features/update.ts` (computeNextHalf) and `patterns/detectors.ts` (detectPatterns) on a
 * FeatureState exactly as a feature worker applies it (pool/shard-processor.ts), a detection
 * becomes a candidate with the same price (the reference price) and feature snapshot the worker
 * writes into the CANDIDATE record, and `toModelInputs` turns it into model inputs as the
 * inference thread does. So the model is trained on the distribution it scores.
 *
 * Label of a candidate at the i-th tick of its symbol: 1 when
 *   direction * ln(mid[i + horizon] / mid[i]) > 0
 * with mid = (bid + ask) / 2 of that symbol's ticks (the mid, not the last print, so the label is
 * not decided by bid/ask bounce) — the event the model's output is the probability of.
 * Split by time: per symbol, the first `trainFraction` of its ticks train (labels included), the
 * rest validate; a candidate whose label window straddles the cut is dropped.
 *
 * Tick sources: C's seeded synthetic market (feeds/synthetic.ts) or a recorded file replayed at
 * full speed (feeds/replay.ts: the engine's binary `.ticks` or CSV).
 */
import { createLogger } from '@aegis/shared/logging';
import { FeatureStepper } from '../features/feature-stepper.ts';
import {
  coefficients,
  DEFAULT_FEATURE_PARAMS,
  DEFAULT_PATTERN_PARAMS,
  type FeatureParams,
  type PatternParams,
} from '../features/params.ts';
import { F, FeatureState } from '../features/state.ts';
import { MalformedRecords } from '../feeds/malformed.ts';
import { ReplayFeed } from '../feeds/replay.ts';
import { SymbolTable } from '../feeds/symbol-table.ts';
import { SyntheticMarket } from '../feeds/synthetic.ts';
import { createTickRecord, type TickRecord } from '../feeds/tick.ts';
import { detectionDirection, detectionPattern } from '../patterns/detectors.ts';
import { FEATURE_COUNT, PATTERN_NAMES } from '../ring/layout.ts';
import { MODEL_INPUT_SIZE, toModelInputs } from './inputs.ts';
import type { LabelledSet } from './mlp.ts';

export type TickSourceOptions =
  | { readonly kind: 'synthetic'; readonly seed: number; readonly symbols: number; readonly ticks: number }
  | { readonly kind: 'replay'; readonly path: string; readonly maxSymbols: number };

export interface DatasetOptions {
  readonly source: TickSourceOptions;
  /** Forward-return horizon in ticks of the same symbol. */
  readonly horizonTicks: number;
  /** Fraction of each symbol's ticks used for training (the rest validates). */
  readonly trainFraction: number;
  readonly featureParams?: FeatureParams;
  readonly patternParams?: PatternParams;
}

export interface TrainingData {
  readonly train: LabelledSet;
  readonly valid: LabelledSet;
  readonly ticks: number;
  readonly symbols: number;
  readonly candidatesByPattern: Readonly<Record<string, number>>;
}

/** Growable Float64 list (per-symbol mids). */
class F64List {
  a = new Float64Array(256);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

interface Candidate {
  readonly sym: number;
  readonly tick: number; // index among the symbol's ticks
  readonly pattern: number;
  readonly direction: number;
  readonly price: number;
  readonly features: Float64Array;
}

/** Applies ticks to a FeatureState the way the feature workers do, collecting candidates. */
class CandidateCollector {
  readonly candidates: Candidate[] = [];
  readonly mids: F64List[] = [];
  readonly counts: Record<string, number> = { breakout: 0, mean_reversion: 0, absorption: 0 };
  ticks = 0;
  private readonly state: FeatureState;
  private readonly stepper: FeatureStepper;

  constructor(symbols: number, fp: FeatureParams, pp: PatternParams) {
    this.state = FeatureState.create(symbols);
    this.stepper = new FeatureStepper(this.state, coefficients(fp, pp));
  }

  apply(t: TickRecord): void {
    const sym = t.symbolId;
    const state = this.state;
    const detection = this.stepper.apply(
      sym,
      t.tsEventUs,
      t.kind,
      t.aggressor,
      t.price,
      t.size,
      t.bid,
      t.ask,
      t.bidSize,
      t.askSize,
    );
    while (this.mids.length <= sym) this.mids.push(new F64List());
    const mids = this.mids[sym]!;
    if (detection !== 0) {
      const features = new Float64Array(FEATURE_COUNT);
      state.snapshot(sym, features);
      const pattern = detectionPattern(detection);
      this.counts[PATTERN_NAMES[pattern]!]! += 1;
      this.candidates.push({
        sym,
        tick: mids.n,
        pattern,
        direction: detectionDirection(detection),
        price: state.get(sym, F.LAST_PRICE),
        features,
      });
    }
    mids.push(t.bid > 0 && t.ask >= t.bid ? (t.bid + t.ask) / 2 : mids.n > 0 ? mids.a[mids.n - 1]! : t.price);
    this.ticks++;
  }
}

class SetBuilder {
  x = new Float32Array(1024 * MODEL_INPUT_SIZE);
  y = new Uint8Array(1024);
  n = 0;
  add(c: Candidate, label: number): void {
    if (this.n === this.y.length) {
      const x = new Float32Array(this.x.length * 2);
      x.set(this.x);
      this.x = x;
      const y = new Uint8Array(this.y.length * 2);
      y.set(this.y);
      this.y = y;
    }
    toModelInputs(c.features, c.price, c.pattern, c.direction, this.x, this.n * MODEL_INPUT_SIZE);
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

async function feedTicks(
  source: TickSourceOptions,
  collector: (symbols: number) => CandidateCollector,
): Promise<CandidateCollector> {
  if (source.kind === 'synthetic') {
    const c = collector(source.symbols);
    const market = new SyntheticMarket({ symbols: source.symbols, seed: source.seed });
    const t = createTickRecord();
    for (let i = 0; i < source.ticks; i++) {
      market.next(t);
      c.apply(t);
    }
    return c;
  }
  const c = collector(source.maxSymbols);
  const log = createLogger({ name: 'model-dataset', level: 'warn' });
  const feed = new ReplayFeed(
    {
      path: source.path,
      speed: 0,
      symbolTable: new SymbolTable({ capacity: source.maxSymbols, shards: 1 }),
      malformed: new MalformedRecords(log),
    },
    createTickRecord(),
  );
  await feed.run({
    publish: (t) => {
      c.apply(t);
      return true;
    },
  });
  return c;
}

export async function buildTrainingData(opts: DatasetOptions): Promise<TrainingData> {
  const fp = opts.featureParams ?? DEFAULT_FEATURE_PARAMS;
  const pp = opts.patternParams ?? DEFAULT_PATTERN_PARAMS;
  const collected = await feedTicks(opts.source, (symbols) => new CandidateCollector(symbols, fp, pp));
  const train = new SetBuilder();
  const valid = new SetBuilder();
  for (const c of collected.candidates) {
    const mids = collected.mids[c.sym]!;
    const j = c.tick + opts.horizonTicks;
    if (j >= mids.n) continue;
    const cut = Math.floor(mids.n * opts.trainFraction);
    const label = c.direction * Math.log(mids.a[j]! / mids.a[c.tick]!) > 0 ? 1 : 0;
    if (j < cut) train.add(c, label);
    else if (c.tick >= cut) valid.add(c, label);
  }
  return {
    train: train.build(),
    valid: valid.build(),
    ticks: collected.ticks,
    symbols: collected.mids.length,
    candidatesByPattern: collected.counts,
  };
}
