import { DEFAULT_MODEL } from './openai-decider.ts';

/**
 * What one call of the OpenAI decider is assumed to cost, for estimates shown before an LLM is
 * used (a backtest's `backtests.estimate` on the server, the engine's estimateDecisionCost):
 * assumed sizes of the decider's prompt (system prompt and a context with a few positions and no
 * lessons, ~1,400 tokens) and answer (a proposal with its rationale, ~350 tokens), at its default
 * model's list prices per million tokens. One place, so the two estimates cannot drift apart.
 */
export interface DecisionPricing {
  readonly model: string;
  readonly promptUsdPerMillion: number;
  readonly completionUsdPerMillion: number;
  readonly promptTokensPerCall: number;
  readonly completionTokensPerCall: number;
}

export const DEFAULT_DECISION_PRICING: DecisionPricing = Object.freeze({
  model: DEFAULT_MODEL,
  promptUsdPerMillion: 0.15,
  completionUsdPerMillion: 0.6,
  promptTokensPerCall: 1400,
  completionTokensPerCall: 350,
});

/** USD of one call at `pricing`. */
export const usdPerDecision = (pricing: DecisionPricing = DEFAULT_DECISION_PRICING): number =>
  (pricing.promptTokensPerCall * pricing.promptUsdPerMillion +
    pricing.completionTokensPerCall * pricing.completionUsdPerMillion) /
  1e6;
