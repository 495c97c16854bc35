import type { TickRecord } from '../feeds/tick.ts';
import { detectPatterns } from '../patterns/detectors.ts';
import { TICK, usHi, usLo } from '../ring/layout.ts';
import type { Coefficients } from './params.ts';
import { F, type FeatureState, HALF0, PRICES_OFFSET, STATE_STRIDE, STATE_WORDS } from './state.ts';
import { computeTick, type TickViews } from './update.ts';

/**
 * Single-threaded application of ticks to a FeatureState with the production math and detectors,
 * for code that runs outside the feature pool: the evaluation harness and model training
 * (eval/market-run.ts), tests, tools.
 * It produces exactly the state and detections a feature worker produces for the same ticks of a
 * symbol (the worker adds only the replay markers and the rings around the same calls).
 */
export class FeatureStepper {
  readonly state: FeatureState;
  private readonly k: Coefficients;
  /** Ticks applied through this stepper (recorded as APPLIED_END, as a worker records positions). */
  private position = 0;
  /** One TICK record: the tick is written here and read by computeTick like a ring slot. */
  private readonly record: TickViews;

  constructor(state: FeatureState, k: Coefficients) {
    this.state = state;
    this.k = k;
    const buf = new ArrayBuffer(TICK.bytes);
    this.record = {
      u32: new Uint32Array(buf),
      u8: new Uint8Array(buf),
      i8: new Int8Array(buf),
      f64: new Float64Array(buf),
    };
  }

  /** `apply` with the fields of a tick record (its symbolId is not read: `sym` says where). */
  applyTick(sym: number, t: TickRecord): number {
    return this.apply(
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
    const rec = this.record;
    rec.u32[TICK.u32.symbolId] = sym;
    rec.u32[TICK.u32.tsEventHi] = usHi(tsUs);
    rec.u32[TICK.u32.tsEventLo] = usLo(tsUs);
    rec.u8[TICK.u8.kind] = kind;
    rec.i8[TICK.i8.aggressor] = aggressor;
    rec.f64[TICK.f64.price] = price;
    rec.f64[TICK.f64.size] = size;
    rec.f64[TICK.f64.bid] = bid;
    rec.f64[TICK.f64.ask] = ask;
    rec.f64[TICK.f64.bidSize] = bidSize;
    rec.f64[TICK.f64.askSize] = askSize;
    computeTick(f64, hist, cur, nxt, rec, 0, this.k);
    f64[nxt + F.APPLIED_END] = ++this.position;
    const detection = detectPatterns(f64, hist, cur, nxt, kind, this.k);
    state.flip(sym, 1 - half);
    return detection;
  }
}
