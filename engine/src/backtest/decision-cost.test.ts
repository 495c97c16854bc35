import { backtestSpecSchema } from '@aegis/shared/schemas/backtest';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DECISION_PRICING, estimateDecisionCost } from './decision-cost.ts';

const spec = (decider: 'rules' | 'openai', maxProposalsPerHour = 20) =>
  backtestSpecSchema.parse({
    name: 'cost',
    instruments: ['AAA'],
    data: { kind: 'simulation' },
    agent: { decider, maxProposalsPerHour },
  });

describe('estimateDecisionCost', () => {
  it('the rules cost nothing', () => {
    expect(estimateDecisionCost(spec('rules'), { signals: 10_000 })).toMatchObject({ calls: 0, usd: 0 });
  });

  it('an LLM is asked for the signals above the floor, at most the hourly budget over the span', () => {
    const free = estimateDecisionCost(spec('openai'), { signals: 1000, shareAboveFloor: 0.3 });
    expect(free.calls).toBe(300);
    expect(free.promptTokens).toBe(300 * DEFAULT_DECISION_PRICING.promptTokensPerCall);
    const usd =
      (300 * DEFAULT_DECISION_PRICING.promptTokensPerCall * DEFAULT_DECISION_PRICING.promptUsdPerMillion +
        300 *
          DEFAULT_DECISION_PRICING.completionTokensPerCall *
          DEFAULT_DECISION_PRICING.completionUsdPerMillion) /
      1e6;
    expect(free.usd).toBeCloseTo(usd, 4);
    const capped = estimateDecisionCost(spec('openai', 20), {
      signals: 1000,
      shareAboveFloor: 0.3,
      simulatedHours: 2,
    });
    expect(capped.calls).toBe(40);
  });
});
