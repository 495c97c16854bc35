import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/signals/signal-publisher.ts';

/** The signal ids: UUID version 7 whose random bits come from a pooled CSPRNG draw. */
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('encodes the millisecond timestamp big-endian in the first 48 bits', () => {
    const ms = 0x0123456789ab;
    const id = uuidv7(ms);
    expect(id).toMatch(UUID_V7);
    expect(id.startsWith('01234567-89ab-7')).toBe(true);
    const now = 1_764_960_000_123;
    expect(Number.parseInt(uuidv7(now).replace('-', '').slice(0, 12), 16)).toBe(now);
  });

  it('never repeats within a millisecond, across many refills of the random pool', () => {
    const ms = 1_764_960_000_000;
    const ids = new Set<string>();
    const tails = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = uuidv7(ms);
      expect(id).toMatch(UUID_V7);
      ids.add(id);
      tails.add(id.slice(24));
    }
    expect(ids.size).toBe(20_000);
    // 48 random bits per tail: a repeated or constant pool would show here.
    expect(tails.size).toBe(20_000);
  });

  it('sorts by time: a later millisecond gives a larger id', () => {
    const a = uuidv7(1_764_960_000_000);
    const b = uuidv7(1_764_960_000_001);
    const c = uuidv7(1_764_960_000_256);
    expect(a < b && b < c).toBe(true);
  });
});
