/**
 * Display of option analytics (model floats, not money): implied volatility, Greeks, the
 * liquidity heat scale of the chain, and Greek-limit usage. Money stays on decimal-format.ts.
 */
import { DASH, finite, fixed } from './float-format.ts';

/** A volatility (0.2345) in vol points: "23.45". */
export function formatVol(vol: number | null | undefined, digits = 2): string {
  return finite(vol) ? fixed(vol * 100, digits) : DASH;
}

/** A Greek with digits that suit its size: delta 0.523, gamma 0.0123, theta −0.045, vega 0.21. */
export function formatGreek(value: number | null | undefined, digits = 3): string {
  if (!finite(value)) return DASH;
  // Small Greeks (gamma of a far strike) keep two significant digits instead of printing 0.000.
  const abs = Math.abs(value);
  const needed = abs > 0 && abs < 10 ** -digits ? Math.min(8, Math.ceil(-Math.log10(abs)) + 1) : digits;
  return fixed(value, needed);
}

/** A desk total (delta units, dollar delta): grouped, signed, few decimals. */
export function formatExposure(value: number | null | undefined, digits = 2): string {
  return finite(value) ? fixed(value, digits, true) : DASH;
}

export type LiquidityBand = 'deep' | 'fair' | 'thin';

/** The band a liquidity score (0–100) reads as, named beside the number for those who cannot see colour. */
export function liquidityBand(score: number): LiquidityBand {
  return score >= 60 ? 'deep' : score >= 30 ? 'fair' : 'thin';
}

/**
 * The heat scale's background for a liquidity score: the accent colour with an opacity from 0.04
 * (no liquidity) to 0.55 (a score of 100), so brighter cells are the ones one can trade. Text
 * stays legible at the top of the scale (light text on a mid-blue).
 */
export function liquidityHeat(score: number | null | undefined): string {
  const s = finite(score) ? Math.min(100, Math.max(0, score)) : 0;
  const alpha = 0.04 + (s / 100) * 0.51;
  return `rgb(91 156 255 / ${alpha.toFixed(3)})`;
}

/** Share of a limit used (0–1+, for a usage bar), or null without a limit. */
export function limitUsage(used: number, limit: number | null | undefined): number | null {
  if (!finite(limit) || limit <= 0) return null;
  return Math.abs(used) / limit;
}

/** The limit usage's tone: fine below 75 %, warn to 100 %, breach above. */
export function usageTone(usage: number | null): 'ok' | 'warn' | 'bad' | 'none' {
  if (usage === null) return 'none';
  return usage > 1 ? 'bad' : usage >= 0.75 ? 'warn' : 'ok';
}

/** Why a contract is dimmed: the chain's filter names as a trader reads them. */
const FILTER_LABEL: Readonly<Record<string, string>> = {
  minLiquidity: 'liquidity below the minimum',
  maxSpreadPct: 'spread wider than the maximum',
  deltaBand: 'delta outside the band',
  dteBand: 'days to expiry outside the band',
  noQuote: 'no two-sided quote',
};

export function exclusionReason(filters: readonly string[]): string {
  return filters.map((f) => FILTER_LABEL[f] ?? f).join('; ');
}
