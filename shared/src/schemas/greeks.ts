import { z } from 'zod';
import { instrumentSymbol, positiveDecimalString } from './order.ts';

/**
 * A desk's live Greeks (greeks.current, greeks.updates). Position contributions are in units of
 * the underlying: delta × quantity × multiplier (a +1 future of multiplier 50 contributes 50);
 * gamma, vega (per 1.00 vol) and theta (per day) the same way. Dollar delta = delta units ×
 * the underlying's price (what the governor's max net delta bounds).
 */
export const greekTotals = z.object({
  delta: z.number(),
  gamma: z.number(),
  vega: z.number(),
  theta: z.number(),
  dollarDelta: z.number(),
});
export type GreekTotals = z.infer<typeof greekTotals>;

export const positionGreeksView = z.object({
  symbol: z.string(),
  underlying: z.string(),
  assetClass: z.enum(['equity', 'crypto', 'future', 'option', 'fx']),
  quantity: z.string(),
  multiplier: z.string(),
  mark: z.string().nullable(),
  iv: z.number().nullable(),
  contribution: greekTotals,
});

export const underlyingGreeksView = z.object({
  underlying: z.string(),
  price: z.string().nullable(),
  totals: greekTotals,
  /** The hedging band for this underlying (delta units), when the hedger watches it. */
  band: z.string().nullable(),
});

export const deskGreeksView = z.object({
  asOf: z.string(),
  totals: greekTotals,
  byUnderlying: z.array(underlyingGreeksView),
  positions: z.array(positionGreeksView),
  /** Symbols whose Greeks could not be computed (no price): the totals leave them out. */
  missing: z.array(z.string()),
  limits: z.object({
    maxNetDelta: z.string().nullable(),
    maxOpenLegs: z.number().int().nullable(),
    openLegs: z.number().int(),
  }),
});
export type DeskGreeksView = z.infer<typeof deskGreeksView>;

/** The delta-neutral hedger's settings per desk. */
export const hedgeTargetInput = z.strictObject({
  underlying: instrumentSymbol,
  /** The linear instrument the hedger trades (the underlying itself, or its future). */
  hedgeSymbol: instrumentSymbol,
  /** Net delta is kept within ±band (delta units of the underlying). */
  band: positiveDecimalString,
});
export const hedgingSettingsView = z.object({
  enabled: z.boolean(),
  targets: z.array(z.object({ underlying: z.string(), hedgeSymbol: z.string(), band: z.string() })),
  /** From the desk's agent mode: proposals (confirmation) or orders (autonomous, when allowed). */
  mode: z.enum(['confirmation', 'autonomous']),
  autonomousAllowed: z.boolean(),
  updatedAt: z.string().nullable(),
});
export type HedgingSettingsView = z.infer<typeof hedgingSettingsView>;
export const updateHedgingSettingsInput = z.strictObject({
  enabled: z.boolean().optional(),
  targets: z.array(hedgeTargetInput).max(50).optional(),
});

/** What the hedger did in one pass, for the console's activity list. */
export const hedgeActionView = z.object({
  at: z.string(),
  underlying: z.string(),
  netDeltaBefore: z.number(),
  band: z.string(),
  action: z.enum(['none', 'proposed', 'placed', 'skipped']),
  hedgeSymbol: z.string(),
  side: z.enum(['buy', 'sell']).nullable(),
  quantity: z.string().nullable(),
  reason: z.string(),
  proposalId: z.string().nullable(),
  orderId: z.string().nullable(),
});
export type HedgeActionView = z.infer<typeof hedgeActionView>;
