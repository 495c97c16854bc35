import { describe, expect, it } from 'vitest';
import { isoFromMicros, microsFromIso, nowMicros } from './micro-time.ts';

describe('µs instants', () => {
  it('round-trip through ISO text without losing the µs digits', () => {
    for (const us of [0, 1, 999, 1000, 1_767_322_800_123_456, 1_767_322_800_999_999]) {
      expect(microsFromIso(isoFromMicros(us))).toBe(us);
    }
    expect(isoFromMicros(1_767_322_800_123_456)).toBe('2026-01-02T03:00:00.123456Z');
  });
  it('reads other zones and nanosecond digits (dropped past µs), and ms-only text', () => {
    expect(microsFromIso('2026-01-02T04:00:00.123456789+01:00')).toBe(1_767_322_800_123_456);
    expect(microsFromIso('2026-01-02T03:00:00.5Z')).toBe(1_767_322_800_500_000);
    expect(microsFromIso('2026-01-02T03:00:00Z')).toBe(1_767_322_800_000_000);
  });
  it('the µs wall clock agrees with Date.now() to the millisecond', () => {
    const before = Date.now();
    const us = nowMicros();
    const after = Date.now();
    expect(us).toBeGreaterThanOrEqual(before * 1000 - 1000);
    expect(us).toBeLessThanOrEqual(after * 1000 + 1000);
    expect(Number.isSafeInteger(us)).toBe(true);
  });
});
