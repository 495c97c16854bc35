import { describe, expect, it } from 'vitest';
import {
  AT_BROKER_STATUSES,
  isWorking,
  ORDER_STATUSES,
  OrderStatus,
  TERMINAL_STATUSES,
  WORKING_STATUSES,
} from './statuses.ts';

describe('order statuses: one list, every class derived from it', () => {
  it('the named values are exactly the list', () => {
    expect(new Set(Object.values(OrderStatus))).toEqual(new Set(ORDER_STATUSES));
    expect(Object.values(OrderStatus)).toHaveLength(ORDER_STATUSES.length);
  });
  it('working and terminal partition the statuses; unknown is working; at-broker is working', () => {
    expect([...WORKING_STATUSES, ...TERMINAL_STATUSES].sort()).toEqual([...ORDER_STATUSES].sort());
    expect(WORKING_STATUSES).toContain('unknown');
    expect(WORKING_STATUSES).toEqual(['pending_new', 'new', 'partially_filled', 'pending_cancel', 'unknown']);
    for (const s of AT_BROKER_STATUSES) expect(isWorking(s)).toBe(true);
  });
});
