import { z } from 'zod';
import { ruleVerdict } from './order.ts';

/**
 * Trade proposals. `tradeProposalSchema` is what a decider (the model or the rule-based one)
 * must produce: it is the structured-output schema sent to the model (converted with
 * `z.toJSONSchema`, so it keeps to what strict structured outputs accept: every property
 * required, null for "none", no extra properties) and the check every answer passes before it
 * can become a proposal. Prices and quantities are decimal strings.
 */

const DECIMAL_PATTERN = '^(?:0|[1-9][0-9]{0,25})(?:\\.[0-9]{1,12})?$';
const decimal = z.string().regex(new RegExp(DECIMAL_PATTERN), 'must be a decimal string like "12.5"');
const positiveDecimal = decimal.refine((s) => /[1-9]/.test(s), 'must be greater than zero');

export const proposalSideSchema = z.enum(['buy', 'sell']);
/** Entry order types a proposal may carry (stop and target are exit levels, not order types). */
export const proposalOrderTypeSchema = z.enum(['market', 'limit']);
export const timeHorizonSchema = z.enum(['minutes', 'hours', 'days']);

export const lessonAppliedSchema = z.strictObject({
  lessonId: z.string().describe('id of a lesson given in the context'),
  how: z.string().min(1).max(500).describe('what the lesson changed in this proposal'),
});

export const rationaleSchema = z.strictObject({
  marketContext: z.string().min(1).max(2000),
  signalEvidence: z.string().min(1).max(2000),
  riskView: z.string().min(1).max(2000),
  lessonsApplied: z.array(lessonAppliedSchema).max(10),
});
export type Rationale = z.infer<typeof rationaleSchema>;

export const tradeProposalSchema = z.strictObject({
  instrument: z.string().min(1).max(64),
  side: proposalSideSchema,
  quantity: positiveDecimal,
  orderType: proposalOrderTypeSchema,
  /** Required for limit orders, null for market orders. */
  limitPrice: positiveDecimal.nullable(),
  /** Protective stop-loss level. */
  stopPrice: positiveDecimal.nullable(),
  /** Take-profit level. */
  targetPrice: positiveDecimal.nullable(),
  timeHorizon: timeHorizonSchema,
  confidence: z.number().min(0).max(1),
  riskScore: z.number().int().min(0).max(100),
  rationale: rationaleSchema,
});
export type TradeProposal = z.infer<typeof tradeProposalSchema>;

/**
 * Checks the schema cannot express: the order type's price, the side of stop and target
 * relative to the entry. Returns the problems (empty = coherent).
 */
export function proposalInconsistencies(p: TradeProposal, referencePrice: number | null): string[] {
  const problems: string[] = [];
  if (p.orderType === 'limit' && p.limitPrice === null)
    problems.push('limitPrice: required for a limit order');
  if (p.orderType === 'market' && p.limitPrice !== null)
    problems.push('limitPrice: must be null for a market order');
  const entry = p.limitPrice !== null ? Number(p.limitPrice) : referencePrice;
  if (entry !== null && Number.isFinite(entry)) {
    const below = p.side === 'buy' ? 'stopPrice' : 'targetPrice';
    const above = p.side === 'buy' ? 'targetPrice' : 'stopPrice';
    const lo = p[below];
    const hi = p[above];
    if (lo !== null && Number(lo) >= entry)
      problems.push(`${below}: must be below the entry for a ${p.side}`);
    if (hi !== null && Number(hi) <= entry)
      problems.push(`${above}: must be above the entry for a ${p.side}`);
  }
  return problems;
}

export const proposalStatusSchema = z.enum([
  'pending',
  'approved',
  'rejected',
  'expired',
  'executed',
  'failed',
  'denied',
]);
export type ProposalStatus = z.infer<typeof proposalStatusSchema>;

/** The governor's verdict per rule: one schema for orders and proposals (order.ts). */
export const riskRuleVerdictSchema = ruleVerdict;

export const proposalViewSchema = z.object({
  id: z.string(),
  signalId: z.string().nullable(),
  instrument: z.string(),
  side: proposalSideSchema,
  quantity: z.string(),
  orderType: z.string(),
  limitPrice: z.string().nullable(),
  stopPrice: z.string().nullable(),
  targetPrice: z.string().nullable(),
  timeHorizon: z.string(),
  confidence: z.number(),
  riskScore: z.number(),
  rationale: rationaleSchema,
  lessonIds: z.array(z.string()),
  status: proposalStatusSchema,
  decider: z.enum(['openai', 'rules', 'human']),
  model: z.string().nullable(),
  promptTokens: z.number().nullable(),
  completionTokens: z.number().nullable(),
  latencyMs: z.number().nullable(),
  riskVerdict: z
    .object({ allowed: z.boolean(), rules: z.array(riskRuleVerdictSchema), checkedAt: z.string() })
    .nullable(),
  orderId: z.string().nullable(),
  expiresAt: z.string(),
  decidedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ProposalView = z.infer<typeof proposalViewSchema>;
