/**
 * Display formatting for statistics (backtest metrics, signal-quality measures). These arrive as
 * JSON numbers: fractions, ratios and basis points computed by the engine, not money, so they
 * are rounded here as floats (money stays on decimal-format.ts). A null or non-finite value is
 * "not defined for this run" (a Sharpe ratio without returns, an AUC without scores) and shows
 * as a dash, never as 0.
 */
import { DASH, finite, fixed } from './float-format.ts';

/** A fraction as a percentage: 0.1234 → "12.34 %". */
export function formatPercent(
  fraction: number | null | undefined,
  digits = 2,
  options: { sign?: boolean } = {},
): string {
  return finite(fraction) ? `${fixed(fraction * 100, digits, options.sign ?? false)} %` : DASH;
}

/** A plain ratio (Sharpe, Sortino, Calmar, profit factor, AUC): 1.23456 → "1.23". */
export function formatRatio(value: number | null | undefined, digits = 2): string {
  return finite(value) ? fixed(value, digits, false) : DASH;
}

/** Basis points, signed: 33.3 → "+33.3 bp". */
export function formatBp(value: number | null | undefined, digits = 1): string {
  return finite(value) ? `${fixed(value, digits, true)} bp` : DASH;
}

/** A whole count, digits grouped: 1234567 → "1,234,567". */
export function formatCount(value: number | null | undefined): string {
  return finite(value) ? fixed(Math.round(value), 0, false) : DASH;
}

/** A large rate, compact: 5_300_000 → "5.30 M". */
export function formatRate(value: number | null | undefined): string {
  if (!finite(value)) return DASH;
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${fixed(value / 1e9, 2, false)} G`;
  if (abs >= 1e6) return `${fixed(value / 1e6, 2, false)} M`;
  if (abs >= 1e4) return `${fixed(value / 1e3, 1, false)} k`;
  return fixed(value, 0, false);
}

/** A duration in seconds, two largest units: 93784 → "1 d 2 h", 75 → "1 m 15 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (!finite(seconds) || seconds < 0) return DASH;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n} ${name}`);
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0 ')).join(' ');
}
