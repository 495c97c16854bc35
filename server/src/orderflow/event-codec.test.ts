import { describe, expect, it } from 'vitest';
import { stableJson, toStreamFields, toUtcMicros, validateBatch } from './event-codec.ts';

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

  it('refuses event times more than an hour ahead of the clock', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(validateBatch([trade], now).ok).toBe(true);
    const r = validateBatch([{ ...trade, tsEvent: '2026-11-25T13:30:00Z' }], now);
    expect(r.ok ? [] : r.problems).toEqual([
      { index: 0, field: 'tsEvent', message: 'more than 1 hour in the future' },
    ]);
  });

  it('encodes the flat fields the engine reads', () => {
    const r = validateBatch([trade]);
    if (!r.ok) throw new Error('expected valid');
    expect(toStreamFields('t1', 'id1', r.events[0]!)).toEqual({
      id: 'id1',
      tenantId: 't1',
      ts: '2026-11-25T12:00:00.123456Z',
      symbol: 'BTC-USD',
      venue: 'X',
      kind: 'trade',
      source: 'a',
      seq: '7',
      price: '1.5',
      size: '2',
    });
  });
});
