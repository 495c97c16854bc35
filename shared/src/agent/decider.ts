import type { RiskLimits } from '../risk/governor.ts';
import type { LessonView } from '../schemas/lesson.ts';
import type { TradeProposal } from '../schemas/proposal.ts';
import type { SignalView } from '../schemas/signal.ts';

/**
 * What a decider sees and what it returns. Two implementations produce the same type: the
 * model (openai-decider.ts, structured outputs) and the deterministic rules (rule-decider.ts).
 */

export type RiskPreset = 'conservative' | 'balanced' | 'aggressive';

export interface DeskSnapshot {
  readonly tenantId: string;
  readonly riskPreset: RiskPreset;
  readonly positions: readonly { symbol: string; quantity: string; avgCost: string; realizedPnl: string }[];
  /** Effective limits for the signal's instrument (desk row merged with the instrument row). */
  readonly limits: RiskLimits;
  /** Gross and net exposure at average cost (decimal strings). */
  readonly exposure: { readonly gross: string; readonly net: string };
  /** Closed trades of the last 24 hours. */
  readonly recentPnl: {
    readonly realized24h: string;
    readonly trades24h: number;
    readonly losses24h: number;
  };
  /** Lot size of the instrument when known (quantities are rounded down to it). */
  readonly lotSize: string | null;
}

export interface DecisionInput {
  readonly signal: SignalView;
  readonly desk: DeskSnapshot;
  /** Recalled lessons, most similar first. */
  readonly lessons: readonly LessonView[];
}

export interface DecisionOutcome {
  /** null: no trade (the rules passed on it, or the model's answer was discarded). */
  readonly proposal: TradeProposal | null;
  readonly decider: 'openai' | 'rules';
  readonly model: string | null;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
  readonly latencyMs: number;
  readonly attempts: number;
  /** Why there is no proposal. */
  readonly reason?: string;
}

export interface Decider {
  readonly kind: 'openai' | 'rules';
  decide(input: DecisionInput): Promise<DecisionOutcome>;
}
