import { z } from 'zod';
import { instrumentSymbol } from './order.ts';

/**
 * Option chains at the edges (marketData.chain, the console's chain table, the recommender).
 * Prices and strikes are decimal strings like every price; implied volatility, Greeks and scores
 * are floats (model outputs, never booked). Dates are ISO strings as JSON carries them.
 */
export const optionRight = z.enum(['call', 'put']);
export type OptionRight = z.infer<typeof optionRight>;

/** Black–Scholes–Merton (equity options, continuous dividend yield) or Black-76 (futures options). */
export const pricingModel = z.enum(['bsm', 'black76']);
export type PricingModel = z.infer<typeof pricingModel>;

/** A calendar date `YYYY-MM-DD` (expiries). */
export const isoDate = z.iso.date();

/**
 * Per-unit Greeks of one contract (not multiplied by the contract size): delta per 1 of the
 * underlying, gamma per 1², vega per 1.00 of volatility (i.e. per 100 vol points), theta per
 * calendar day, rho per 1.00 of rate, vanna = ∂delta/∂σ, volga = ∂vega/∂σ.
 */
export const greeksView = z.object({
  delta: z.number(),
  gamma: z.number(),
  vega: z.number(),
  theta: z.number(),
  rho: z.number(),
  vanna: z.number(),
  volga: z.number(),
});
export type GreeksView = z.infer<typeof greeksView>;

/** Risk filters on a chain; an absent field is not applied. */
export const chainFilters = z.strictObject({
  /** Minimum liquidity score, 0–100 (docs/option-chains.md has the formula). */
  minLiquidity: z.number().min(0).max(100).optional(),
  /** Maximum bid/ask spread as a percentage of the mid. */
  maxSpreadPct: z.number().positive().max(1000).optional(),
  /** Band on |delta|, 0–1. */
  minAbsDelta: z.number().min(0).max(1).optional(),
  maxAbsDelta: z.number().min(0).max(1).optional(),
  /** Days-to-expiry band (calendar days). */
  minDte: z.number().int().min(0).max(3660).optional(),
  maxDte: z.number().int().min(0).max(3660).optional(),
});
export type ChainFilters = z.infer<typeof chainFilters>;

export const chainInput = z.strictObject({
  /** The underlying (an equity, a future, or any instrument with a listed chain). */
  symbol: instrumentSymbol,
  /** One expiry; absent: every listed expiry. */
  expiry: isoDate.optional(),
  filters: chainFilters.optional(),
});
export type ChainInput = z.infer<typeof chainInput>;

export const chainFilterName = z.enum(['minLiquidity', 'maxSpreadPct', 'deltaBand', 'dteBand', 'noQuote']);

export const chainContractView = z.object({
  symbol: z.string(),
  right: optionRight,
  strike: z.string(),
  expiry: isoDate,
  /** Calendar days to expiry (fractional: to the expiry's settlement time). */
  dte: z.number(),
  bid: z.string().nullable(),
  ask: z.string().nullable(),
  mid: z.string().nullable(),
  /** Spread as a percentage of the mid; null without a two-sided quote. */
  spreadPct: z.number().nullable(),
  openInterest: z.number().int(),
  volume: z.number().int(),
  /** Implied volatility solved from the mid; null when the mid is outside no-arbitrage bounds. */
  iv: z.number().nullable(),
  greeks: greeksView.nullable(),
  /** Liquidity score 0–100 from spread, open interest and volume. */
  liquidity: z.number(),
  /** The filters that removed this contract (empty: it passes). */
  excludedBy: z.array(chainFilterName),
});
export type ChainContractView = z.infer<typeof chainContractView>;

export const chainView = z.object({
  underlying: z.string(),
  underlyingPrice: z.string().nullable(),
  /** When the chain was computed (ISO). */
  asOf: z.string(),
  model: pricingModel,
  /** Continuously compounded risk-free rate and dividend yield used. */
  rate: z.number(),
  dividendYield: z.number(),
  multiplier: z.string(),
  /** Every listed expiry; `expiry` is the one shown (null: all). */
  expiries: z.array(isoDate),
  expiry: isoDate.nullable(),
  /** At-the-money implied volatility of the nearest expiry ≥ 7 days. */
  atmIv: z.number().nullable(),
  /** IV rank and percentile over the last `ivHistoryDays` daily ATM IVs, 0–100. */
  ivRank: z.number().nullable(),
  ivPercentile: z.number().nullable(),
  ivHistoryDays: z.number().int(),
  /** Realized volatility of the underlying (annualized) and how many returns it used. */
  realizedVol: z.number().nullable(),
  realizedVolReturns: z.number().int(),
  /** The bars realized volatility was computed from (`1d`, `1h`, `5m`); null: none. */
  realizedVolInterval: z.string().nullable().optional(),
  filters: chainFilters,
  contracts: z.array(chainContractView),
});
export type ChainView = z.infer<typeof chainView>;
