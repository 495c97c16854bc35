import { date, doublePrecision, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { updatedAt } from './columns.ts';
import { instruments } from './market.ts';

/**
 * Daily at-the-money implied volatility per underlying (migration 0017): market data shared by
 * every desk (no tenant_id, no RLS). Written by the chain service (the day's latest ATM IV);
 * IV rank and percentile read the last 252 days, a synthetic underlying's synthetic history
 * filling the days before it was listed.
 */
export const optionIvHistory = pgTable(
  'option_iv_history',
  {
    underlyingId: uuid('underlying_id')
      .notNull()
      .references(() => instruments.id, { onDelete: 'cascade' }),
    day: date('day').notNull(),
    atmIv: doublePrecision('atm_iv').notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ name: 'option_iv_history_pkey', columns: [t.underlyingId, t.day] })],
);
