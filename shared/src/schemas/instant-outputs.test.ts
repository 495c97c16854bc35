import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { isoDateTime } from './instant.ts';
import { haltState } from './order-risk.ts';

describe('instants as outputs become ISO strings', () => {
  it('turns a Date into its ISO string and keeps an ISO string', () => {
    expect(isoDateTime.parse(new Date('2026-11-25T10:00:00.123Z'))).toBe('2026-11-25T10:00:00.123Z');
    // µs and an offset survive: a string is not re-parsed through a Date.
    expect(isoDateTime.parse('2026-11-25T10:00:00.123456+01:00')).toBe('2026-11-25T10:00:00.123456+01:00');
    const state = haltState.parse({
      halted: true,
      global: { engaged: false, reason: null, engagedAt: null },
      desk: { engaged: true, reason: 'drill', engagedAt: new Date('2026-11-25T10:00:00Z') },
    });
    expect(state.desk.engagedAt).toBe('2026-11-25T10:00:00.000Z');
    expectTypeOf<z.output<typeof haltState>['desk']['engagedAt']>().toEqualTypeOf<string | null>();
  });

  it('rejects a string that is not an ISO instant, an invalid Date and a number', () => {
    for (const bad of [
      'yesterday',
      '2026-11-25',
      '2026-11-25T10:00:00',
      '',
      new Date(Number.NaN),
      1_764_064_800_000,
    ]) {
      expect(isoDateTime.safeParse(bad).success, String(bad)).toBe(false);
    }
  });
});
