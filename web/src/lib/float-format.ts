/**
 * The shared rules for showing a float statistic (metric-format.ts, option-format.ts): a value
 * that is missing or not finite is a dash, never 0; digits are grouped; minus is U+2212 like
 * decimal-format.ts; a value that rounds to zero has no sign.
 */
export const DASH = '—';

export function finite(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** `value` to `digits` places, grouped, minus as U+2212, and an explicit plus when `plus`. */
export function fixed(value: number, digits: number, plus = false): string {
  const rounded = Number(value.toFixed(digits));
  const magnitude = Math.abs(rounded).toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  if (rounded === 0) return magnitude;
  return `${rounded < 0 ? '−' : plus ? '+' : ''}${magnitude}`;
}
