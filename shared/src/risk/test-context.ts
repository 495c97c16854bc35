// Test support for the risk governor tests (governor.test.ts, combo.test.ts); not exported from
// the package.
import type { RiskContext, RiskLimits } from './governor.ts';

/** Wednesday 2026-11-25 10:00 New York (NYSE open, not a holiday). */
export const NOW = new Date('2026-11-25T15:00:00Z');

/** Every limit switched off, so a test turns on only the rule it is about. */
export const NO_LIMITS: RiskLimits = {
  maxOrderQty: null,
  maxOrderNotional: null,
  maxPosition: null,
  maxGrossExposure: null,
  maxNetExposure: null,
  maxNetDelta: null,
  maxOpenLegs: null,
  maxDailyLoss: null,
  priceCollarBps: null,
  maxReferenceAgeMs: null,
  maxSpreadBps: null,
  duplicateWindowMs: null,
  maxOrdersPerMinute: null,
  lossStreakCount: null,
  lossStreakThreshold: null,
  restricted: false,
};

/** A flat book at NOW: no positions, orders or P&L, automation on, nothing halted. */
export const FLAT_BOOK: Omit<RiskContext, 'instrument' | 'instruments' | 'quote' | 'marks'> = {
  now: NOW,
  positions: [],
  workingOrders: [],
  dailyPnl: { realized: '0', unrealized: '0' },
  recentOrders: [],
  recentTradePnls: [],
  automationEnabled: true,
  halt: { global: false, desk: false },
};
