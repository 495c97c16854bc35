import { describe, expect, it } from 'vitest';
import { abortableSleep, Backoff, connectLoop } from './reconnect.ts';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap, without jitter', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(b.attempts).toBe(6);
  });

  it('reset starts again from the initial delay', () => {
    const b = new Backoff({ initialMs: 50, maxMs: 1000, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(50);
  });

  it('jitter stays within ±jitter of the base delay, at both extremes', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 10_000, jitter: 0.2, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, maxMs: 10_000, jitter: 0.2, random: () => 0.999999 });
    expect(low.next()).toBe(800);
    expect(high.next()).toBe(1200);
    const real = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2 });
    for (let i = 0; i < 1000; i++) {
      const d = real.next();
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1200);
    }
  });

  it('defaults to 250 ms doubling to 15 s', () => {
    const b = new Backoff({ jitter: 0 });
    expect(b.next()).toBe(250);
    for (let i = 0; i < 100; i++) b.next();
    expect(b.next()).toBe(15_000);
  });
});

describe('connectLoop', () => {
  it('runs sessions until aborted, passing the reconnect count and reporting each retry', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const retries: { reconnect: number; error: unknown }[] = [];
    await connectLoop(
      async (reconnect) => {
        seen.push(reconnect);
        if (reconnect === 1) throw new Error('refused');
        if (reconnect === 3) ac.abort();
      },
      {
        backoff: new Backoff({ initialMs: 1, maxMs: 2, jitter: 0 }),
        signal: ac.signal,
        onRetry: ({ reconnect, error }) => retries.push({ reconnect, error }),
      },
    );
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(retries.map((r) => r.reconnect)).toEqual([1, 2, 3]);
    expect(retries[1]?.error).toBeInstanceOf(Error);
    expect(String(retries[1]?.error)).toContain('refused');
    expect(retries[0]?.error).toBeNull();
  });

  it('an abort during the backoff wait ends the loop without another session', async () => {
    const ac = new AbortController();
    let sessions = 0;
    const loop = connectLoop(
      async () => {
        sessions++;
      },
      // An hour: the loop can only end because the abort cuts the wait short.
      { backoff: new Backoff({ initialMs: 3_600_000, jitter: 0 }), signal: ac.signal },
    );
    await abortableSleep(5);
    ac.abort();
    await loop;
    expect(sessions).toBe(1);
  });
});
