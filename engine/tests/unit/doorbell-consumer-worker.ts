import { parentPort, workerData } from 'node:worker_threads';
import { Doorbells } from '../../src/ring/doorbell.ts';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';
import { SpinBudget } from '../../src/ring/spin-wait.ts';

/**
 * The consumer side of the doorbell test, in its own thread: sleeps on every ring at once through
 * its doorbell slot (no timeout that could hide a lost wake-up: 60 s), reads every record, checks
 * each ring's values arrive in order, and reports what it read.
 */
interface Job {
  rings: SharedArrayBuffer[];
  doorbells: SharedArrayBuffer;
  slot: number;
  total: number;
  spinUs: number;
  /** Ask to be woken only once a ring holds this many (WAKE_AT); 1 = any record. */
  wakeAfter: number;
}

const job = workerData as Job;
const rings = job.rings.map((s) => RingBuffer.attach(s));
const bells = Doorbells.attach(job.doorbells);
bells.listen(job.slot, rings);
const spin = new SpinBudget(job.spinUs);
const from = new Uint32Array(rings.length);
const expected = new Float64Array(rings.length);
let received = 0;
let outOfOrder = 0;
let sleeps = 0;
let timedOut = 0;
while (received < job.total) {
  let got = 0;
  for (let k = 0; k < rings.length; k++) {
    const r = rings[k]!;
    const n = r.readable(0);
    if (n === 0) continue;
    const c = r.cursor(0);
    for (let j = 0; j < n; j++) {
      const v = r.f64[r.base64((c + j) >>> 0)]!;
      if (v !== expected[k]) outOfOrder++;
      expected[k] = v + 1;
    }
    r.commit(0, (c + n) >>> 0);
    got += n;
  }
  received += got;
  if (got !== 0 || received >= job.total) continue;
  for (let k = 0; k < rings.length; k++) from[k] = rings[k]!.cursor(0);
  sleeps++;
  const t0 = performance.now();
  bells.sleep(job.slot, rings, from, 60_000, spin, job.wakeAfter);
  if (performance.now() - t0 >= 60_000) timedOut++;
}
parentPort!.postMessage({ received, outOfOrder, sleeps, timedOut, spinHits: spin.spinHits });
