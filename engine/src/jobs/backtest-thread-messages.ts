import type { BacktestProgress, BacktestResult, BacktestSpec } from '@aegis/shared/schemas/backtest';

/**
 * Messages between a backtest job (main thread) and the thread that runs it
 * (backtest-thread-worker.ts). Errors cross as a string code and a message (shared/errors.ts).
 */
export interface BacktestThreadStartup {
  readonly spec: BacktestSpec;
  /** The uploaded file, already written and checked by the main thread. */
  readonly uploadPath: string | null;
  /** For a range of the `ticks` table (market data: no desk needed). */
  readonly databaseUrl: string | null;
  /** signal-mlp.json; null: the committed model. */
  readonly modelJsonPath: string | null;
  readonly logLevel: string;
  /** The model a spec with agent.decider 'openai' asks; null: such a run fails, saying so. */
  readonly openai: {
    readonly apiKey: string;
    readonly baseUrl: string | null;
    readonly model: string | null;
  } | null;
}

export type MainToBacktestThread = { readonly type: 'cancel' };

export type BacktestThreadToMain =
  | { readonly type: 'progress'; readonly progress: BacktestProgress }
  | { readonly type: 'result'; readonly result: BacktestResult }
  | {
      readonly type: 'error';
      readonly code: string;
      readonly message: string;
      readonly cancelled: boolean;
      readonly field: string | null;
    };
