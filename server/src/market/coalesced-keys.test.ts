import { describe, expect, it } from 'vitest';
import { CoalescedKeys } from './coalesced-keys.ts';

describe('CoalescedKeys', () => {
  it('hands each changed key out once, however often it was marked', async () => {
    const keys = new CoalescedKeys<string>(0);
    keys.mark('A');
    keys.mark('B');
    keys.mark('A');
    expect((await keys.take()).sort()).toEqual(['A', 'B']);
    expect(await keys.take(0)).toEqual([]);
  });

  it('holds a key taken within the interval back, and others are not held by it', async () => {
    const keys = new CoalescedKeys<string>(3_600_000);
    keys.mark('A');
    expect(await keys.take()).toEqual(['A']);
    keys.mark('A');
    keys.mark('B');
    expect(await keys.take(0)).toEqual(['B']);
    // A is still pending (not lost): due once its interval is over.
    expect(await keys.take(0)).toEqual([]);
  });

  it('a waiting take wakes on a mark, and ends on close or abort', async () => {
    const keys = new CoalescedKeys<number>(0);
    const waiting = keys.take();
    keys.mark(7);
    expect(await waiting).toEqual([7]);

    const ac = new AbortController();
    const aborted = new CoalescedKeys<number>(0, ac.signal);
    const pending = aborted.take();
    ac.abort();
    expect(await pending).toEqual([]);
    expect(aborted.closed).toBe(true);
    aborted.mark(1);
    expect(await aborted.take()).toEqual([]);
  });
});
