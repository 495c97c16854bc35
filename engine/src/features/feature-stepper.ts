import { detectPatterns } from '../patterns/detectors.ts';
import type { Coefficients } from './params.ts';
import { type FeatureState, HALF0, PRICES_OFFSET, STATE_STRIDE, STATE_WORDS } from './state.ts';
import { computeTick } from './update.ts';

/**
 * Single-threaded application of ticks to a FeatureState with the production math and detectors,
 * for code that runs outside the feature pool: model training (model/dataset.ts), tests, tools.
 * It produces exactly the state and detections a feature worker produces for the same ticks of a
 * symbol (the worker adds only the replay markers and the rings around the same calls).
 */
export class FeatureStepper {
  readonly state: FeatureState;
  private readonly k: Coefficients;
  /** Absolute position handed to computeTick (APPLIED_END); counts applied ticks. */
  private position = 0;

  constructor(state: FeatureState, k: Coefficients) {
    this.state = state;
    this.k = k;
  }

  /**
   * Apply one tick to `sym`. Returns the detection (patterns/detectors.ts: 0 = none, else decode
   * with detectionPattern / detectionDirection); the features after the tick are then
   * `state.snapshot(sym, out)` and its price `state.get(sym, F.LAST_PRICE)`.
   */
  apply(
    sym: number,
    tsUs: number,
    kind: number,
    aggressor: number,
    price: number,
    size: number,
    bid: number,
    ask: number,
    bidSize: number,
    askSize: number,
  ): number {
    const state = this.state;
    const f64 = state.f64;
    const block = sym * STATE_STRIDE;
    const half = state.active(sym);
    const cur = block + HALF0 + half * STATE_WORDS;
    const nxt = block + HALF0 + (1 - half) * STATE_WORDS;
    const hist = block + PRICES_OFFSET;
    computeTick(
      f64,
      hist,
      cur,
      nxt,
      this.position++,
      tsUs,
      kind,
      aggressor,
      price,
      size,
      bid,
      ask,
      bidSize,
      askSize,
      this.k,
    );
    const detection = detectPatterns(f64, hist, cur, nxt, kind, tsUs, this.k);
    state.flip(sym, 1 - half);
    return detection;
  }
}
