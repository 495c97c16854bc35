import { parentPort, workerData } from 'node:worker_threads';
import { TICK } from '../../src/ring/layout.ts';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';

/**
 * The consumer side of the ring benchmark (ring-bench.ts), in its own thread: reads every tick's
 * symbol and price (so the records are really loaded), commits once per batch, sleeps on
 * Atomics.wait only when the ring is empty. Or, for the baseline, counts postMessage'd ticks.
 */
interface Job {
  mode: 'ring' | 'message';
  sab?: SharedArrayBuffer;
  ticks: number;
  maxBatch: number;
}
const job = workerData as Job;

if (job.mode === 'ring') {
  const ring = RingBuffer.attach(job.sab!);
  let consumed = 0;
  let checksum = 0;
  while (consumed < job.ticks) {
    let n = ring.readable(0);
    if (n === 0) {
      for (let spin = 0; spin < 200 && n === 0; spin++) n = ring.readable(0);
      if (n === 0) n = ring.waitForData(0, 100);
      if (n === 0) continue;
    }
    if (n > job.maxBatch) n = job.maxBatch;
    const from = ring.cursor(0);
    for (let k = 0; k < n; k++) {
      const seq = (from + k) >>> 0;
      checksum +=
        ring.u32[ring.base32(seq) + TICK.u32.symbolId]! + ring.f64[ring.base64(seq) + TICK.f64.price]!;
    }
    ring.commit(0, (from + n) >>> 0);
    consumed += n;
  }
  parentPort!.postMessage({ consumed, checksum });
} else {
  let consumed = 0;
  let checksum = 0;
  parentPort!.on('message', (m: { symbolId: number; price: number }) => {
    checksum += m.symbolId + m.price;
    if (++consumed === job.ticks) parentPort!.postMessage({ consumed, checksum });
  });
}
