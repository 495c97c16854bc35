import { z } from 'zod';
import {
  instrumentSymbol,
  orderSide,
  orderStatus,
  orderView,
  positiveDecimalString,
  ruleVerdict,
} from './order.ts';

/**
 * Multi-leg (combo) orders: a strategy of 2–4 legs placed, risk-checked and filled as one.
 * Quantities are combo units (each leg trades `ratio × quantity`). The net price is per combo
 * unit, signed: positive a debit paid, negative a credit received.
 */
export const signedDecimalString = z
  .string()
  .trim()
  .regex(/^-?(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a signed decimal string like "-1.25"');

export const comboStrategy = z.enum(['vertical', 'straddle', 'strangle', 'custom']);
export type ComboStrategy = z.infer<typeof comboStrategy>;

export const comboLegInput = z.strictObject({
  symbol: instrumentSymbol,
  side: orderSide,
  ratio: z.number().int().min(1).max(10).default(1),
});

export const placeComboInput = z
  .strictObject({
    strategy: comboStrategy,
    legs: z.array(comboLegInput).min(2).max(4),
    quantity: positiveDecimalString,
    orderType: z.enum(['market', 'limit']),
    /** Net limit per combo unit (signed); required for limit, refused for market. */
    netLimitPrice: signedDecimalString.nullish(),
    timeInForce: z.enum(['day', 'gtc']).default('day'),
    proposalId: z.uuid().nullish(),
    brokerConnectionId: z.uuid().nullish(),
  })
  .superRefine((o, ctx) => {
    if (o.orderType === 'limit' && !o.netLimitPrice)
      ctx.addIssue({ code: 'custom', path: ['netLimitPrice'], message: 'required for a limit combo' });
    if (o.orderType === 'market' && o.netLimitPrice)
      ctx.addIssue({ code: 'custom', path: ['netLimitPrice'], message: 'not allowed for a market combo' });
    const seen = new Set<string>();
    o.legs.forEach((l, i) => {
      if (seen.has(l.symbol))
        ctx.addIssue({
          code: 'custom',
          path: ['legs', i, 'symbol'],
          message: 'each leg needs its own instrument',
        });
      seen.add(l.symbol);
    });
  });
export type PlaceComboInput = z.infer<typeof placeComboInput>;

export const comboLegView = orderView.extend({ ratio: z.number().int() });

export const comboView = z.object({
  id: z.string(),
  clientOrderId: z.string(),
  strategy: comboStrategy,
  /** The combo's own status (FIX OrdStatus semantics, all-or-none: legs move together). */
  status: orderStatus,
  quantity: z.string(),
  orderType: z.enum(['market', 'limit']),
  netLimitPrice: z.string().nullable(),
  filledQuantity: z.string(),
  /** Net price per combo unit actually paid (+) or received (−). */
  avgNetPrice: z.string().nullable(),
  /** The strategy's maximum loss at the order's price (null: unbounded). */
  maxLoss: z.string().nullable(),
  denial: z.array(ruleVerdict).nullable(),
  proposalId: z.string().nullable(),
  legs: z.array(comboLegView),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ComboView = z.infer<typeof comboView>;

/** Positions and P&L grouped by strategy (combo), each leg with its own. */
export const strategyPositionView = z.object({
  comboId: z.string(),
  strategy: comboStrategy,
  openedAt: z.string().nullable(),
  legs: z.array(
    z.object({
      symbol: z.string(),
      side: orderSide,
      ratio: z.number().int(),
      quantity: z.string(),
      avgPrice: z.string().nullable(),
      mark: z.string().nullable(),
      unrealizedPnl: z.string().nullable(),
      realizedPnl: z.string(),
    }),
  ),
  unrealizedPnl: z.string().nullable(),
  realizedPnl: z.string(),
});
export type StrategyPositionView = z.infer<typeof strategyPositionView>;

/** The governor's combo dry run: every verdict (each naming its leg or the whole combo). */
export const comboCheckView = z.object({
  allowed: z.boolean(),
  verdicts: z.array(ruleVerdict),
  /** The strategy's maximum loss at the checked price (null: unbounded or no price). */
  maxLoss: z.string().nullable(),
  /** The net price per combo unit the rules valued (the limit, or the touches for market). */
  netPrice: z.string().nullable(),
});
export type ComboCheckView = z.infer<typeof comboCheckView>;

export const listCombosInput = z.strictObject({
  limit: z.number().int().min(1).max(500).default(100),
});
