import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import * as ort from 'onnxruntime-node';
import { countGcs } from '../../shared/bench/lib/cpu-time.ts';
import { startInferenceThread } from '../src/inference/inference-thread.ts';
import { openScoringSession } from '../src/inference/scoring-session.ts';
import { MODEL_INPUT_SIZE } from '../src/model/inputs.ts';
import { DEFAULT_ONNX_PATH } from '../src/model/model-file.ts';
import { Mulberry32 } from '../src/random/seeded-random.ts';
import { CANDIDATE, SCORED } from '../src/ring/layout.ts';
import { RingBuffer } from '../src/ring/ring-buffer.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const machine = machineInfo();
const BATCH_SIZES = [1, 8, 32, 128, 256, 1024];
const rng = new Mulberry32(1);

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const gcsSoFar = countGcs();

const { session } = await openScoringSession(DEFAULT_ONNX_PATH, 'cpu', 1);
const input = new Float32Array(1024 * MODEL_INPUT_SIZE);
for (let i = 0; i < input.length; i++) input[i] = rng.normal();
const output = new Float32Array(1024);

const rows: { batch: number; p50Us: number; p99Us: number; perRowUs: number; heapBytesPerRun: number }[] = [];
for (const n of BATCH_SIZES) {
  const feeds = {
    features: new ort.Tensor('float32', input.subarray(0, n * MODEL_INPUT_SIZE), [n, MODEL_INPUT_SIZE]),
  };
  const fetches = { score: new ort.Tensor('float32', output.subarray(0, n), [n, 1]) };
  for (let i = 0; i < 500; i++) await session.run(feeds, fetches);
  const runs = 5000;
  const lat = new Float64Array(runs);
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds, fetches);
    lat[i] = (performance.now() - t0) * 1000;
  }
  lat.sort();
  // Allocation: heap delta over a window with no GC in it.
  let heapBytesPerRun = Number.NaN;
  for (let attempt = 0; attempt < 5 && Number.isNaN(heapBytesPerRun); attempt++) {
    gc();
    // GC entries reach the observer asynchronously: let the forced GC's entry arrive first.
    await new Promise((r) => setTimeout(r, 20));
    const before = gcsSoFar();
    const h0 = process.memoryUsage().heapUsed;
    const m = 200;
    for (let i = 0; i < m; i++) await session.run(feeds, fetches);
    const h1 = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 20));
    if (gcsSoFar() === before) heapBytesPerRun = (h1 - h0) / m;
  }
  rows.push({
    batch: n,
    p50Us: quantile(lat, 0.5),
    p99Us: quantile(lat, 0.99),
    perRowUs: quantile(lat, 0.5) / n,
    heapBytesPerRun,
  });
}
await session.release();

// Part 2: through the thread.
const total = 200_000;
const candidateRing = RingBuffer.create({ capacity: 1 << 14, recordBytes: CANDIDATE.bytes, consumers: 1 });
const scoredRing = RingBuffer.create({ capacity: 1 << 14, recordBytes: SCORED.bytes, consumers: 1 });
const thread = startInferenceThread({
  candidateRings: [candidateRing.sab],
  scoredRing: scoredRing.sab,
  maxBatch: 256,
  maxWaitUs: 0,
  executionProvider: 'cpu',
  logLevel: 'warn',
});
const ready = await thread.ready;
const t0 = performance.now();
let produced = 0;
let consumed = 0;
while (consumed < total) {
  if (produced < total) {
    const n = Math.min(512, total - produced);
    const seq = candidateRing.tryClaim(n);
    if (seq !== -1) {
      for (let k = 0; k < n; k++) {
        const s = (seq + k) >>> 0;
        const b64 = candidateRing.base64(s);
        const b8 = candidateRing.base8(s);
        candidateRing.u32[candidateRing.base32(s)] = produced + k;
        candidateRing.u8[b8 + CANDIDATE.u8.pattern] = 1 + ((produced + k) % 3);
        candidateRing.i8[b8 + CANDIDATE.i8.direction] = (produced + k) % 2 === 0 ? 1 : -1;
        const price = 100 + (k % 7);
        candidateRing.f64[b64 + CANDIDATE.f64.price] = price;
        const f = b64 + CANDIDATE.f64.features;
        candidateRing.f64.set(
          [price * 1.0002, price, price * 0.999, 1e-4, 0.3, price * 1.00003, 0.5, 1e-3],
          f,
        );
      }
      candidateRing.publish((seq + n) >>> 0);
      produced += n;
    }
  }
  const avail = scoredRing.readable(0);
  if (avail > 0) {
    scoredRing.commit(0, (scoredRing.cursor(0) + avail) >>> 0);
    consumed += avail;
  } else if (produced >= total) {
    await scoredRing.waitForDataAsync(0, 100);
  } else {
    await new Promise((r) => setImmediate(r));
  }
}
const seconds = (performance.now() - t0) / 1000;
const st = thread.stats();
await thread.stop();

console.log(`inference session (CPU provider, 1 intra-op thread, committed model), ${ready.modelVersion}`);
console.log('batch   p50 µs   p99 µs   µs/row   JS heap bytes/run');
for (const r of rows) {
  console.log(
    `${String(r.batch).padStart(5)} ${r.p50Us.toFixed(1).padStart(8)} ${r.p99Us.toFixed(1).padStart(8)} ${r.perRowUs.toFixed(3).padStart(8)} ${r.heapBytesPerRun.toFixed(0).padStart(19)}`,
  );
}
const thread2 = {
  candidates: total,
  candidatesPerSec: Math.round(total / seconds),
  batches: st.batches,
  meanBatchSize: Number(st.meanBatchSize.toFixed(1)),
  maxBatchSize: st.maxBatchSize,
  meanRunUs: Number((st.latencyUs.sum / st.batches).toFixed(1)),
};
console.log(`inference thread, maxBatch 256, maxWaitUs 0: ${JSON.stringify(thread2)}`);
writeBenchResult('inference', {
  question: 'cost of one inference micro-batch by batch size, and what the hot path allocates',
  machine,
  modelVersion: ready.modelVersion,
  provider: ready.provider,
  session: rows,
  thread: thread2,
  at: new Date().toISOString(),
});
