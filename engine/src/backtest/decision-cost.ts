import { DEFAULT_DECISION_PRICING, type DecisionPricing } from '@aegis/shared/agent/decision-pricing';
import type { BacktestSpec } from '@aegis/shared/schemas/backtest';

/**
 * What an LLM decider would cost over a backtest, shown before one is started. The model is asked
 * only for signals that pass the preset's minimum score and the proposal gate, so the number of
 * calls is bounded by the gate's hourly budget over the simulated span as well as by the signals.
 *
 * Token counts per call are assumed sizes of the OpenAI decider's prompt (system prompt and a
 * context with a few positions and no lessons, ~1,400 tokens) and answer (a proposal with its
 * rationale, ~350 tokens), and the prices those of its default model per million tokens: an
 * estimate to show before starting, with the real usage summed from the decider's answers. Pass
 * other pricing when either changes.
 */
export interface DecisionCostInput {
  /** Expected signals over the run (from a simulation's rate, or a previous rules run). */
  readonly signals: number;
  /** Share of signals at or above the preset's minimum score (default 0.2). */
  readonly shareAboveFloor?: number;
  /** Simulated hours the run covers, when known: caps calls at the gate's hourly budget. */
  readonly simulatedHours?: number | null;
}

// The assumed call sizes and prices live in shared/, where the server's estimate reads them too.
export { DEFAULT_DECISION_PRICING, type DecisionPricing } from '@aegis/shared/agent/decision-pricing';

export interface DecisionCostEstimate {
  readonly decider: 'rules' | 'openai';
  readonly model: string | null;
  readonly calls: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly usd: number;
}

export function estimateDecisionCost(
  spec: Pick<BacktestSpec, 'agent'>,
  input: DecisionCostInput,
  pricing: DecisionPricing = DEFAULT_DECISION_PRICING,
): DecisionCostEstimate {
  if (spec.agent.decider === 'rules') {
    return { decider: 'rules', model: null, calls: 0, promptTokens: 0, completionTokens: 0, usd: 0 };
  }
  let calls = Math.ceil(Math.max(0, input.signals) * (input.shareAboveFloor ?? 0.2));
  if (input.simulatedHours != null && input.simulatedHours >= 0) {
    calls = Math.min(calls, Math.ceil(spec.agent.maxProposalsPerHour * Math.max(1, input.simulatedHours)));
  }
  const promptTokens = calls * pricing.promptTokensPerCall;
  const completionTokens = calls * pricing.completionTokensPerCall;
  const usd =
    (promptTokens * pricing.promptUsdPerMillion + completionTokens * pricing.completionUsdPerMillion) / 1e6;
  return {
    decider: 'openai',
    model: pricing.model,
    calls,
    promptTokens,
    completionTokens,
    usd: Math.round(usd * 1e4) / 1e4,
  };
}
