/**
 * The inference thread's crash drill, in every `npm test`: a test-only fault (messages.ts,
 * faultSchema) fails the thread at a chosen batch, deterministically, in place of killing it from
 * outside (worker.terminate() on a thread holding an ORT session can abort the test process).
 *
 * What is designed (inference-thread.ts, Supervision): the handle detects the death (`exited`,
 * `running`, `runErrors`) and does not restart the thread; the batch it died on was not
 * committed, so a new thread on the same rings scores it and everything after it: each candidate
 * once, unless the thread died after publishing that batch, which is then scored twice. The engine (index.ts) treats the death as fatal: `onFatal` (the daemon
 * exits and its supervisor restarts it), readiness `inference: false`, and /metrics shows the
 * failed run.
 */

import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { type AppError, ErrorCode, isAppError } from '@aegis/shared/errors';
import { createLogger } from '@aegis/shared/logging';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../config.ts';
import { startEngine } from '../index.ts';
import { Mulberry32 } from '../random/seeded-random.ts';
import { type InferenceThreadHandle, startInferenceThread } from './inference-thread.ts';
import { FAULT_EXIT_CODE, InferenceErrorCode, type InferenceFault, inferenceReasonOf } from './messages.ts';
import { consume, produce, randomCandidate, referenceScores, rings } from './test-rings.ts';

const handles: InferenceThreadHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
});

const MAX_BATCH = 32;
const TOTAL = 600;
const AFTER_BATCHES = 5;

describe('inference thread crash drill (fault injected in the thread)', () => {
  const BEFORE = AFTER_BATCHES * MAX_BATCH;
  it.each([
    {
      kind: 'throw',
      exitCode: 1,
      code: ErrorCode.INTERNAL,
      reason: InferenceErrorCode.RUN_FAILED,
      runErrors: 1,
      published: AFTER_BATCHES,
    },
    {
      kind: 'exit',
      exitCode: FAULT_EXIT_CODE,
      code: ErrorCode.UNAVAILABLE,
      reason: InferenceErrorCode.THREAD_EXITED,
      runErrors: 0,
      published: AFTER_BATCHES,
    },
    {
      kind: 'exit-after-publish',
      exitCode: FAULT_EXIT_CODE,
      code: ErrorCode.UNAVAILABLE,
      reason: InferenceErrorCode.THREAD_EXITED,
      runErrors: 0,
      published: AFTER_BATCHES + 1,
    },
  ] as const)(
    'fault $kind at batch 6: the death is reported, the candidate cursor stays before the batch, and a new thread on the same rings scores the rest ($published batches published before)',
    async ({ kind, exitCode, code, reason, runErrors, published }) => {
      const { candidateRings, scoredRing } = rings(1, 1024, 1024);
      const candidates = candidateRings[0]!;
      const rng = new Mulberry32(21);
      const cands = Array.from({ length: TOTAL }, (_, i) => randomCandidate(rng, i));
      // Every candidate is in the ring before the thread starts: each batch is a full MAX_BATCH,
      // so the fault falls on the same candidates every run.
      produce(candidates, cands);
      const start = (fault?: InferenceFault) =>
        startInferenceThread({
          candidateRings: [candidates.sab],
          scoredRing: scoredRing.sab,
          maxBatch: MAX_BATCH,
          maxWaitUs: 0,
          executionProvider: 'cpu',
          logLevel: 'silent',
          ...(fault ? { fault } : {}),
        });

      const first = start({ kind, afterBatches: AFTER_BATCHES });
      handles.push(first);
      await first.ready;
      const death = await first.exited;
      expect(death.exitCode).toBe(exitCode);
      expect(isAppError(death.error, code)).toBe(true);
      expect(inferenceReasonOf(death.error)).toBe(reason);
      if (kind === 'throw') expect((death.error as AppError).message).toContain('injected fault');
      const st = first.stats();
      expect(st.running).toBe(false);
      expect(st.runErrors).toBe(runErrors);
      expect(st.batches).toBe(published);
      expect(st.scored).toBe(published * MAX_BATCH);
      expect(scoredRing.readable(0)).toBe(published * MAX_BATCH);
      // The batch the thread died on is not committed: the candidate cursor is where it began.
      expect(candidates.cursor(0)).toBe(BEFORE);
      expect(candidates.readable(0)).toBe(TOTAL - BEFORE);

      const second = start();
      handles.push(second);
      await second.ready;
      const scored = await consume(scoredRing, published * MAX_BATCH + TOTAL - BEFORE);
      await second.stop();
      expect((await second.exited).exitCode).toBe(0);
      expect(scoredRing.readable(0)).toBe(0);
      expect(candidates.readable(0)).toBe(0);
      expect(second.stats().scored).toBe(TOTAL - BEFORE);
      expect(second.stats().runErrors).toBe(0);
      // In ring order: what the first thread published, then everything from the committed
      // cursor on. Only a death after publishing repeats a batch, and then exactly that one
      // batch, with the same scores (a consumer drops it by shard + candidateId).
      const ids = cands.map((c) => c.id);
      expect(scored.map((r) => r.id)).toEqual([...ids.slice(0, published * MAX_BATCH), ...ids.slice(BEFORE)]);
      const repeated = scored.slice(BEFORE, published * MAX_BATCH);
      const again = scored.slice(published * MAX_BATCH, published * MAX_BATCH + repeated.length);
      expect(again.map((r) => [r.id, r.score])).toEqual(repeated.map((r) => [r.id, r.score]));
      const want = await referenceScores(cands);
      const maxDiff = Math.max(...scored.map((r) => Math.abs(r.score - want.get(r.id)!)));
      expect(maxDiff).toBeLessThan(1e-5);
    },
  );
});

describe('engine supervision of the inference thread (fault injected in a whole engine)', () => {
  it('a dead inference thread is fatal: onFatal once, readiness and /metrics show it, nothing is scored after it, stop() still completes', async () => {
    const log = createLogger({ name: 'inference-crash-test', level: 'silent' });
    const config = loadEngineConfig({
      ENGINE_FEED: 'synthetic',
      ENGINE_SYMBOLS: '16',
      ENGINE_SHARDS: '1',
      ENGINE_WORKERS: '1',
      ENGINE_TICK_RATE: '5000',
      ENGINE_SIGNAL_MIN_SCORE: '0',
      ENGINE_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'silent',
    });
    const bus = new MemoryBus();
    const fatals: Error[] = [];
    let resolveFatal!: () => void;
    const fatal = new Promise<void>((r) => {
      resolveFatal = r;
    });
    const engine = await startEngine({
      config,
      bus,
      log,
      inferenceFault: { kind: 'throw', afterBatches: 3 },
      onFatal: (err) => {
        fatals.push(err);
        resolveFatal();
      },
    });
    try {
      expect(engine.readiness().inference).toBe(true);
      await fatal;
      expect(fatals).toHaveLength(1);
      expect(fatals[0]!.message).toBe('inference thread exited unexpectedly (1)');
      const inference = engine.stats().inference;
      expect(inference.running).toBe(false);
      expect(inference.batches).toBe(3);
      expect(inference.runErrors).toBe(1);
      expect(engine.readiness().inference).toBe(false);
      expect(engine.isReady()).toBe(false);
      const metrics = engine.metricsText();
      expect(metrics).toMatch(/^aegis_engine_inference_errors_total(\{[^}]*\})? 1$/m);
      expect(metrics).toMatch(/^aegis_engine_inference_batches_total(\{[^}]*\})? 3$/m);
      // Every batch went down one scoring path or the other, and /metrics says which.
      const byPath = (path: string) =>
        Number(
          new RegExp(`^aegis_engine_inference_path_batches_total\\{path="${path}"\\} (\\d+)$`, 'm').exec(
            metrics,
          )?.[1],
        );
      expect(byPath('js') + byPath('ort')).toBe(3);
    } finally {
      await engine.stop();
      await bus.close();
    }
    // Crash-only: no thread took over in this process, so the three batches are all it scored,
    // and the fatal was reported once (the stop did not report it again).
    expect(engine.stats().inference.batches).toBe(3);
    expect(engine.stats().inference.scored).toBeLessThanOrEqual(3 * config.maxBatch);
    expect(fatals).toHaveLength(1);
  });
});
