import type { Decider } from '@aegis/shared/agent/decider';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { BacktestProgress, BacktestResult, BacktestSpec } from '@aegis/shared/schemas/backtest';
import type { Scorer } from './scorer.ts';
import type { TickSource } from './tick-source.ts';

/**
 * Runs one backtest: the ticks of `io.ticks` through the engine's own features and detectors
 * (FeatureStepper), the model (`io.model`), the decision agent (the shared rule decider, or
 * `io.decider` when the spec asks for 'openai'), the shared proposal gate, the risk governor
 * (evaluateOrder) and the paper broker's fill model, on a simulated clock: event time drives
 * everything and nothing in the result depends on the wall clock.
 */
export interface BacktestIo {
  readonly ticks: TickSource;
  readonly model: Scorer;
  /** Required when spec.agent.decider is 'openai' (estimate its cost first: estimateDecisionCost). */
  readonly decider?: Decider;
  /** About twice a second of wall time, and once at the end. */
  readonly onProgress?: (p: BacktestProgress) => void;
  /** Cancels the run: the promise rejects with AppError code CANCELLED. */
  readonly signal?: AbortSignal;
  /** Wall clock in ms for progress and ETA only (default performance.now). */
  readonly now?: () => number;
}

export async function runBacktest(_spec: BacktestSpec, _io: BacktestIo): Promise<BacktestResult> {
  throw new AppError(ErrorCode.UNAVAILABLE, 'backtest runner: not yet');
}
