import { describe, expect, it } from 'vitest';
import { listOrdersInput } from './order.ts';
import { equitySeriesInput } from './order-accounting.ts';

describe('instant inputs cross the API as ISO strings', () => {
  it('parses ISO 8601 with offset into Dates', () => {
    const r = equitySeriesInput.parse({ from: '2026-11-25T10:00:00Z', to: '2026-11-25T12:00:00+01:00' });
    expect(r.from?.toISOString()).toBe('2026-11-25T10:00:00.000Z');
    expect(r.to?.toISOString()).toBe('2026-11-25T11:00:00.000Z');
    expect(listOrdersInput.parse({ before: '2026-11-25T10:00:00.123Z' }).before?.getTime()).toBe(
      Date.parse('2026-11-25T10:00:00.123Z'),
    );
  });

  it('rejects non-ISO values naming the field', () => {
    const r = equitySeriesInput.safeParse({ from: 'yesterday' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['from']);
  });
});
