import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { RiskContext, RiskLimits } from './types.ts';
import { failed, passed } from './verdict.ts';

/** Restricted list (per desk / instrument) and instrument status: no orders at all. */
export function checkInstrument(ctx: RiskContext, limits: RiskLimits): RuleVerdict {
  if (limits.restricted) {
    return failed(
      RiskRule.INSTRUMENT,
      RiskReason.INSTRUMENT_RESTRICTED,
      'instrument is on the restricted list',
    );
  }
  if (ctx.instrument.status === 'halted') {
    return failed(RiskRule.INSTRUMENT, RiskReason.INSTRUMENT_HALTED, 'instrument is halted');
  }
  if (ctx.instrument.status === 'delisted') {
    return failed(RiskRule.INSTRUMENT, RiskReason.INSTRUMENT_DELISTED, 'instrument is delisted');
  }
  return passed(RiskRule.INSTRUMENT);
}
