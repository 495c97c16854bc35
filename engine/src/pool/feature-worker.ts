import { workerData } from 'node:worker_threads';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import { coefficients } from '../features/params.ts';
import { FeatureState } from '../features/state.ts';
import { Doorbells } from '../ring/doorbell.ts';
import { CTRL } from '../ring/layout.ts';
import { SpinBudget } from '../ring/spin-wait.ts';
import {
  type BatchResult,
  type FeatureTask,
  type FeatureWorkerData,
  featureWorkerDataSchema,
  type OwnShardsResult,
  ownShardsTaskSchema,
} from './messages.ts';
import { ShardControl, STOP } from './shard-control.ts';
import { ShardProcessor } from './shard-processor.ts';

/**
 * Piscina worker of the feature pool. Two task shapes (pool-shape benchmark compares them):
 * - `own`: take the listed shards over and loop in this thread until the pool stops: process
 *   what each shard's tick ring has (one cursor commit per batch), then wait — a bounded adaptive
 *   spin sized from the measured wake-up cost (ring/spin-wait.ts), then a park: Atomics.wait on
 *   the ring head when the worker owns one shard, on its doorbell (ring/doorbell.ts) when it owns
 *   several. This is the shape the pool uses (measured faster, pool-shape.ts).
 * - `batch`: process what one shard has now and return (a piscina round trip per batch).
 * Shared memory and parameters come once, in workerData, validated here before the first tick.
 */
interface WorkerContext {
  data: FeatureWorkerData;
  state: FeatureState;
  control: ShardControl;
  coefficients: ReturnType<typeof coefficients>;
  /** Processors kept across `batch` tasks (attached once per shard per thread). */
  processors: Map<number, ShardProcessor>;
  tickDoorbells: Doorbells | undefined;
  candidateDoorbell: Doorbells | undefined;
}

let context: WorkerContext | undefined;

function init(): WorkerContext {
  if (context) return context;
  const parsed = featureWorkerDataSchema.safeParse(workerData);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new AppError(
      ErrorCode.BAD_INPUT,
      `${ErrorCode.BAD_INPUT}: feature worker startup data invalid: ${fields}`,
    );
  }
  const data = parsed.data;
  if (data.tickRings.length !== data.shards || data.candidateRings.length !== data.shards) {
    throw new AppError(
      ErrorCode.BAD_INPUT,
      `${ErrorCode.BAD_INPUT}: one tick ring and one candidate ring per shard`,
    );
  }
  context = {
    data,
    state: FeatureState.attach(data.featureStateSab),
    control: ShardControl.attach(data.controlSab),
    coefficients: coefficients(data.featureParams, data.patternParams),
    processors: new Map(),
    tickDoorbells: data.tickDoorbells ? Doorbells.attach(data.tickDoorbells) : undefined,
    candidateDoorbell: data.candidateDoorbell ? Doorbells.attach(data.candidateDoorbell) : undefined,
  };
  return context;
}

function processorFor(ctx: WorkerContext, shard: number): ShardProcessor {
  if (shard >= ctx.data.shards) {
    throw new AppError(ErrorCode.BAD_INPUT, `${ErrorCode.BAD_INPUT}: shard ${shard} out of range`);
  }
  return new ShardProcessor({
    shard,
    shards: ctx.data.shards,
    consumer: ctx.data.tickConsumer,
    tickRing: ctx.data.tickRings[shard]!,
    candidateRing: ctx.data.candidateRings[shard]!,
    state: ctx.state,
    control: ctx.control,
    coefficients: ctx.coefficients,
    candidatePolicy: ctx.data.candidatePolicy,
    candidateDoorbell: ctx.candidateDoorbell,
    candidateWakeUs: ctx.data.candidateWakeUs,
  });
}

async function ownShards(ctx: WorkerContext, shards: number[]): Promise<OwnShardsResult> {
  const procs = shards.map((s) => processorFor(ctx, s));
  for (const p of procs) p.countTakeover();
  const { maxBatch, spinsBeforeSleep, sleepTimeoutMs } = ctx.data;
  const control = ctx.control;
  const poll = ctx.data.waitMode === 'poll';
  const spin = new SpinBudget(ctx.data.spinUs);
  // Several shards: park on the doorbell slot of the first one (slots are per shard, and a shard
  // has one owner, so the slot is this worker's alone).
  const bells = procs.length > 1 ? ctx.tickDoorbells : undefined;
  const slot = shards[0]!;
  const tickRings = procs.map((p) => p.ticks);
  const cursors = new Uint32Array(procs.length);
  bells?.listen(slot, tickRings);
  let ticks = 0;
  let sleeps = 0;
  let idle = 0;
  for (;;) {
    let progressed = 0;
    for (let i = 0; i < procs.length; i++) progressed += procs[i]!.processBatch(maxBatch);
    if (progressed !== 0) {
      ticks += progressed;
      idle = 0;
      continue;
    }
    // Nothing to process: the inference thread hears about every candidate before this one
    // spins, parks or stops.
    for (let i = 0; i < procs.length; i++) procs[i]!.wakeCandidateConsumer();
    const stop = control.stop();
    if (stop === STOP.NOW) break;
    if (stop === STOP.DRAIN) {
      let left = 0;
      for (let i = 0; i < procs.length; i++) left += procs[i]!.readable();
      if (left === 0) break;
      continue;
    }
    // The naive baseline re-reads the heads a fixed number of times before sleeping.
    if (poll && ++idle <= spinsBeforeSleep) continue;
    idle = 0;
    sleeps++;
    // One shard: spin, then park on its ring head until the producer publishes (the pool's stop
    // also notifies). Several shards: spin, then park on this worker's doorbell, which every
    // owned ring's producer rings while the worker sleeps.
    if (procs.length === 1) procs[0]!.waitForTicks(sleepTimeoutMs, poll ? undefined : spin);
    else if (bells) {
      for (let i = 0; i < procs.length; i++) cursors[i] = procs[i]!.cursor();
      bells.sleep(slot, tickRings, cursors, sleepTimeoutMs, poll ? undefined : spin);
    }
    // Without doorbells (a caller that does not give the producer one): wait asynchronously on
    // every head at once and resume on the first publish. The waiters left on the heads that did
    // not fire expire at their timeout (or at the next publish there): a short bound keeps them
    // few when the worker sleeps often.
    else await waitForAnyRing(procs, Math.min(sleepTimeoutMs, 50));
  }
  return { type: 'own', shards, ticks, sleeps, spinHits: spin.spinHits };
}

/**
 * Sleep until any of the shards' producers publishes (or the timeout passes): announce a sleeper
 * on every ring, re-check them all (no lost wake-up, ring-buffer.ts), then Atomics.waitAsync on
 * every head and resume on the first. Allocates a few promises per sleep, never per tick.
 */
async function waitForAnyRing(procs: ShardProcessor[], timeoutMs: number): Promise<void> {
  for (const p of procs) Atomics.add(p.ticks.ctrl, CTRL.SLEEPERS, 1);
  try {
    const waits: Promise<unknown>[] = [];
    for (const p of procs) {
      const head = Atomics.load(p.ticks.ctrl, CTRL.HEAD);
      if (p.readable() !== 0) return;
      const w = Atomics.waitAsync(p.ticks.ctrl, CTRL.HEAD, head, timeoutMs);
      if (!w.async) return;
      waits.push(w.value);
    }
    await Promise.race(waits);
  } finally {
    for (const p of procs) Atomics.sub(p.ticks.ctrl, CTRL.SLEEPERS, 1);
  }
}

function runBatch(ctx: WorkerContext, shard: number, maxTicks: number): BatchResult {
  let p = ctx.processors.get(shard);
  if (!p) {
    p = processorFor(ctx, shard);
    ctx.processors.set(shard, p);
  }
  let ticks = 0;
  for (;;) {
    const n = p.processBatch(Math.min(ctx.data.maxBatch, maxTicks - ticks));
    ticks += n;
    if (n === 0 || ticks >= maxTicks) break;
  }
  return { type: 'batch', shard, ticks };
}

export default function featureTask(task: FeatureTask): Promise<OwnShardsResult> | BatchResult {
  const ctx = init();
  // The per-batch shape is checked by hand: a zod parse per batch would dominate a small batch.
  if (task !== null && typeof task === 'object' && task.type === 'batch') {
    if (!Number.isInteger(task.shard) || !Number.isInteger(task.maxTicks) || task.maxTicks < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, `${ErrorCode.BAD_INPUT}: bad batch task`);
    }
    return runBatch(ctx, task.shard, task.maxTicks);
  }
  const own = ownShardsTaskSchema.safeParse(task);
  if (!own.success) throw new AppError(ErrorCode.BAD_INPUT, `${ErrorCode.BAD_INPUT}: unknown feature task`);
  return ownShards(ctx, own.data.shards);
}
