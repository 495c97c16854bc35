import { sessionState } from './calendars.ts';
import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { RiskContext } from './types.ts';
import { failed, passed } from './verdict.ts';

/** Orders only during the instrument's regular session (its calendar; 24/7 for crypto). */
export function checkMarketHours(ctx: RiskContext): RuleVerdict {
  const s = sessionState(ctx.instrument.calendar, ctx.now);
  if (s.open) return passed(RiskRule.MARKET_HOURS);
  if (s.reason === 'unknown_calendar' || s.reason === 'no_calendar_year') {
    return failed(
      RiskRule.MARKET_HOURS,
      RiskReason.UNKNOWN_CALENDAR,
      `no trading calendar for ${ctx.instrument.calendar} at this date`,
    );
  }
  return failed(RiskRule.MARKET_HOURS, RiskReason.MARKET_CLOSED, `market closed (${s.reason})`);
}
