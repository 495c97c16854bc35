import { describe, expect, test } from 'vitest';
import { relativeTime } from './relative-time.ts';

describe('relativeTime', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  test.each([
    [null, 'never'],
    ['2026-12-04T12:00:03Z', 'just now'],
    ['2026-12-04T11:59:55Z', 'just now'],
    ['2026-12-04T11:59:30Z', '30 s ago'],
    ['2026-12-04T11:57:00Z', '3 min ago'],
    ['2026-12-04T09:00:00Z', '3 h ago'],
    ['2026-12-02T12:00:00Z', '2 d ago'],
    ['not a date', 'not a date'],
  ])('%s → %s', (value, expected) => {
    expect(relativeTime(value, now)).toBe(expected);
  });
});
