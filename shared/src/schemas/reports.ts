import { z } from 'zod';
import { queryInstantString, rangeInOrder } from './instant.ts';
import { instrumentSymbol } from './order.ts';

/** A reporting window; absent bounds: from the desk's first trade, to now. */
export const reportRange = z
  .strictObject({
    from: queryInstantString.optional(),
    to: queryInstantString.optional(),
    symbol: instrumentSymbol.optional(),
  })
  .superRefine(rangeInOrder)
  .default({});
export type ReportRange = z.infer<typeof reportRange>;

export const instrumentPnlView = z.object({
  symbol: z.string(),
  quantity: z.string(),
  avgCost: z.string(),
  mark: z.string().nullable(),
  realizedPnl: z.string(),
  unrealizedPnl: z.string().nullable(),
  fees: z.string(),
  /** realized + unrealized − fees (unrealized counted as 0 while no price is known). */
  netPnl: z.string(),
});

export const dayPnlView = z.object({
  day: z.string(),
  realizedPnl: z.string(),
  fees: z.string(),
  netRealized: z.string(),
  fills: z.number().int(),
  notional: z.string(),
  /** The desk's equity at its last snapshot of the day, and the change from the day before. */
  equityClose: z.string().nullable(),
  equityChange: z.string().nullable(),
});

/** One fill with its order's context: the trade blotter's row. */
export const blotterRowView = z.object({
  ts: z.string(),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  quantity: z.string(),
  price: z.string(),
  fee: z.string(),
  notional: z.string(),
  liquidity: z.string().nullable(),
  orderId: z.string(),
  clientOrderId: z.string(),
  orderType: z.string(),
  origin: z.string(),
  account: z.string(),
  executionId: z.string(),
});
export type BlotterRow = z.infer<typeof blotterRowView>;

/** What can be exported: orders, fills (the blotter's rows), positions with P&L, P&L by day. */
export const EXPORT_KINDS = ['orders', 'fills', 'positions', 'pnl_by_day'] as const;
export const exportInput = z.strictObject({
  kind: z.enum(EXPORT_KINDS),
  range: reportRange,
});
export const exportView = z.object({
  filename: z.string(),
  contentType: z.literal('text/csv'),
  rows: z.number().int(),
  /** RFC 4180 CSV with a header row; at most EXPORT_MAX_ROWS rows (`truncated` says so). */
  csv: z.string(),
  truncated: z.boolean(),
});
export const EXPORT_MAX_ROWS = 100_000;
