import { z } from 'zod';
import { ORDER_STATUSES } from '../orders/statuses.ts';
import { isoDateTime, queryInstant } from './instant.ts';
import { safeText } from './text.ts';

/**
 * Orders at the edges (tRPC inputs/outputs, CLI, web). Quantities and prices are decimal strings,
 * never numbers: a float cannot carry 0.1 exactly.
 */
const DECIMAL_RE = /^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/;

/** A non-negative decimal string with at most 26 integer and 12 fractional digits (numeric(38,12)). */

export const decimalString = z
  .string()
  .trim()
  .regex(DECIMAL_RE, 'must be a decimal string like "12.5" (at most 12 decimals)');

export const positiveDecimalString = decimalString.refine(
  (s) => /[1-9]/.test(s),
  'must be greater than zero',
);

export const orderSide = z.enum(['buy', 'sell']);
export const orderType = z.enum(['market', 'limit', 'stop', 'stop_limit']);
export const timeInForce = z.enum(['day', 'gtc', 'ioc', 'fok']);
export const orderStatus = z.enum(ORDER_STATUSES);
/** A bracket leg's role (shared/src/orders/bracket.ts). */
export const bracketRole = z.enum(['stop', 'target']);

/**
 * Protective levels attached to an entry: a stop (stop order) and a target (limit order) on the
 * opposite side, one-cancels-other, sized to what the entry fills. At least one of the two.
 */
export const bracketInput = z
  .strictObject({
    stopPrice: positiveDecimalString.nullish(),
    targetPrice: positiveDecimalString.nullish(),
  })
  .refine((b) => Boolean(b.stopPrice || b.targetPrice), {
    message: 'needs a stopPrice, a targetPrice or both',
    path: ['stopPrice'],
  });
export type BracketInput = z.infer<typeof bracketInput>;

export const instrumentSymbol = safeText(64).regex(/^[A-Za-z0-9._:/-]+$/, 'symbol has invalid characters');

export const placeOrderInput = z
  // Strict: a key the API does not know (`tenantId`, `__proto__`) is refused by name, never dropped.
  .strictObject({
    symbol: instrumentSymbol,
    side: orderSide,
    orderType: orderType,
    timeInForce: timeInForce.default('day'),
    quantity: positiveDecimalString,
    limitPrice: positiveDecimalString.nullish(),
    stopPrice: positiveDecimalString.nullish(),
    /** Links the order to the proposal it executes (approvals flow). */
    proposalId: z.uuid().nullish(),
    /** Protective stop and target placed with the entry (an OCO bracket). */
    bracket: bracketInput.nullish(),
    /**
     * The linked broker connection (brokers.list) the order is routed to; null or absent: the
     * desk's paper account. The connection must be the desk's own and `active`.
     */
    brokerConnectionId: z.uuid().nullish(),
  })
  .superRefine((o, ctx) => {
    const needsLimit = o.orderType === 'limit' || o.orderType === 'stop_limit';
    const needsStop = o.orderType === 'stop' || o.orderType === 'stop_limit';
    if (needsLimit && !o.limitPrice)
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'required for this order type' });
    if (!needsLimit && o.limitPrice)
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'not allowed for this order type' });
    if (needsStop && !o.stopPrice)
      ctx.addIssue({ code: 'custom', path: ['stopPrice'], message: 'required for this order type' });
    if (!needsStop && o.stopPrice)
      ctx.addIssue({ code: 'custom', path: ['stopPrice'], message: 'not allowed for this order type' });
    if (o.orderType === 'market' && o.timeInForce === 'gtc') {
      ctx.addIssue({ code: 'custom', path: ['timeInForce'], message: 'market orders cannot be gtc' });
    }
  });
export type PlaceOrderInput = z.infer<typeof placeOrderInput>;

/** Idempotency keys: client-chosen, 8–128 printable characters (a UUID is ideal). */
export const idempotencyKey = z
  .string()
  .min(8)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export const ruleStatus = z.enum(['passed', 'failed', 'not_applicable']);

/**
 * One rule's verdict (shared/src/risk/reasons.ts RuleVerdict). Verdicts stored before `status`
 * existed (orders.denial, proposals.risk_check) carry `skipped` instead: the preprocess derives
 * their status so old rows stay readable and nothing shows as silently passed.
 */
export const ruleVerdict = z.preprocess(
  (v) =>
    v && typeof v === 'object' && !('status' in v)
      ? {
          ...v,
          status: (v as { skipped?: boolean }).skipped
            ? 'not_applicable'
            : (v as { passed?: boolean }).passed
              ? 'passed'
              : 'failed',
        }
      : v,
  z.object({
    rule: z.string(),
    status: ruleStatus,
    passed: z.boolean(),
    code: z.string().optional(),
    limit: z.string().optional(),
    requested: z.string().optional(),
    current: z.string().optional(),
    message: z.string().optional(),
  }),
);
export type RuleVerdictView = z.infer<typeof ruleVerdict>;

export const orderView = z.object({
  id: z.string(),
  clientOrderId: z.string(),
  brokerOrderId: z.string().nullable(),
  broker: z.string(),
  /** The linked connection the order was routed to (null: the desk's paper account). */
  brokerConnectionId: z.string().nullish(),
  proposalId: z.string().nullable(),
  symbol: z.string(),
  side: orderSide,
  orderType: orderType,
  timeInForce: timeInForce,
  quantity: z.string(),
  limitPrice: z.string().nullable(),
  stopPrice: z.string().nullable(),
  status: orderStatus,
  filledQuantity: z.string(),
  avgFillPrice: z.string().nullable(),
  fees: z.string(),
  rejectReason: z.string().nullable(),
  /** The governor's verdict per rule when the order was denied. */
  denial: z.array(ruleVerdict).nullable(),
  origin: z.enum(['human', 'api', 'agent']),
  createdBy: z.string().nullable(),
  /** Bracket legs: the entry they protect, their role, and their one-cancels-other group. */
  parentOrderId: z.string().nullable(),
  bracketRole: bracketRole.nullable(),
  ocoGroup: z.string().nullable(),
  version: z.number().int(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});
export type OrderView = z.infer<typeof orderView>;

export const fillView = z.object({
  id: z.string(),
  orderId: z.string(),
  executionId: z.string(),
  ts: isoDateTime,
  /** The same time to the µs (ISO, six fractional digits): a Date keeps ms only. */
  tsMicros: z.string(),
  symbol: z.string(),
  side: orderSide,
  quantity: z.string(),
  price: z.string(),
  fee: z.string(),
  liquidity: z.enum(['maker', 'taker']).nullable(),
});
export type FillView = z.infer<typeof fillView>;

export const listOrdersInput = z.strictObject({
  status: z.enum(['working', 'terminal', 'all']).default('all'),
  symbol: instrumentSymbol.optional(),
  limit: z.number().int().min(1).max(500).default(100),
  /** Keyset cursor: orders created before this instant. */
  before: queryInstant.optional(),
});
export type ListOrdersInput = z.infer<typeof listOrdersInput>;
