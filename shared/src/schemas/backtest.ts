import { z } from 'zod';
import { decimalString, instrumentSymbol, positiveDecimalString } from './order.ts';
import { safeText } from './text.ts';

/**
 * Backtests at the edges: what a desk asks for (`backtests.create`, the CLI), the progress a
 * running job reports, and the result it stores (table `backtests`). One schema per fact: the
 * engine's backtest worker (engine/src/backtest/), the server's router and service, the console
 * and the CLI all parse these.
 *
 * A backtest replays recorded ticks through the engine's own features, patterns and model, the
 * decision agent's rules, the risk governor and the paper broker's fill model, on a simulated
 * clock. The same spec and seed give byte-identical results.
 */

const isoTime = z.iso.datetime({ offset: true });

/** Where the ticks come from. */
export const backtestDataSchema = z.discriminatedUnion('kind', [
  /** A time range of the `ticks` table (market data, not per desk). */
  z
    .strictObject({
      kind: z.literal('ticks_table'),
      from: isoTime,
      to: isoTime,
    })
    // At the edge, so a backwards range is named before anything else is looked up.
    .refine((d) => Date.parse(d.to) > Date.parse(d.from), {
      path: ['to'],
      message: 'must be after data.from',
    }),
  /** A tick file uploaded through `backtests.upload*` (CSV or the engine's binary `.ticks`). */
  z.strictObject({
    kind: z.literal('upload'),
    uploadId: z.uuid(),
  }),
  /** The engine's labelled market simulation (engine/src/eval/), for trying settings out. */
  z.strictObject({
    kind: z.literal('simulation'),
    symbols: z.number().int().min(1).max(1000).default(10),
    ticks: z.number().int().min(1000).max(50_000_000).default(1_000_000),
  }),
]);
export type BacktestData = z.infer<typeof backtestDataSchema>;

/** Fill realism: how long things take, where a resting order sits in the queue, what it costs. */
export const backtestExecutionSchema = z.strictObject({
  /** Ticks reach the strategy this long after their event time (feed latency), µs. */
  feedLatencyUs: z.number().int().min(0).max(60_000_000).default(500),
  /** An order reaches the venue this long after the decision (order latency), µs. */
  orderLatencyUs: z.number().int().min(0).max(60_000_000).default(2_000),
  /**
   * Resting limit orders join the back of the displayed queue at their price and fill only after
   * that much volume has traded through the price (true) — or at the first touch (false).
   */
  queuePosition: z.boolean().default(true),
  /** Fees in bps of the notional, taker and maker, and a minimum per order. */
  takerFeeBps: decimalString.default('2'),
  makerFeeBps: decimalString.default('0'),
  minFee: decimalString.default('0'),
  /** Beyond the displayed touch, each further level is this many bps worse (paper fill model). */
  slippageBps: decimalString.default('5'),
});
export type BacktestExecution = z.infer<typeof backtestExecutionSchema>;

/** The decision agent in a backtest: the rules by default; an LLM only when asked. */
export const backtestAgentSchema = z.strictObject({
  decider: z.enum(['rules', 'openai']).default('rules'),
  riskPreset: z.enum(['conservative', 'balanced', 'aggressive']).default('balanced'),
  /** Proposal budget per hour of simulated time (token bucket, best score first). */
  maxProposalsPerHour: z.number().int().min(1).max(10_000).default(20),
  /** Minimum holding time before an opposite proposal on the same instrument, seconds. */
  minHoldingSeconds: z.number().int().min(0).max(86_400).default(300),
  /** Proposals are approved at once (a backtest has no human in the loop). */
});
export type BacktestAgent = z.infer<typeof backtestAgentSchema>;

export const backtestSpecSchema = z.strictObject({
  name: safeText(120),
  /** Instruments to trade (ticks of others are skipped); at least one. */
  instruments: z.array(instrumentSymbol).min(1).max(1000),
  data: backtestDataSchema,
  /** Starting cash in the desk's currency. */
  capital: positiveDecimalString.default('100000'),
  /** Seeds everything random (simulation data, tie breaks): same spec + seed = same bytes. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(1),
  agent: backtestAgentSchema.default(backtestAgentSchema.parse({})),
  execution: backtestExecutionSchema.default(backtestExecutionSchema.parse({})),
  /**
   * Detector thresholds and cooldowns (engine/src/features/params.ts patternParamsSchema keys);
   * validated by the engine's own schema when the job starts. Omitted keys keep the defaults.
   */
  detectors: z.record(safeText(64), z.number()).default({}),
  /**
   * Risk limits for the simulated desk (shared/src/risk/limits.ts fields); omitted fields are the
   * platform defaults, as for a new desk.
   */
  limits: z.record(safeText(64), safeText(64).nullable()).default({}),
  /** Write the replayed ticks to the `ticks` table (off by default). */
  persistTicks: z.boolean().default(false),
});
export type BacktestSpec = z.infer<typeof backtestSpecSchema>;
export type BacktestSpecInput = z.input<typeof backtestSpecSchema>;

export const backtestStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type BacktestStatus = z.infer<typeof backtestStatusSchema>;

/** What a running job reports, about twice a second. */
export const backtestProgressSchema = z.strictObject({
  ticks: z.number().int().min(0),
  /** Total ticks when known up front (a file, a counted range); null when not. */
  totalTicks: z.number().int().min(0).nullable(),
  /** Simulated clock, ISO with µs. */
  simTime: z.string().nullable(),
  /** Fraction done in [0, 1]. */
  fraction: z.number().min(0).max(1),
  /** Estimated seconds to completion; null until it can be estimated. */
  etaSeconds: z.number().min(0).nullable(),
  ticksPerSecond: z.number().min(0),
  signals: z.number().int().min(0),
  orders: z.number().int().min(0),
  fills: z.number().int().min(0),
  equity: z.string().nullable(),
});
export type BacktestProgress = z.infer<typeof backtestProgressSchema>;

export const backtestMetricsSchema = z.strictObject({
  totalReturn: z.number(),
  annualizedReturn: z.number().nullable(),
  sharpe: z.number().nullable(),
  sortino: z.number().nullable(),
  maxDrawdown: z.number(),
  /** Longest time under water, seconds of simulated time. */
  maxDrawdownDurationSeconds: z.number(),
  calmar: z.number().nullable(),
  winRate: z.number().nullable(),
  profitFactor: z.number().nullable(),
  /** Share of simulated time with a position open. */
  exposure: z.number(),
  /** Traded notional over average equity. */
  turnover: z.number(),
  fees: z.string(),
  trades: z.number().int(),
});
export type BacktestMetrics = z.infer<typeof backtestMetricsSchema>;

export const backtestOrderSchema = z.strictObject({
  id: z.string(),
  tsDecision: z.string(),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  orderType: z.enum(['market', 'limit', 'stop', 'stop_limit']),
  quantity: z.string(),
  limitPrice: z.string().nullable(),
  stopPrice: z.string().nullable(),
  /** entry, stop (protective) or target (protective) leg of a bracket. */
  role: z.enum(['entry', 'stop', 'target', 'exit']),
  status: z.string(),
  pattern: z.string().nullable(),
  score: z.number().nullable(),
  /** Why the governor denied it (rule codes), when it did. */
  denials: z.array(z.string()),
});

export const backtestFillSchema = z.strictObject({
  orderId: z.string(),
  ts: z.string(),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  quantity: z.string(),
  price: z.string(),
  fee: z.string(),
  liquidity: z.enum(['maker', 'taker']),
});

export const backtestEquityPointSchema = z.strictObject({
  ts: z.string(),
  equity: z.string(),
  drawdown: z.number(),
  /** Buy-and-hold of the same instruments with the same capital, at the same time. */
  benchmark: z.string(),
});

export const backtestResultSchema = z.strictObject({
  metrics: backtestMetricsSchema,
  benchmark: backtestMetricsSchema,
  /** Per pattern: trades, win rate, P&L (decimal string). */
  attribution: z.array(
    z.strictObject({
      pattern: z.string(),
      signals: z.number().int(),
      trades: z.number().int(),
      winRate: z.number().nullable(),
      pnl: z.string(),
    }),
  ),
  orders: z.array(backtestOrderSchema),
  fills: z.array(backtestFillSchema),
  equity: z.array(backtestEquityPointSchema),
  positions: z.array(z.strictObject({ symbol: z.string(), quantity: z.string(), avgCost: z.string() })),
  ticks: z.number().int(),
  signals: z.number().int(),
  modelVersion: z.string(),
  /** sha-256 of the canonical JSON of everything above: equal inputs and seed give equal hashes. */
  digest: z.string(),
});
export type BacktestResult = z.infer<typeof backtestResultSchema>;

export const backtestViewSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: backtestStatusSchema,
  spec: backtestSpecSchema,
  progress: backtestProgressSchema.nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type BacktestView = z.infer<typeof backtestViewSchema>;
