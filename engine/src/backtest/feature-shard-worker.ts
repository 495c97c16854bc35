import { workerData } from 'node:worker_threads';
import { FeatureStepper } from '../features/feature-stepper.ts';
import { F, FeatureState } from '../features/state.ts';
import { FEATURE_COUNT, TICK } from '../ring/layout.ts';
import { SHARD_CONTROL, type ShardStartup, slotViews } from './feature-shards.ts';

/**
 * One feature shard of a backtest (feature-shards.ts): waits for each chunk in order, applies
 * the ticks of its instruments (inst % workers === worker) through FeatureStepper, writes each
 * one's detection and, for a detection, the features and price after it; then says it is done.
 */
const s = workerData as ShardStartup;
const control = new Int32Array(s.control);
const slots = s.slots.map(slotViews);
const state = FeatureState.attach(s.state);
const stepper = new FeatureStepper(state, s.coefficients);
const W32 = TICK.bytes / 4;
const W64 = TICK.bytes / 8;

for (let n = 1; ; n++) {
  while (Atomics.load(control, SHARD_CONTROL.DISPATCHED) < n) {
    Atomics.wait(control, SHARD_CONTROL.DISPATCHED, n - 1);
  }
  if (Atomics.load(control, SHARD_CONTROL.STOP) === 1) break;
  const slot = n % 2;
  const v = slots[slot]!;
  const count = Atomics.load(control, SHARD_CONTROL.COUNT + slot);
  for (let k = 0; k < count; k++) {
    const inst = v.u32[k * W32 + TICK.u32.symbolId]!;
    if (inst % s.workers !== s.worker) continue;
    const b64 = k * W64;
    const b8 = k * TICK.bytes;
    const d = stepper.apply(
      inst,
      v.u32[k * W32 + TICK.u32.tsEventHi]! * 4294967296 + v.u32[k * W32 + TICK.u32.tsEventLo]!,
      v.u8[b8 + TICK.u8.kind]!,
      v.i8[b8 + TICK.i8.aggressor]!,
      v.f64[b64 + TICK.f64.price]!,
      v.f64[b64 + TICK.f64.size]!,
      v.f64[b64 + TICK.f64.bid]!,
      v.f64[b64 + TICK.f64.ask]!,
      v.f64[b64 + TICK.f64.bidSize]!,
      v.f64[b64 + TICK.f64.askSize]!,
    );
    v.detection[k] = d;
    if (d !== 0) {
      state.snapshot(inst, v.features, k * FEATURE_COUNT);
      v.price[k] = state.get(inst, F.LAST_PRICE);
    }
  }
  Atomics.add(control, SHARD_CONTROL.DONE + slot, 1);
  Atomics.notify(control, SHARD_CONTROL.DONE + slot);
}
