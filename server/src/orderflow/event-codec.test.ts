import { describe, expect, it } from 'vitest';
import { stableJson, toUtcMicros, validateBatch } from './event-codec.ts';

const trade = {
  kind: 'trade',
  instrument: 'BTC-USD',
  venue: 'X',
  tsEvent: '2026-11-25T13:00:00.1234567+01:00',
  source: 'a',
  sequence: 7,
  price: '1.5',
  size: '2',
};

describe('order-flow event codec', () => {
  it('normalizes event time to UTC microseconds', () => {
    expect(toUtcMicros('2026-11-25T13:00:00.1234567+01:00')).toBe('2026-11-25T12:00:00.123456Z');
    expect(toUtcMicros('2026-11-25T12:00:00Z')).toBe('2026-11-25T12:00:00.000000Z');
    expect(toUtcMicros('yesterday')).toBeNull();
  });

  it('hashes equal content equally, whatever the key order or time notation', () => {
    const a = validateBatch([trade]);
    // Same content, keys in another order, the time in UTC notation.
    const { price, size, ...rest } = trade;
    const b = validateBatch([{ size, price, ...rest, tsEvent: '2026-11-25T12:00:00.123456Z' }]);
    if (!a.ok || !b.ok) throw new Error('expected valid');
    expect(a.events[0]!.contentHash).toBe(b.events[0]!.contentHash);
    expect(stableJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
  });

  it('reports every problem with index and field', () => {
    const r = validateBatch([trade, { ...trade, price: '-1', sequence: -2 }, { kind: 'swap' }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.index}:${p.field}`)).toEqual(
      expect.arrayContaining(['1:sequence', '1:price', '2:kind']),
    );
  });

  it('refuses event times beyond the clock skew in the future, naming the field path', () => {
    const now = Date.parse('2026-11-25T12:00:00.123Z');
    expect(validateBatch([trade], now).ok).toBe(true);
    // Within the 2 s skew: a clock slightly ahead of ours.
    expect(validateBatch([{ ...trade, tsEvent: '2026-11-25T12:00:02.000Z' }], now).ok).toBe(true);
    // The poisoned quote was 50 minutes ahead; 3 s is already refused.
    const r = validateBatch([trade, { ...trade, sequence: 8, tsEvent: '2026-11-25T12:00:03.200Z' }], now);
    expect(r.ok ? [] : r.problems).toEqual([
      {
        index: 1,
        field: 'tsEvent',
        path: 'events[1].tsEvent',
        message: 'must not be more than 2000 ms in the future',
      },
    ]);
    const wider = validateBatch([{ ...trade, tsEvent: '2026-11-25T12:00:03.200Z' }], now, {
      maxFutureSkewMs: 5000,
    });
    expect(wider.ok).toBe(true);
  });

  it('refuses implausibly old event times (before 2000-01-01), keeps history after it', () => {
    const r = validateBatch([{ ...trade, tsEvent: '1970-01-01T00:00:00Z' }]);
    expect(r.ok ? [] : r.problems).toEqual([
      {
        index: 0,
        field: 'tsEvent',
        path: 'events[0].tsEvent',
        message: 'must not be before 2000-01-01T00:00:00Z',
      },
    ]);
    expect(validateBatch([{ ...trade, tsEvent: '2001-09-11T13:30:00Z' }]).ok).toBe(true);
  });

  it('names an unknown key by its path', () => {
    const r = validateBatch([{ ...trade, tenantId: 'x' }]);
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['events[0].tenantId']);
  });
});
