import { z } from 'zod';
import { isoDateTime, queryInstant, rangeInOrder } from './instant.ts';

/** Positions, P&L and equity at the edges (average-cost accounting; see accounting/position.ts). */

export const positionView = z.object({
  symbol: z.string(),
  quantity: z.string(),
  avgCost: z.string(),
  /** Latest mark (mid, else last trade); null when no price is known. */
  mark: z.string().nullable(),
  marketValue: z.string().nullable(),
  unrealizedPnl: z.string().nullable(),
  /** Gross realized P&L (fees apart). */
  realizedPnl: z.string(),
  fees: z.string(),
  openedAt: isoDateTime.nullable(),
  updatedAt: isoDateTime,
});
export type PositionView = z.infer<typeof positionView>;

export const pnlSummary = z.object({
  accounting: z.literal('average_cost'),
  realizedPnl: z.string(),
  unrealizedPnl: z.string(),
  fees: z.string(),
  netPnl: z.string(),
  /** Net P&L since the desk's session start (midnight in the desk's timezone). */
  dailyPnl: z.string(),
  sessionStart: isoDateTime,
  grossExposure: z.string(),
  netExposure: z.string(),
  cash: z.string(),
  equity: z.string(),
});
export type PnlSummary = z.infer<typeof pnlSummary>;

export const equitySeriesInput = z
  .strictObject({
    from: queryInstant.optional(),
    to: queryInstant.optional(),
    limit: z.number().int().min(1).max(10_000).default(2_000),
  })
  .superRefine(rangeInOrder);
export type EquitySeriesInput = z.infer<typeof equitySeriesInput>;

export const equityPoint = z.object({
  ts: isoDateTime,
  equity: z.string(),
  cash: z.string(),
  realizedPnl: z.string(),
  unrealizedPnl: z.string(),
  fees: z.string(),
  grossExposure: z.string(),
  netExposure: z.string(),
  reason: z.enum(['fill', 'interval', 'reconcile']),
});
export type EquityPoint = z.infer<typeof equityPoint>;
