import { describe, expect, it } from 'vitest';
import { checkMarketHours } from './market-hours.ts';
import { RiskReason } from './reasons.ts';
import type { RiskContext } from './types.ts';

const at = (calendar: string, iso: string) =>
  checkMarketHours({ now: new Date(iso), instrument: { calendar } } as unknown as RiskContext);

describe('checkMarketHours on the futures calendars', () => {
  it('passes inside a CME session and denies the daily break with its reason', () => {
    expect(at('CME', '2026-03-04T15:00:00Z').passed).toBe(true);
    const brk = at('CME', '2026-03-04T22:30:00Z');
    expect(brk).toMatchObject({
      passed: false,
      code: RiskReason.MARKET_CLOSED,
      message: 'market closed (closed)',
    });
    expect(at('CME', '2026-04-03T14:00:00Z')).toMatchObject({
      code: RiskReason.MARKET_CLOSED,
      message: 'market closed (holiday)',
    });
  });

  it('CBOT overnight session passes; a year without a holiday list is an unknown calendar', () => {
    expect(at('CBOT', '2026-03-03T06:00:00Z').passed).toBe(true);
    expect(at('CBOT', '2028-03-03T15:00:00Z').code).toBe(RiskReason.UNKNOWN_CALENDAR);
  });
});
