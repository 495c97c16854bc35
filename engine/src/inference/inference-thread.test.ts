/**
 * The inference thread over a real onnxruntime-node session in a worker thread: scoring, batching,
 * stop-and-drain, provider choice and a refused model. Its crash drills (a fault injected in the
 * thread, and the engine's answer to it) are in inference-crash.test.ts; the ring fixtures both
 * use are in test-rings.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MODEL_INPUT_SIZE } from '../model/inputs.ts';
import { trainMlp } from '../model/mlp.ts';
import { loadModelFile } from '../model/model-file.ts';
import { exportMlpToOnnx } from '../model/onnx-export.ts';
import { Mulberry32 } from '../random/seeded-random.ts';
import { type InferenceThreadHandle, startInferenceThread } from './inference-thread.ts';
import { InferenceErrorCode, inferenceReasonOf } from './messages.ts';
import { type Candidate, consume, produce, randomCandidate, referenceScores, rings } from './test-rings.ts';

const handles: InferenceThreadHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
});

describe('inference thread (real onnxruntime-node session in a worker thread)', () => {
  it('scores every candidate of every shard once, in per-shard order, equal to the TypeScript model', async () => {
    const { candidateRings, scoredRing } = rings(3);
    const maxBatch = 16;
    const h = startInferenceThread({
      candidateRings: candidateRings.map((r) => r.sab),
      scoredRing: scoredRing.sab,
      maxBatch,
      maxWaitUs: 0,
      executionProvider: 'cpu',
      logLevel: 'warn',
    });
    handles.push(h);
    const { provider, modelVersion } = await h.ready;
    expect(provider).toBe('cpu');
    expect(modelVersion).toBe((await loadModelFile()).file.version);

    const rng = new Mulberry32(99);
    const total = 1500;
    const all = Array.from({ length: total }, (_, i) => randomCandidate(rng, i));
    const shardOf = (c: Candidate) => c.id % 3;
    const consumed = consume(scoredRing, total);
    // Uneven bursts per shard, interleaved, some larger than maxBatch.
    for (let i = 0; i < total; ) {
      const burst = 1 + rng.int(40);
      const chunk = all.slice(i, i + burst);
      for (let s = 0; s < 3; s++) {
        const part = chunk.filter((c) => shardOf(c) === s);
        if (part.length > 0) produce(candidateRings[s]!, part);
      }
      i += burst;
      if (rng.next() < 0.3) await new Promise((r) => setTimeout(r, 1));
    }
    const scored = await consumed;

    expect(scored).toHaveLength(total);
    expect(new Set(scored.map((s) => s.id)).size).toBe(total);
    for (let s = 0; s < 3; s++) {
      const ids = scored.filter((r) => r.shard === s).map((r) => r.id);
      expect(ids).toEqual(all.filter((c) => shardOf(c) === s).map((c) => c.id));
    }
    const want = await referenceScores(all);
    const byId = new Map(all.map((c) => [c.id, c]));
    let maxDiff = 0;
    for (const r of scored) {
      const c = byId.get(r.id)!;
      expect(r.shard).toBe(shardOf(c));
      expect(r.symbolId).toBe(c.symbolId);
      expect(r.tsEventUs).toBe(c.tsEventUs);
      expect(r.pattern).toBe(c.pattern);
      expect(r.direction).toBe(c.direction);
      expect(r.price).toBe(c.price);
      expect(r.features).toEqual(Array.from(c.features));
      expect(r.batchSize).toBeGreaterThanOrEqual(1);
      expect(r.batchSize).toBeLessThanOrEqual(maxBatch);
      expect(r.tsSignalUs).toBeGreaterThan(1_764_000_000_000_000);
      maxDiff = Math.max(maxDiff, Math.abs(r.score - want.get(r.id)!));
    }
    expect(maxDiff).toBeLessThan(1e-5);

    const st = h.stats();
    expect(st.scored).toBe(total);
    expect(st.maxBatchSize).toBeLessThanOrEqual(maxBatch);
    expect(st.latencyUs.counts.reduce((a, b) => a + b, 0)).toBe(st.batches);
    expect(st.batchSize.counts.reduce((a, b) => a + b, 0)).toBe(st.batches);
    expect(st.meanBatchSize).toBeCloseTo(total / st.batches, 10);
    // Every record of a batch carries that batch's size: the records of each batch are contiguous.
    let i = 0;
    let batches = 0;
    while (i < scored.length) {
      const size = scored[i]!.batchSize;
      for (let k = 0; k < size; k++) expect(scored[i + k]!.batchSize).toBe(size);
      i += size;
      batches++;
    }
    expect(batches).toBe(st.batches);
  });

  it('cuts a backlog into batches of at most maxBatch, and waits for a full batch when maxWaitUs allows', async () => {
    const { candidateRings, scoredRing } = rings(1);
    const h = startInferenceThread({
      candidateRings: [candidateRings[0]!.sab],
      scoredRing: scoredRing.sab,
      maxBatch: 32,
      // Long enough that the batch fills from the second burst rather than timing out.
      maxWaitUs: 5_000_000,
      executionProvider: 'cpu',
      logLevel: 'warn',
    });
    handles.push(h);
    await h.ready;
    const rng = new Mulberry32(5);
    const cands = Array.from({ length: 100 }, (_, i) => randomCandidate(rng, i));
    const consumed = consume(scoredRing, 64);
    // 10 first: the thread starts a batch and waits; the next 90 complete it and two more full
    // batches, and 4 are left over.
    produce(candidateRings[0]!, cands.slice(0, 10));
    await new Promise((r) => setTimeout(r, 20));
    produce(candidateRings[0]!, cands.slice(10));
    const scored = await consumed;
    expect(scored.map((s) => s.batchSize)).toEqual(new Array(64).fill(32));
    expect(scored.map((s) => s.id)).toEqual(cands.slice(0, 64).map((c) => c.id));
    // The remaining 4 wait (maxWaitUs) for a full batch; stop() drains them at once.
    await h.stop();
    const rest = await consume(scoredRing, 36);
    expect(rest.map((s) => s.id)).toEqual(cands.slice(64).map((c) => c.id));
    expect(rest.slice(0, 32).map((s) => s.batchSize)).toEqual(new Array(32).fill(32));
    expect(rest.slice(32).map((s) => s.batchSize)).toEqual([4, 4, 4, 4]);
    expect(h.stats().scored).toBe(100);
    expect(h.stats().maxBatchSize).toBe(32);
    expect(h.stats().running).toBe(false);
  });

  it('stop() drains every candidate already published, then the thread exits cleanly', async () => {
    const { candidateRings, scoredRing } = rings(2, 4096, 8192);
    const h = startInferenceThread({
      candidateRings: candidateRings.map((r) => r.sab),
      scoredRing: scoredRing.sab,
      maxBatch: 64,
      maxWaitUs: 0,
      executionProvider: 'auto',
      logLevel: 'warn',
    });
    handles.push(h);
    await h.ready;
    const rng = new Mulberry32(11);
    const cands = Array.from({ length: 6000 }, (_, i) => randomCandidate(rng, i));
    produce(candidateRings[0]!, cands.slice(0, 3000));
    produce(candidateRings[1]!, cands.slice(3000));
    await h.stop();
    const { exitCode } = await h.exited;
    expect(exitCode).toBe(0);
    const scored = await consume(scoredRing, 6000);
    expect(scored).toHaveLength(6000);
    expect(new Set(scored.map((s) => s.id)).size).toBe(6000);
    expect(candidateRings[0]!.readable(0)).toBe(0);
    expect(candidateRings[1]!.readable(0)).toBe(0);
  });

  it("'auto' falls back to CPU, and 'cuda' without the CUDA binaries fails with a code", async () => {
    const cudaLib = join(
      import.meta.dirname,
      '../../../node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so',
    );
    const { candidateRings, scoredRing } = rings(1);
    const auto = startInferenceThread({
      candidateRings: [candidateRings[0]!.sab],
      scoredRing: scoredRing.sab,
      maxBatch: 8,
      maxWaitUs: 0,
      executionProvider: 'auto',
      logLevel: 'warn',
    });
    handles.push(auto);
    const got = await auto.ready;
    await auto.stop();
    if (existsSync(cudaLib)) {
      expect(['cpu', 'cuda']).toContain(got.provider);
      return; // a GPU box: nothing more to assert without knowing the driver
    }
    expect(got.provider).toBe('cpu');
    const cuda = startInferenceThread({
      candidateRings: [candidateRings[0]!.sab],
      scoredRing: scoredRing.sab,
      maxBatch: 8,
      maxWaitUs: 0,
      executionProvider: 'cuda',
      logLevel: 'silent',
    });
    const refused = await cuda.ready.catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'UNAVAILABLE',
      details: { reason: 'INFERENCE_PROVIDER_UNAVAILABLE' },
    });
    expect(inferenceReasonOf(refused)).toBe(InferenceErrorCode.PROVIDER_UNAVAILABLE);
    expect((await cuda.exited).exitCode).not.toBe(0);
  });

  it('refuses a model whose input width is not MODEL_INPUT_SIZE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aegis-model-'));
    try {
      const rng = new Mulberry32(1);
      const d = MODEL_INPUT_SIZE - 2;
      const x = Float32Array.from({ length: 50 * d }, () => rng.normal());
      const y = Uint8Array.from({ length: 50 }, () => rng.int(2));
      const set = { x, y, n: 50, d };
      const { model } = trainMlp(set, set, {
        hiddenSizes: [4],
        hiddenActivation: 'relu',
        epochs: 1,
        batchSize: 10,
        learningRate: 0.01,
        weightDecay: 0,
        seed: 1,
        patience: 0,
      });
      const modelPath = join(dir, 'narrow.onnx');
      await writeFile(modelPath, exportMlpToOnnx(model));
      const { candidateRings, scoredRing } = rings(1);
      const h = startInferenceThread({
        modelPath,
        candidateRings: [candidateRings[0]!.sab],
        scoredRing: scoredRing.sab,
        maxBatch: 8,
        maxWaitUs: 0,
        executionProvider: 'cpu',
        logLevel: 'silent',
      });
      await expect(h.ready).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
        details: { reason: 'INFERENCE_MODEL_SHAPE_MISMATCH' },
      });
      await h.exited;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
