import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEADLINE_EXCEEDED, isDeadlineExceeded, withDeadline } from './deadline.ts';
import { AppError, ErrorCode } from './errors.ts';

const never = () => new Promise<never>(() => {});

describe('withDeadline', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves with the value when the call answers in time, and clears its timer', async () => {
    vi.useFakeTimers();
    const p = withDeadline(Promise.resolve(42), 1_000, 'lookup');
    await expect(p).resolves.toBe(42);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with the call's own error (not a deadline) when it fails in time, and clears its timer", async () => {
    vi.useFakeTimers();
    const own = new Error('connection refused');
    const p = withDeadline(Promise.reject(own), 1_000, 'lookup');
    const err = await p.catch((e: unknown) => e);
    expect(err).toBe(own);
    expect(isDeadlineExceeded(err)).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with a TIMEOUT AppError, reason deadline_exceeded, once the deadline passes', async () => {
    vi.useFakeTimers();
    const p = withDeadline(never(), 250, 'select 1');
    const settled = p.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(249);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const err = await settled;
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCode.TIMEOUT);
    expect((err as AppError).details).toEqual({ reason: DEADLINE_EXCEEDED });
    expect((err as AppError).message).toBe('select 1: no answer within 250 ms');
    expect(isDeadlineExceeded(err)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("carries the caller's reason; isDeadlineExceeded tells the reasons apart", async () => {
    const err = await withDeadline(never(), 0, 'engage', { reason: 'halt_engage_deadline' }).catch(
      (e: unknown) => e,
    );
    expect(isDeadlineExceeded(err, 'halt_engage_deadline')).toBe(true);
    expect(isDeadlineExceeded(err)).toBe(false);
    expect(isDeadlineExceeded(new Error('no answer within 0 ms'))).toBe(false);
  });

  it('a negative deadline gives up at once', async () => {
    const err = await withDeadline(never(), -5, 'late').catch((e: unknown) => e);
    expect(isDeadlineExceeded(err)).toBe(true);
    expect((err as Error).message).toBe('late: no answer within 0 ms');
  });

  it('a call that rejects after its deadline is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let fail!: (e: Error) => void;
      const late = new Promise<never>((_, reject) => {
        fail = reject;
      });
      const err = await withDeadline(late, 0, 'publish').catch((e: unknown) => e);
      expect(isDeadlineExceeded(err)).toBe(true);
      fail(new Error('connection closed'));
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('an unref deadline does not hold the event loop; the default one does', async () => {
    const refs: boolean[] = [];
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const t = real(fn, ms) as NodeJS.Timeout;
      queueMicrotask(() => refs.push(t.hasRef()));
      return t;
    }) as typeof setTimeout);
    try {
      const a = withDeadline(Promise.resolve(1), 1_000, 'a', { unref: true });
      const b = withDeadline(Promise.resolve(2), 1_000, 'b');
      await Promise.all([a, b]);
      expect(refs).toEqual([false, true]);
    } finally {
      spy.mockRestore();
    }
  });
});
