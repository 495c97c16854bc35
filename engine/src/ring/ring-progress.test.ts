import { describe, expect, it } from 'vitest';
import { RingBuffer } from './ring-buffer.ts';
import { RingProgress } from './ring-progress.ts';

/** A ring with two consumers and a clock the test moves by hand. */
function setup(maxStallMs = 1000) {
  const ring = RingBuffer.create({ capacity: 64, recordBytes: 8, consumers: 2 });
  let now = 0;
  const progress = new RingProgress(
    [
      { name: 'tick/features', ring, consumer: 0 },
      { name: 'tick/writer', ring, consumer: 1 },
    ],
    maxStallMs,
    () => now,
  );
  const produce = (n: number) => {
    const first = ring.claim(n);
    ring.publish((first + n) >>> 0);
  };
  const consume = (consumer: number, n: number) => ring.commit(consumer, (ring.cursor(consumer) + n) >>> 0);
  const advance = (ms: number) => {
    now += ms;
  };
  return { ring, progress, produce, consume, advance };
}

describe('RingProgress', () => {
  it('is ok while the rings are idle, however long', () => {
    const { progress, advance } = setup();
    expect(progress.ok()).toBe(true);
    advance(60_000);
    expect(progress.ok()).toBe(true);
  });

  it('reports a consumer whose cursor has not moved while records waited longer than the bound', () => {
    const { progress, produce, consume, advance } = setup(1000);
    produce(8);
    consume(1, 8); // the writer keeps up; the feature consumer reads nothing
    expect(progress.ok()).toBe(true); // just published: waiting, not yet stalled
    advance(1000);
    expect(progress.ok()).toBe(true); // at the bound, not past it
    advance(1);
    expect(progress.stalled()).toEqual(['tick/features']);
    expect(progress.ok()).toBe(false);
  });

  it('a consumer that is behind but advancing is not stalled', () => {
    const { progress, produce, consume, advance } = setup(1000);
    produce(32);
    consume(1, 32);
    for (let i = 0; i < 10; i++) {
      advance(900);
      consume(0, 1); // one record per probe: slow, never stopped
      produce(1);
      consume(1, 1);
      expect(progress.ok()).toBe(true);
    }
  });

  it('recovers once the stalled consumer moves again, and after it drains', () => {
    const { progress, produce, consume, advance } = setup(1000);
    produce(4);
    consume(1, 4);
    progress.sample(); // the engine samples on a timer: the wait is timed from here
    advance(5000);
    expect(progress.ok()).toBe(false);
    consume(0, 2);
    expect(progress.ok()).toBe(true);
    advance(5000);
    expect(progress.ok()).toBe(false); // two records still waiting and the cursor stopped again
    consume(0, 2);
    expect(progress.ok()).toBe(true);
    advance(5000);
    expect(progress.ok()).toBe(true); // drained: idle again
  });

  it('measures the wait from the first sample that saw records waiting, not from the last publish', () => {
    const { progress, produce, consume, advance } = setup(1000);
    produce(1);
    consume(1, 1);
    progress.sample();
    advance(800);
    produce(1); // more data does not restart the clock: the consumer has still not moved
    consume(1, 1);
    advance(300);
    expect(progress.stalled()).toEqual(['tick/features']);
  });

  it('is not ok with nothing to watch', () => {
    expect(new RingProgress([], 1000, () => 0).ok()).toBe(false);
  });
});
