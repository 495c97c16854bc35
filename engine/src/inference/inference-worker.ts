/**
 * Entry of the dedicated inference thread (a plain worker_threads Worker, not a pool task: it owns
 * the InferenceSession for its whole life and keeps its batch buffers warm).
 *
 * Loop: gather candidates -> (if the batch is not full and maxWaitUs > 0, wait up to maxWaitUs
 * from the first candidate for more) -> score the batch: a batch of at most jsMaxBatch rows with
 * the JS forward pass of the model's weights (scoring-path.ts says why and where the crossover
 * is), a larger one with one session.run -> SCORED records -> commit. Every wait — for a first candidate, or for more within the batch window — is a bounded
 * adaptive spin (`spinUs`, sized from the measured wake-up cost) and then a park in Atomics.wait
 * on the ring's head or this thread's doorbell (ring/spin-wait.ts, ring/doorbell.ts): the thread
 * never polls, and its producers pay a notify only while it is parked.
 * Stop: the main thread sets CONTROL.STOP and wakes the rings; the thread scores everything still
 * in the candidate rings, then exits.
 * Failure: a failed session.run (or JS pass) ends the thread (exit code 1, an `error` message with its reason);
 * the batch it held is neither published nor committed. The main thread does not restart it
 * (inference-thread.ts says what the engine does instead).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@aegis/shared/logging';
import * as ort from 'onnxruntime-node';
import { MODEL_INPUT_SIZE } from '../model/inputs.ts';
import { MlpKernel } from '../model/mlp.ts';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../model/onnx-export.ts';
import { Doorbells } from '../ring/doorbell.ts';
import { RingBuffer } from '../ring/ring-buffer.ts';
import { SpinBudget } from '../ring/spin-wait.ts';
import { CandidateBatcher } from './candidate-batcher.ts';
import {
  CONTROL,
  FAULT_EXIT_CODE,
  InferenceErrorCode,
  type InferenceFault,
  type InferenceStartup,
  inferenceError,
  inferenceReasonOf,
  startupSchema,
  type WorkerToMain,
} from './messages.ts';
import { jsMaxBatch } from './scoring-path.ts';
import { openScoringSession } from './scoring-session.ts';
import { STAT, StatsWriter } from './stats.ts';

/**
 * Idle park bound: the stop path notifies the rings and rings the doorbell, so this only caps a
 * wake-up that cannot arrive (a producer without the doorbell); it is not a polling period.
 */
const IDLE_WAIT_MS = 1000;
const SKIP_WINDOW_AFTER = 8;
const PROBE_WINDOW_EVERY = 16;

function post(msg: WorkerToMain): void {
  parentPort!.postMessage(msg);
}

function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * TEST ONLY (messages.ts, faultSchema): the crash drill's fault. The exits release the session
 * first: onnxruntime-node tearing down a live session in a thread that exits can abort the whole
 * process (inference-thread.ts, terminate), and the drill is of the supervision, not of ORT's
 * teardown.
 */
async function injectFault(fault: InferenceFault, session: ort.InferenceSession): Promise<never> {
  if (fault.kind === 'throw') {
    throw new Error(`injected fault: session.run fails after ${fault.afterBatches} batches`);
  }
  await session.release();
  process.exit(FAULT_EXIT_CODE);
}

async function run(startup: InferenceStartup): Promise<void> {
  const log = createLogger({ name: 'engine-inference', level: startup.logLevel });
  const scoring = await openScoringSession(
    startup.modelPath,
    startup.executionProvider,
    startup.intraOpThreads,
  );
  if (startup.scoringPath === 'js' && scoring.mlp === undefined) {
    await scoring.session.release();
    throw inferenceError(
      InferenceErrorCode.MODEL_SHAPE_MISMATCH,
      `scoring path js: ${startup.modelPath} is not an exported MLP (${scoring.mlpUnavailable})`,
    );
  }
  const kernel = scoring.mlp && startup.scoringPath !== 'ort' ? new MlpKernel(scoring.mlp) : undefined;
  const jsMax = jsMaxBatch(startup.scoringPath, kernel !== undefined);
  // Logged once: which provider this process actually got, and which batches skip it.
  log.info(
    {
      provider: scoring.provider,
      requested: startup.executionProvider,
      fallbackReason: scoring.fallbackReason,
      modelVersion: scoring.modelVersion,
      maxBatch: startup.maxBatch,
      maxWaitUs: startup.maxWaitUs,
      scoringPath: startup.scoringPath,
      jsMaxBatch: jsMax,
      jsUnavailable: scoring.mlpUnavailable,
      candidateRings: startup.candidateRings.length,
    },
    `inference: execution provider ${scoring.provider}`,
  );

  const rings = startup.candidateRings.map((sab) => RingBuffer.attach(sab));
  const scored = RingBuffer.attach(startup.scoredRing);
  const doorbells = startup.candidateDoorbell ? Doorbells.attach(startup.candidateDoorbell) : undefined;
  const batcher = new CandidateBatcher(rings, startup.candidateConsumer, scored, startup.maxBatch, doorbells);
  const poll = startup.waitMode === 'poll';
  const spin = new SpinBudget(startup.spinUs);
  const control = new Int32Array(startup.control);
  const stats = new StatsWriter(startup.stats);
  const session = scoring.session;
  const fault = startup.fault;
  if (fault) log.warn({ fault }, 'inference: TEST fault injection armed');

  // One input and one output tensor per batch size, created on first use over the batcher's
  // buffers: a batch of n reuses them, so ORT writes the scores straight into batcher.scores and
  // the only per-batch allocations left are the ones inside session.run.
  const feeds: (Record<string, ort.Tensor> | undefined)[] = new Array(startup.maxBatch + 1);
  const fetches: (Record<string, ort.Tensor> | undefined)[] = new Array(startup.maxBatch + 1);
  const bind = (n: number): void => {
    feeds[n] = {
      [ONNX_INPUT_NAME]: new ort.Tensor('float32', batcher.input.subarray(0, n * MODEL_INPUT_SIZE), [
        n,
        MODEL_INPUT_SIZE,
      ]),
    };
    fetches[n] = { [ONNX_OUTPUT_NAME]: new ort.Tensor('float32', batcher.scores.subarray(0, n), [n, 1]) };
  };
  const onScoredFull = (): void => stats.increment(STAT.scoredRingWaits);

  post({ type: 'ready', provider: scoring.provider, modelVersion: scoring.modelVersion });

  const maxWaitMs = startup.maxWaitUs / 1000;
  // A batch window that gathers nothing only adds latency: after SKIP_WINDOW_AFTER fruitless
  // windows in a row (candidates arrive slower than the window), batches run at once, and one
  // window in PROBE_WINDOW_EVERY is tried to notice when they speed up again.
  let fruitless = 0;
  let skipped = 0;
  let drained = 0;
  let batches = 0;
  for (;;) {
    let n = batcher.gather();
    if (n === 0) {
      if (Atomics.load(control, CONTROL.STOP) !== 0) break;
      stats.increment(STAT.candidateWaits);
      const w = batcher.waitForCandidates(IDLE_WAIT_MS, spin);
      if (w) await w;
      continue;
    }
    if (
      n < startup.maxBatch &&
      maxWaitMs > 0 &&
      Atomics.load(control, CONTROL.STOP) === 0 &&
      (fruitless < SKIP_WINDOW_AFTER || ++skipped % PROBE_WINDOW_EVERY === 0)
    ) {
      const before = n;
      // The batch window: more candidates may join until the deadline. The thread parks until
      // the deadline, and asks the producers (WAKE_AT) to wake it only once the batch can be
      // full: they keep publishing without paying a wake-up per candidate (a notify that finds a
      // sleeper costs the notifier µs: ~9% of the feature worker in the profile with one per
      // candidate batch). A sub-ms Atomics.wait timeout is exact in a worker: no timer, no
      // re-check period.
      const deadline = performance.now() + maxWaitMs;
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0 || Atomics.load(control, CONTROL.STOP) !== 0) break;
        if (!poll) {
          const w = batcher.waitForCandidates(left, undefined, startup.maxBatch - n);
          if (w) await w;
        }
        n = batcher.gather();
        if (n >= startup.maxBatch) break;
      }
      fruitless = n === before ? fruitless + 1 : 0;
    }
    const js = n <= jsMax;
    if (!js && feeds[n] === undefined) bind(n);
    const faultHere = fault !== undefined && batches === fault.afterBatches ? fault : undefined;
    const t0 = performance.now();
    try {
      if (faultHere !== undefined && faultHere.kind !== 'exit-after-publish') {
        await injectFault(faultHere, session);
      }
      if (js) kernel!.run(batcher.input, n, batcher.scores);
      else await session.run(feeds[n]!, fetches[n]!);
    } catch (e) {
      stats.increment(STAT.runErrors);
      // The thread ends here: release the session before the error leaves the thread.
      await session.release().catch(() => {});
      throw inferenceError(
        InferenceErrorCode.RUN_FAILED,
        `${js ? 'JS forward pass' : 'session.run'} failed on a batch of ${n}: ${String(e)}`,
        {
          cause: e,
        },
      );
    }
    const latencyUs = (performance.now() - t0) * 1000;
    if (faultHere?.kind === 'exit-after-publish') {
      batcher.publishScored(nowUs(), onScoredFull, false);
      stats.recordBatch(n, latencyUs, js);
      await injectFault(faultHere, session);
    }
    batches++;
    batcher.publishScored(nowUs(), onScoredFull);
    stats.recordBatch(n, latencyUs, js);
    stats.set(STAT.spinHits, spin.spinHits);
    if (Atomics.load(control, CONTROL.STOP) !== 0) drained += n;
  }
  await session.release();
  log.info({ drained }, 'inference: stopped, candidate rings drained');
  post({ type: 'stopped', drained });
}

if (isMainThread || !parentPort) throw new Error('inference-worker.ts is a worker_threads entry');
const parsed = startupSchema.safeParse(workerData);
if (!parsed.success) {
  post({ type: 'error', code: InferenceErrorCode.BAD_STARTUP, message: parsed.error.message });
  process.exit(1);
}
try {
  await run(parsed.data);
} catch (e) {
  const code = inferenceReasonOf(e) ?? InferenceErrorCode.RUN_FAILED;
  post({ type: 'error', code, message: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
}
