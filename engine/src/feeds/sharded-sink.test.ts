import { describe, expect, it } from 'vitest';
import { TICK } from '../ring/layout.ts';
import { RingBuffer } from '../ring/ring-buffer.ts';
import { readTick } from '../ring/tick-ring-writer.ts';
import { ShardedTickSink } from './sharded-sink.ts';
import { createTickRecord, type TickRecord } from './tick.ts';

const tick = (symbolId: number, seq: number): TickRecord => ({
  ...createTickRecord(),
  symbolId,
  seq,
  price: 1,
  kind: 1,
});

function consume(ring: RingBuffer, max: number, out: TickRecord[]): void {
  const n = Math.min(ring.readable(0), max);
  const from = ring.cursor(0);
  for (let k = 0; k < n; k++) out.push(readTick(ring, (from + k) >>> 0, createTickRecord()));
  ring.commit(0, (from + n) >>> 0);
}

/** One ring of `capacity` ticks and a sink that writes only to it. */
function oneRing(
  capacity: number,
  options: { policy: 'block' | 'drop'; publishEvery: number; overflowCapacity?: number },
): { ring: RingBuffer; sink: ShardedTickSink } {
  const ring = RingBuffer.create({ capacity, recordBytes: TICK.bytes, consumers: 1 });
  return { ring, sink: new ShardedTickSink({ rings: [ring], ...options }) };
}

/** A slow consumer: takes `step` ticks into `out` every millisecond until `waiting` settles. */
async function consumeUntil(waiting: Promise<void>, ring: RingBuffer, step: number, out: TickRecord[]) {
  const timer = setInterval(() => consume(ring, step, out), 1);
  try {
    await waiting;
  } finally {
    clearInterval(timer);
  }
}

const seqsTo = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('sharded tick sink', () => {
  it('routes by symbol id modulo shards', () => {
    const rings = [0, 1, 2].map(() =>
      RingBuffer.create({ capacity: 64, recordBytes: TICK.bytes, consumers: 1 }),
    );
    const sink = new ShardedTickSink({ rings, policy: 'block', publishEvery: 4 });
    for (let i = 0; i < 30; i++) expect(sink.publish(tick(i, i))).toBe(true);
    sink.flush();
    rings.forEach((r, s) => {
      const got: TickRecord[] = [];
      consume(r, 100, got);
      expect(got.map((t) => t.symbolId)).toEqual(Array.from({ length: 10 }, (_, k) => s + 3 * k));
    });
  });

  it('block: a full ring queues ticks in order and backpressure() waits until they are in', async () => {
    const { ring, sink } = oneRing(16, { policy: 'block', publishEvery: 4, overflowCapacity: 1000 });
    for (let i = 0; i < 100; i++) expect(sink.publish(tick(0, i))).toBe(true);
    sink.flush();
    expect(sink.queued).toBe(84);
    const got: TickRecord[] = [];
    const waiting = sink.backpressure();
    expect(waiting).not.toBeNull();
    // a slow consumer frees a few slots at a time
    await consumeUntil(waiting!, ring, 5, got);
    expect(sink.queued).toBe(0);
    expect(sink.backpressure()).toBeNull();
    consume(ring, 100, got);
    expect(got.map((t) => t.seq)).toEqual(seqsTo(100));
    expect(sink.dropped).toBe(0);
    expect(sink.overflowed).toBe(84);
  });

  it('block: a wait that finished at once does not leave a settled promise behind (regression)', async () => {
    const { ring, sink } = oneRing(16, { policy: 'block', publishEvery: 4, overflowCapacity: 1000 });
    const got: TickRecord[] = [];
    let seq = 0;
    for (; seq < 20; seq++) sink.publish(tick(0, seq));
    sink.flush();
    expect(sink.queued).toBe(4);
    consume(ring, 100, got); // the consumer freed everything before the feed asked
    await sink.backpressure(); // drains without waiting
    expect(sink.queued).toBe(0);

    for (let i = 0; i < 40; i++, seq++) sink.publish(tick(0, seq));
    sink.flush();
    expect(sink.queued).toBeGreaterThan(0);
    const waiting = sink.backpressure();
    expect(waiting).not.toBeNull();
    let settled = false;
    void waiting!.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    // Nobody consumed: the feed must still be held (the bug handed back the old, settled promise).
    expect(settled).toBe(false);
    expect(sink.queued).toBeGreaterThan(0);
    await consumeUntil(waiting!, ring, 5, got);
    expect(sink.queued).toBe(0);
    consume(ring, 100, got);
    expect(got.map((t) => t.seq)).toEqual(seqsTo(seq));
    expect(sink.dropped).toBe(0);
  });

  it('block: a feed that awaits backpressure at each yield never drops, and ends with nothing queued', async () => {
    const { ring, sink } = oneRing(64, { policy: 'block', publishEvery: 8, overflowCapacity: 256 });
    const got: TickRecord[] = [];
    const total = 20_000;
    // A feed like the engine's: a batch, flush, await backpressure, repeat.
    const feed = async () => {
      for (let seq = 0; seq < total; ) {
        for (let k = 0; k < 200 && seq < total; k++, seq++) sink.publish(tick(0, seq));
        sink.flush();
        const bp = sink.backpressure();
        if (bp) await bp;
      }
      sink.flush();
      await sink.backpressure();
    };
    await consumeUntil(feed(), ring, 7, got);
    expect(sink.queued).toBe(0);
    consume(ring, 1000, got);
    expect(sink.dropped).toBe(0);
    expect(sink.stalled).toBe(0);
    expect(got.length).toBe(total);
    expect(got.every((t, i) => t.seq === i)).toBe(true);
  });

  it('drop: a full ring drops and counts', () => {
    const { sink } = oneRing(16, { policy: 'drop', publishEvery: 4 });
    let accepted = 0;
    for (let i = 0; i < 40; i++) if (sink.publish(tick(0, i))) accepted++;
    expect(accepted).toBe(16);
    expect(sink.dropped).toBe(24);
    expect(sink.backpressure()).toBeNull();
  });
});
