import { Worker } from 'node:worker_threads';
import { createTickRecord, type TickRecord } from '../../src/feeds/tick.ts';
import { TICK } from '../../src/ring/layout.ts';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';
import { readTick, TickRingWriter } from '../../src/ring/tick-ring-writer.ts';
import { copyTick, generateTape, type TickTape } from '../../tests/support/tick-tape.ts';

/**
 * The ring alone: this thread produces TICK records (copied from a small pre-generated tape, 18
 * u32 words each, so the producer's own cost is one record copy), a worker thread consumes them
 * (loads symbol and price of every record). Exported for engine/bench/engine.ts (the `ring` row)
 * and engine/bench/ring.ts.
 */
export interface RingBenchOptions {
  ticks?: number;
  capacity?: number;
  /** Records per claim + publish (the producer publishes HEAD once per this many). */
  publishEvery?: number;
  /** Records per consumer commit. */
  consumerBatch?: number;
}
export interface RingBenchResult {
  ticks: number;
  publishEvery: number;
  seconds: number;
  ticksPerSec: number;
}

const WORKER = new URL('./ring-consumer-worker.ts', import.meta.url);
let sharedTape: TickTape | undefined;
function tape(): TickTape {
  sharedTape ??= generateTape({ seed: 42, symbols: 1000, ticks: 1 << 16 });
  return sharedTape;
}

function startConsumer(data: object) {
  const worker = new Worker(WORKER, { workerData: data });
  const done = new Promise<{ consumed: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const online = new Promise<void>((r) => worker.once('online', () => r()));
  return { worker, online, done };
}

/**
 * Times `produce` writing `ticks` records into a fresh TICK ring that a consumer thread drains:
 * from the first record to the consumer's last commit.
 */
async function timeRing(
  o: RingBenchOptions,
  produce: (ring: RingBuffer, ticks: number, publishEvery: number) => void,
): Promise<RingBenchResult> {
  const ticks = o.ticks ?? 20_000_000;
  const publishEvery = o.publishEvery ?? 256;
  const ring = RingBuffer.create({ capacity: o.capacity ?? 1 << 16, recordBytes: TICK.bytes, consumers: 1 });
  const { worker, online, done } = startConsumer({
    mode: 'ring',
    sab: ring.sab,
    ticks,
    maxBatch: o.consumerBatch ?? 1024,
  });
  await online;
  const t0 = performance.now();
  produce(ring, ticks, publishEvery);
  await done;
  const seconds = (performance.now() - t0) / 1000;
  await worker.terminate();
  return { ticks, publishEvery, seconds, ticksPerSec: ticks / seconds };
}

/** The ring's own ceiling: claim, copy and publish `publishEvery` records at a time. */
export function runRingBench(o: RingBenchOptions = {}): Promise<RingBenchResult> {
  const t = tape();
  const mask = t.count - 1;
  return timeRing(o, (ring, ticks, publishEvery) => {
    let sent = 0;
    while (sent < ticks) {
      const n = Math.min(publishEvery, ticks - sent);
      const first = ring.claim(n);
      for (let k = 0; k < n; k++) copyTick(t, (sent + k) & mask, ring, (first + k) >>> 0);
      ring.publish((first + n) >>> 0);
      sent += n;
    }
  });
}

/**
 * The feeds' own producer path: one reused scratch tick filled per tick (as a feed decodes into
 * it), `TickRingWriter.publish` (one claim and one record write per tick, HEAD published once per
 * `publishEvery` ticks, 'block' policy) into the same consumer thread. Comparing publishEvery 1
 * with the engine's 256 isolates what publishing HEAD per tick costs on the real writer.
 */
export function runTickWriterBench(o: RingBenchOptions = {}): Promise<RingBenchResult> {
  // The tape as a ring, so the scratch tick is filled by the engine's own reader.
  const t = tape();
  const source = RingBuffer.create({ capacity: t.count, recordBytes: TICK.bytes, consumers: 1 });
  for (let i = 0; i < t.count; i++) copyTick(t, i, source, i);
  const mask = t.count - 1;
  const scratch: TickRecord = createTickRecord();
  return timeRing(o, (ring, ticks, publishEvery) => {
    const writer = new TickRingWriter(ring, { policy: 'block', publishEvery, blockTimeoutMs: 10_000 });
    for (let i = 0; i < ticks; i++) writer.publish(readTick(source, i & mask, scratch));
    writer.flush();
    if (writer.dropped !== 0) throw new Error(`tick writer bench dropped ${writer.dropped} ticks`);
  });
}

/** Baseline: one postMessage per tick (a small object with the tick's fields) to a worker. */
export async function runPostMessageBench(ticks = 200_000): Promise<RingBenchResult> {
  const t = tape();
  const { worker, online, done } = startConsumer({ mode: 'message', ticks, maxBatch: 1 });
  await online;
  const W = TICK.bytes / 4;
  const W64 = TICK.bytes / 8;
  const t0 = performance.now();
  for (let i = 0; i < ticks; i++) {
    const r = i & (t.count - 1);
    worker.postMessage({
      symbolId: t.u32[r * W + TICK.u32.symbolId]!,
      price: t.f64[r * W64 + TICK.f64.price]!,
      size: t.f64[r * W64 + TICK.f64.size]!,
      bid: t.f64[r * W64 + TICK.f64.bid]!,
      ask: t.f64[r * W64 + TICK.f64.ask]!,
    });
  }
  await done;
  const seconds = (performance.now() - t0) / 1000;
  await worker.terminate();
  return { ticks, publishEvery: 1, seconds, ticksPerSec: ticks / seconds };
}
