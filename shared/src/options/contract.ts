import { zoneOffsetMs } from '../market/zoned-time.ts';
import type { OptionRight } from '../schemas/option-chain.ts';

/**
 * Option contract identity: the instrument symbol of a listed contract and the instant it
 * expires. The symbol is compact and OCC-like, `<underlying>-<YYMMDD><C|P><strike>`
 * (`SYN0001-261218C105`, `ESZ6-261218P5500.5`), so it passes the instrument-symbol rule and sorts
 * by underlying, expiry, right and strike.
 */
export interface OptionContractId {
  readonly underlying: string;
  /** `YYYY-MM-DD`. */
  readonly expiry: string;
  readonly right: OptionRight;
  /** Decimal string without trailing zeros. */
  readonly strike: string;
}

const SYMBOL_RE = /^(.+)-(\d{2})(\d{2})(\d{2})([CP])(\d+(?:\.\d+)?)$/;

/** A decimal string without trailing fractional zeros (`105.50` → `105.5`, `105.0` → `105`). */
export const canonicalStrike = (strike: string): string =>
  strike.includes('.') ? strike.replace(/0+$/, '').replace(/\.$/, '') : strike;

export function optionSymbol(c: OptionContractId): string {
  const [y, m, d] = c.expiry.split('-');
  return `${c.underlying}-${y!.slice(2)}${m}${d}${c.right === 'call' ? 'C' : 'P'}${canonicalStrike(c.strike)}`;
}

/** The contract a symbol names, or null when it is not an option symbol. */
export function parseOptionSymbol(symbol: string): OptionContractId | null {
  const m = SYMBOL_RE.exec(symbol);
  if (!m) return null;
  return {
    underlying: m[1]!,
    expiry: `20${m[2]}-${m[3]}-${m[4]}`,
    right: m[5] === 'C' ? 'call' : 'put',
    strike: m[6]!,
  };
}

/** The UTC offset (ms) of `timeZone` at instant `ms`. */
/**
 * When a contract expires: 16:00 America/New_York on its expiry date (the US equity and index
 * options close; CME's quarterly equity-index options also settle on that day's close). The
 * offset is the zone's on that date, so daylight saving is right on both sides of the switch.
 */
export function expiryInstant(expiry: string, timeZone = 'America/New_York', localMinute = 16 * 60): Date {
  const [y, m, d] = expiry.split('-').map(Number) as [number, number, number];
  const naive = Date.UTC(y, m - 1, d, Math.floor(localMinute / 60), localMinute % 60);
  // Two passes: the offset at the naive instant, then at the corrected one (DST edges).
  const first = naive - zoneOffsetMs(naive, timeZone);
  return new Date(naive - zoneOffsetMs(first, timeZone));
}

export const MS_PER_YEAR = 365 * 86_400_000;

/** Time to expiry in years (ACT/365), zero once expired. */
export const yearsToExpiry = (now: Date, expiry: string): number =>
  Math.max(0, expiryInstant(expiry).getTime() - now.getTime()) / MS_PER_YEAR;

/** Calendar days to expiry (fractional), zero once expired. */
export const daysToExpiry = (now: Date, expiry: string): number =>
  Math.max(0, expiryInstant(expiry).getTime() - now.getTime()) / 86_400_000;
