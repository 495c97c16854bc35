import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';
import { rng } from '../support/tick-tape.ts';

/**
 * One side of the ring stress test, in its own thread. Records are 16 bytes: u32 symbol,
 * u32 per-symbol sequence, f64 check value. Both sides move at random paces (batch sizes, busy
 * pauses, short sleeps) from a seed.
 */
interface Job {
  role: 'producer' | 'consumer';
  sab: SharedArrayBuffer;
  consumer: number;
  total: number;
  symbols: number;
  seed: number;
  maxBatch: number;
  /** Producer: use tryClaim + retry (drop-free spinning) instead of the blocking claim. */
  spinClaim: boolean;
}

const job = workerData as Job;
const ring = RingBuffer.attach(job.sab);
const random = rng(job.seed);

function pause(): void {
  const r = random();
  if (r < 0.005) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, random() * 2);
  else if (r < 0.3) {
    const until = performance.now() + random() * 0.05;
    while (performance.now() < until);
  }
}

if (job.role === 'producer') {
  const next = new Uint32Array(job.symbols);
  let sent = 0;
  while (sent < job.total) {
    const n = Math.min(1 + Math.floor(random() * job.maxBatch), job.total - sent, ring.capacity);
    let seq = ring.tryClaim(n);
    if (seq === -1) seq = job.spinClaim ? spinClaim(n) : ring.claim(n);
    for (let k = 0; k < n; k++) {
      const s = (seq + k) >>> 0;
      const sym = Math.floor(random() * job.symbols);
      const b = ring.base32(s);
      ring.u32[b] = sym;
      ring.u32[b + 1] = next[sym]!++;
      ring.f64[ring.base64(s) + 1] = sym * 1e6 + ring.u32[b + 1]!;
    }
    ring.publish((seq + n) >>> 0);
    sent += n;
    pause();
  }
  parentPort!.postMessage({ sent, perSymbol: Array.from(next) });
} else {
  const expected = new Uint32Array(job.symbols);
  let received = 0;
  let outOfOrder = 0;
  let badValue = 0;
  while (received < job.total) {
    let n = ring.readable(job.consumer);
    if (n === 0) n = ring.waitForData(job.consumer, 50);
    if (n === 0) continue;
    n = Math.min(n, 1 + Math.floor(random() * job.maxBatch));
    const from = ring.cursor(job.consumer);
    for (let k = 0; k < n; k++) {
      const s = (from + k) >>> 0;
      const b = ring.base32(s);
      const sym = ring.u32[b]!;
      const q = ring.u32[b + 1]!;
      if (q !== expected[sym]) outOfOrder++;
      if (ring.f64[ring.base64(s) + 1] !== sym * 1e6 + q) badValue++;
      expected[sym] = q + 1;
    }
    received += n;
    ring.commit(job.consumer, (from + n) >>> 0);
    pause();
  }
  parentPort!.postMessage({ received, outOfOrder, badValue, perSymbol: Array.from(expected) });
}

function spinClaim(n: number): number {
  for (;;) {
    const s = ring.tryClaim(n);
    if (s !== -1) return s;
  }
}
