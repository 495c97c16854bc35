import { z } from 'zod';
import { decimalString, instrumentSymbol, positiveDecimalString } from './order.ts';

/** Risk limits at the edges: the desk row is symbol '*', instrument rows override (stricter wins). */
const maybeDecimal = positiveDecimalString.nullable();
const maybeInt = (max: number) => z.number().int().min(0).max(max).nullable();

export const riskLimitsFields = z.object({
  maxOrderQty: maybeDecimal,
  maxOrderNotional: maybeDecimal,
  maxPosition: maybeDecimal,
  maxGrossExposure: maybeDecimal,
  maxNetExposure: maybeDecimal,
  maxNetDelta: maybeDecimal,
  maxOpenLegs: maybeInt(100_000),
  maxDailyLoss: maybeDecimal,
  priceCollarBps: maybeInt(10_000),
  maxReferenceAgeMs: maybeInt(86_400_000),
  maxSpreadBps: maybeInt(10_000),
  duplicateWindowMs: maybeInt(3_600_000),
  maxOrdersPerMinute: maybeInt(100_000),
  lossStreakCount: maybeInt(1_000),
  lossStreakThreshold: decimalString.nullable(),
  restricted: z.boolean(),
});
export type RiskLimitsFields = z.infer<typeof riskLimitsFields>;

export const riskLimitsRow = riskLimitsFields.extend({
  symbol: z.union([z.literal('*'), instrumentSymbol]),
  updatedAt: z.date().nullable(),
  updatedBy: z.string().nullable(),
});
export type RiskLimitsRow = z.infer<typeof riskLimitsRow>;

export const setRiskLimitsInput = z.strictObject({
  ...riskLimitsFields.partial().shape,
  symbol: z.union([z.literal('*'), instrumentSymbol]).default('*'),
});
export type SetRiskLimitsInput = z.infer<typeof setRiskLimitsInput>;

export const haltScope = z.enum(['global', 'desk']);
export const haltState = z.object({
  /** True when either switch is engaged: only cancels and risk-reducing orders pass. */
  halted: z.boolean(),
  global: z.object({ engaged: z.boolean(), reason: z.string().nullable(), engagedAt: z.date().nullable() }),
  desk: z.object({ engaged: z.boolean(), reason: z.string().nullable(), engagedAt: z.date().nullable() }),
});
export type HaltState = z.infer<typeof haltState>;
