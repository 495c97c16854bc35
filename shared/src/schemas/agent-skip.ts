import { z } from 'zod';

/**
 * Why the decision agent let a signal go without a proposal. One catalogue for the agent, the
 * `agent_skips` table, the console and the backtests: every skip carries one of these codes and a
 * human reason that names its numbers.
 */
export const AgentSkipCode = {
  /** The desk's agent lists the instrument but automation is off (circuit breaker or an admin). */
  NOT_COVERED: 'not_covered',
  /** Older than the agent's maximum signal age (a backlog replayed after downtime). */
  STALE_SIGNAL: 'stale_signal',
  /** Halt engaged for the desk or the platform. */
  HALTED: 'halted',
  /** Score below the desk's risk preset minimum. */
  BELOW_MIN_SCORE: 'below_min_score',
  /** No reference data (lot size) for the instrument: nothing could be ordered. */
  UNTRADABLE: 'untradable',
  /** A proposal on the same instrument and side is still pending. */
  DUPLICATE_PENDING: 'duplicate_pending',
  /** Opposite side within the minimum holding time (or while the other side is pending). */
  FLIP_FLOP: 'flip_flop',
  /** The desk's proposals of the trailing hour reached maxProposalsPerHour. */
  RATE_LIMITED: 'rate_limited',
  /** The token bucket has no whole token left. */
  BUDGET_EXHAUSTED: 'budget_exhausted',
  /** Tokens are scarce and the score is below the bar that keeps them for better signals. */
  BELOW_BUDGET_BAR: 'below_budget_bar',
  /** The decider (rules or model) returned no proposal; its reason is quoted. */
  DECIDER_DECLINED: 'decider_declined',
} as const;
export type AgentSkipCode = (typeof AgentSkipCode)[keyof typeof AgentSkipCode];

export const AGENT_SKIP_CODES = Object.values(AgentSkipCode) as [AgentSkipCode, ...AgentSkipCode[]];

/** A skipped signal as procedures return it. */
export const agentSkipViewSchema = z.object({
  id: z.uuid(),
  signalId: z.uuid(),
  symbol: z.string(),
  direction: z.enum(['long', 'short']),
  score: z.number(),
  code: z.enum(AGENT_SKIP_CODES),
  reason: z.string(),
  createdAt: z.string(),
});
export type AgentSkipView = z.infer<typeof agentSkipViewSchema>;
