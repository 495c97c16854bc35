/**
 * Display formatting for the server's decimal strings (money, quantities). Rounding is done on
 * the digits with BigInt, never through a binary float: "0.105" shows as "0.11", and a
 * 20-digit notional keeps every digit.
 */
const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

export function formatDecimal(
  value: string | null | undefined,
  decimals = 2,
  options: { sign?: boolean } = {},
): string {
  if (value === null || value === undefined) return '—';
  const match = DECIMAL.exec(value.trim());
  if (!match) return value;
  const negative = match[1] === '-';
  const whole = match[2] ?? '0';
  const fraction = (match[3] ?? '').padEnd(decimals + 1, '0');
  // One extra digit decides the rounding (half away from zero).
  const scaled = BigInt(whole + fraction.slice(0, decimals + 1));
  const rounded = (scaled + 5n) / 10n;
  const digits = rounded.toString().padStart(decimals + 1, '0');
  const intPart = digits.slice(0, digits.length - decimals) || '0';
  const fracPart = decimals > 0 ? `.${digits.slice(digits.length - decimals)}` : '';
  const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const isZero = rounded === 0n;
  const sign = negative && !isZero ? '−' : options.sign && !isZero ? '+' : '';
  return `${sign}${grouped}${fracPart}`;
}

/** -1, 0 or 1 for a decimal string (for colouring P&L), without parsing it as a float. */
export function signOfDecimal(value: string | null | undefined): -1 | 0 | 1 {
  if (!value) return 0;
  const v = value.trim();
  if (/^[+-]?0*(\.0*)?$/.test(v)) return 0;
  return v.startsWith('-') ? -1 : 1;
}

/** CSS class for a signed amount. */
export function pnlClass(value: string | null | undefined): string {
  const s = signOfDecimal(value);
  return s > 0 ? 'pos' : s < 0 ? 'neg' : '';
}

/**
 * An instant as `YYYY-MM-DD HH:MM[:SS]` (UTC): the server's ISO strings (its outputs declare
 * instants with `isoDateTime`, shared/src/schemas/instant.ts, so the inferred type is the string
 * that arrives), or a Date made here in the console.
 */
export function utcTime(value: Date | string | null | undefined, withSeconds = true): string {
  if (!value) return '—';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d
    .toISOString()
    .slice(0, withSeconds ? 19 : 16)
    .replace('T', ' ');
}
