import { z } from 'zod';
import { INSTRUMENT_LIMIT_FIELDS, LIMIT_FIELDS, type LimitField } from '../risk/limits.ts';
import { isoDateTime } from './instant.ts';
import { decimalString, instrumentSymbol, positiveDecimalString } from './order.ts';

/**
 * Risk limits at the edges. Scopes: the desk ('*') and instruments (overrides of the per-order
 * limits only). Semantics live in shared/src/risk/limits.ts: an unset field inherits, never means
 * "no limit"; removing a limit is its own procedure (risk.limits.remove).
 */
export const limitScope = z.union([z.literal('*'), instrumentSymbol]);
export const limitField = z.enum(LIMIT_FIELDS);
export const limitSource = z.enum(['default', 'desk', 'instrument', 'removed']);

const NULL_IS_NOT_REMOVAL =
  'null does not remove a limit: use risk.limits.remove (no limit) or risk.limits.reset (back to the default)';
/** A value to set; null is refused by name rather than silently read as "no limit". */
const settable = <T extends z.ZodType>(t: T) =>
  z
    .union([t, z.null()])
    .refine((v) => v !== null, NULL_IS_NOT_REMOVAL)
    .transform((v) => v as z.output<T>);
const int = (max: number) => settable(z.number().int().min(0).max(max));

export const riskLimitsFields = z.strictObject({
  maxOrderQty: settable(positiveDecimalString),
  maxOrderNotional: settable(positiveDecimalString),
  maxPosition: settable(positiveDecimalString),
  maxGrossExposure: settable(positiveDecimalString),
  maxNetExposure: settable(positiveDecimalString),
  maxNetDelta: settable(positiveDecimalString),
  maxOpenLegs: int(100_000),
  maxDailyLoss: settable(positiveDecimalString),
  priceCollarBps: int(10_000),
  maxReferenceAgeMs: int(86_400_000),
  maxSpreadBps: int(10_000),
  duplicateWindowMs: int(3_600_000),
  maxOrdersPerMinute: int(100_000),
  lossStreakCount: int(1_000),
  lossStreakThreshold: settable(decimalString),
  restricted: settable(z.boolean()),
});

const bookWideOnInstrument = (symbol: string, field: string) =>
  symbol !== '*' &&
  (LIMIT_FIELDS as readonly string[]).includes(field) &&
  !INSTRUMENT_LIMIT_FIELDS.includes(field as LimitField);
const BOOK_WIDE = "bounds the whole book: set it on the desk (symbol '*'), not per instrument";

/** risk.limits.set: merges the given fields into the scope; everything else keeps its value. */
export const setRiskLimitsInput = z
  .strictObject({ symbol: limitScope.default('*'), ...riskLimitsFields.partial().shape })
  .superRefine((o, ctx) => {
    const given = Object.keys(o).filter((k) => k !== 'symbol');
    if (given.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `no limit given: name at least one of ${[...LIMIT_FIELDS, 'restricted'].join(', ')}`,
      });
    }
    for (const k of given)
      if (bookWideOnInstrument(o.symbol, k)) ctx.addIssue({ code: 'custom', path: [k], message: BOOK_WIDE });
  });
export type SetRiskLimitsInput = z.infer<typeof setRiskLimitsInput>;

/** risk.limits.remove: "no limit" for one field of one scope, recorded as an explicit removal. */
export const removeRiskLimitInput = z
  .strictObject({ symbol: limitScope.default('*'), field: limitField })
  .superRefine((o, ctx) => {
    if (bookWideOnInstrument(o.symbol, o.field))
      ctx.addIssue({ code: 'custom', path: ['field'], message: BOOK_WIDE });
  });
export type RemoveRiskLimitInput = z.infer<typeof removeRiskLimitInput>;

/** risk.limits.reset: one field (or, without `field`, the whole scope) inherits again. */
export const resetRiskLimitsInput = z.strictObject({
  symbol: limitScope.default('*'),
  field: limitField.optional(),
});
export type ResetRiskLimitsInput = z.infer<typeof resetRiskLimitsInput>;

/** risk.limits.get: the desk scope and every instrument override, or one instrument's scope. */
export const getRiskLimitsInput = z.strictObject({ symbol: instrumentSymbol.optional() }).optional();

export const effectiveLimitView = z.object({
  /** The limit in force (decimal string or integer); null only when removed. */
  value: z.union([z.string(), z.number()]).nullable(),
  source: limitSource,
  /** When removed: the scope that removed it ('*' or 'instrument'), when and by whom. */
  removal: z.object({ scope: z.string(), at: z.string(), by: z.string().nullable() }).nullable(),
});
export type EffectiveLimitView = z.infer<typeof effectiveLimitView>;

export const riskLimitsScopeView = z.object({
  symbol: limitScope,
  /** True when this scope has a stored row (otherwise everything is inherited). */
  stored: z.boolean(),
  fields: z.record(limitField, effectiveLimitView),
  restricted: z.object({ value: z.boolean(), source: z.enum(['default', 'desk', 'instrument']) }),
  updatedAt: isoDateTime.nullable(),
  updatedBy: z.string().nullable(),
});
export type RiskLimitsScopeView = z.infer<typeof riskLimitsScopeView>;

export const haltScope = z.enum(['global', 'desk']);
const haltSwitch = z.object({
  engaged: z.boolean(),
  reason: z.string().nullable(),
  engagedAt: isoDateTime.nullable(),
});
export const haltState = z.object({
  /** True when either switch is engaged: only cancels and risk-reducing orders pass. */
  halted: z.boolean(),
  global: haltSwitch,
  desk: haltSwitch,
});
export type HaltState = z.infer<typeof haltState>;
