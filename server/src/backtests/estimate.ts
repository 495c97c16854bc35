import { DEFAULT_DECISION_PRICING, usdPerDecision } from '@aegis/shared/agent/decision-pricing';
import type { BacktestSpec } from '@aegis/shared/schemas/backtest';

/**
 * What an LLM decider would cost over a backtest, shown before one is started. The model is asked
 * only for signals that pass the proposal gate, whose budget is `maxProposalsPerHour` per hour of
 * SIMULATED time — so the bound is exact in calls when the simulated span is known (a range of
 * the `ticks` table) and is given per simulated hour otherwise (a file's or a simulation's span
 * is known only once it is read). Call sizes and prices: shared/src/agent/decision-pricing.ts,
 * the same the engine's own estimate uses.
 */
export interface BacktestCostEstimate {
  readonly decider: 'rules' | 'openai';
  readonly model: string | null;
  /** Most model calls over the run; null when the simulated span is not known up front. */
  readonly maxCalls: number | null;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
  /** Most USD over the run (null when maxCalls is). */
  readonly usd: number | null;
  /** Most USD per simulated hour (the gate's hourly budget, every call used). */
  readonly usdPerSimulatedHour: number;
  readonly simulatedHours: number | null;
  /** One sentence: what the numbers assume. */
  readonly basis: string;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

export function estimateBacktestCost(spec: BacktestSpec): BacktestCostEstimate {
  if (spec.agent.decider === 'rules') {
    return {
      decider: 'rules',
      model: null,
      maxCalls: 0,
      promptTokens: 0,
      completionTokens: 0,
      usd: 0,
      usdPerSimulatedHour: 0,
      simulatedHours: null,
      basis: 'the rule decider makes no model calls',
    };
  }
  const p = DEFAULT_DECISION_PRICING;
  const perCall = usdPerDecision(p);
  const perHour = spec.agent.maxProposalsPerHour * perCall;
  const hours =
    spec.data.kind === 'ticks_table'
      ? Math.max(0, (Date.parse(spec.data.to) - Date.parse(spec.data.from)) / 3_600_000)
      : null;
  // The bucket starts full: a run shorter than an hour may still spend one hour's budget.
  const calls = hours === null ? null : Math.ceil(spec.agent.maxProposalsPerHour * Math.max(1, hours));
  return {
    decider: 'openai',
    model: p.model,
    maxCalls: calls,
    promptTokens: calls === null ? null : calls * p.promptTokensPerCall,
    completionTokens: calls === null ? null : calls * p.completionTokensPerCall,
    usd: calls === null ? null : round4(calls * perCall),
    usdPerSimulatedHour: round4(perHour),
    simulatedHours: hours === null ? null : Math.round(hours * 1000) / 1000,
    basis:
      `at most ${spec.agent.maxProposalsPerHour} calls per simulated hour (the proposal budget), ` +
      `~${p.promptTokensPerCall} prompt + ${p.completionTokensPerCall} completion tokens each at ` +
      `${p.model} list prices` +
      (hours === null ? '; the simulated span is known only once the data is read' : ''),
  };
}
