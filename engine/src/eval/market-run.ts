import { FeatureStepper } from '../features/feature-stepper.ts';
import {
  coefficients,
  DEFAULT_FEATURE_PARAMS,
  DEFAULT_PATTERN_PARAMS,
  type FeatureParams,
  type PatternParams,
} from '../features/params.ts';
import { F, FeatureState } from '../features/state.ts';
import { createTickRecord } from '../feeds/tick.ts';
import { detectionDirection, detectionPattern } from '../patterns/detectors.ts';
import { FEATURE_COUNT } from '../ring/layout.ts';
import { type LabelledEvent, LabelledMarket } from './labelled-market.ts';

/**
 * One labelled market (one seed) run through the engine's production feature and pattern code:
 * every tick goes through FeatureStepper (features/update.ts + patterns/detectors.ts, exactly as a
 * feature worker applies it), a detection becomes a candidate with the reference price and the
 * feature snapshot the worker writes into the CANDIDATE record.
 * Alongside: each symbol's quoted mid and event time per tick (forward returns, baselines) and
 * the market's labels.
 *
 * This is the one file of the harness that calls the engine's feature path: a change of
 * FeatureStepper's or the snapshot's shape is made here.
 */

export interface MarketSpec {
  readonly seed: number;
  readonly symbols: number;
  /** Ticks of the whole market (all symbols). */
  readonly ticks: number;
}

export interface EngineParams {
  readonly featureParams?: FeatureParams;
  readonly patternParams?: PatternParams;
}

export interface Candidate {
  /** Market symbol index. */
  readonly symbol: number;
  /** Index of the tick among the symbol's ticks. */
  readonly tick: number;
  readonly tsUs: number;
  /** PATTERN code (ring/layout.ts). */
  readonly pattern: number;
  readonly direction: number;
  /** Reference price after the tick (what the worker writes as the candidate's price). */
  readonly price: number;
  /** Raw features after the tick, FEATURE_NAMES order (the CANDIDATE record's features). */
  readonly features: Float64Array;
}

export interface MarketRun {
  readonly seed: number;
  readonly symbols: number;
  readonly ticks: number;
  /** Per market symbol: quoted mid (bid + ask) / 2 after each of its ticks. */
  readonly mids: readonly Float64Array[];
  /** Per market symbol: event time (µs) of each of its ticks. */
  readonly tsUs: readonly Float64Array[];
  readonly events: readonly LabelledEvent[];
  readonly candidates: readonly Candidate[];
}

/** Growable Float64 column. */
class Column {
  a = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  done(): Float64Array {
    return this.a.slice(0, this.n);
  }
}

export function runMarket(spec: MarketSpec, params: EngineParams = {}): MarketRun {
  const fp = params.featureParams ?? DEFAULT_FEATURE_PARAMS;
  const pp = params.patternParams ?? DEFAULT_PATTERN_PARAMS;
  const market = new LabelledMarket({ symbols: spec.symbols, seed: spec.seed });
  const state = FeatureState.create(spec.symbols);
  const stepper = new FeatureStepper(state, coefficients(fp, pp));
  const mids = Array.from({ length: spec.symbols }, () => new Column());
  const ts = Array.from({ length: spec.symbols }, () => new Column());
  const candidates: Candidate[] = [];
  const t = createTickRecord();
  for (let k = 0; k < spec.ticks; k++) {
    const i = market.next(t);
    const detection = stepper.applyTick(t.symbolId, t);
    const col = mids[i]!;
    if (detection !== 0) {
      const features = new Float64Array(FEATURE_COUNT);
      state.snapshot(t.symbolId, features);
      candidates.push({
        symbol: i,
        tick: col.n,
        tsUs: t.tsEventUs,
        pattern: detectionPattern(detection),
        direction: detectionDirection(detection),
        price: state.get(t.symbolId, F.LAST_PRICE),
        features,
      });
    }
    col.push((t.bid + t.ask) / 2);
    ts[i]!.push(t.tsEventUs);
  }
  market.finish();
  return {
    seed: spec.seed,
    symbols: spec.symbols,
    ticks: spec.ticks,
    mids: mids.map((c) => c.done()),
    tsUs: ts.map((c) => c.done()),
    events: market.events,
    candidates,
  };
}
