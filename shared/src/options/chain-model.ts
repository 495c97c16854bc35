// One file over 400 lines: the hashing, the surface and the quote builder share the same
// deterministic parameters, and splitting them would scatter one model across files.

import type { OptionRight, PricingModel } from '../schemas/option-chain.ts';
import { optionPrice } from './black-scholes.ts';
import { canonicalStrike, expiryInstant, MS_PER_YEAR } from './contract.ts';

/**
 * The synthetic option market (docs/option-chains.md): a deterministic chain for an underlying of
 * the synthetic venue — expiries, strikes, an implied-volatility surface with smile, skew and
 * term structure, open interest, volume, bid/ask and sizes — and a synthetic history of daily
 * at-the-money IVs. Pure: the same inputs give the same output in every process, which is what
 * lets every server derive the same option quotes from the same underlying quote.
 *
 * Every per-underlying parameter comes from a hash of the symbol, so each underlying has its own
 * surface; per-contract and per-day noise comes from hashes of the contract and the day, never
 * from a random-number generator with state.
 */

/** The rate the synthetic market prices with (continuously compounded; the synthetic underlyings pay nothing). */
export const SYNTHETIC_RATE = 0.04;
/** Contract size of synthetic options. */
export const SYNTHETIC_MULTIPLIER = '100';
/** Price increment of synthetic options; also the minimum bid/ask spread. */
export const SYNTHETIC_TICK = 0.01;
/** Quotes carry this many decimals, so their mid is the model price (to 5e-9), not a tick-rounded one. */
const QUOTE_DECIMALS = 8;

// ---------------------------------------------------------------------------------------------
// Deterministic hashing
// ---------------------------------------------------------------------------------------------

/** FNV-1a (32 bit) of a string. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h >>> 0);
}

/** A finalizer (murmur3's) so nearby inputs land far apart. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) from a key. */
export const unitOf = (key: string): number => hash32(key) / 4_294_967_296;

/** A standard normal number from a key (Box–Muller on two hashed uniforms). */
function normalOf(key: string): number {
  const u1 = (hash32(`${key}|a`) + 1) / 4_294_967_297; // (0, 1): log is finite
  const u2 = hash32(`${key}|b`) / 4_294_967_296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

const between = (u: number, lo: number, hi: number) => lo + u * (hi - lo);

// ---------------------------------------------------------------------------------------------
// Per-underlying parameters
// ---------------------------------------------------------------------------------------------

export interface ChainParams {
  readonly symbol: string;
  /** Long-run ATM implied volatility (the level the term structure tends to). */
  readonly longVol: number;
  /** Short-end ATM vol relative to the long run: atm(0) = longVol · (1 + termTilt). */
  readonly termTilt: number;
  /** Time scale (years) of the term structure. */
  readonly termTau: number;
  /** Skew: change of vol per standard deviation of moneyness, relative to ATM (< 0: puts richer). */
  readonly skew: number;
  /** Smile curvature per standard deviation squared, relative to ATM (> 0). */
  readonly smile: number;
  /** Open interest of the at-the-money contract of a near expiry. */
  readonly oiScale: number;
  /** Share of open interest traded in a day, on average. */
  readonly turnover: number;
}

/** The surface and liquidity parameters of an underlying, from a hash of its symbol. */
export function chainParamsOf(symbol: string): ChainParams {
  const u = (k: string) => unitOf(`${symbol}|${k}`);
  return {
    symbol,
    longVol: between(u('longVol'), 0.22, 0.6),
    termTilt: between(u('termTilt'), -0.12, 0.25),
    termTau: between(u('termTau'), 0.15, 0.5),
    skew: -between(u('skew'), 0.03, 0.12),
    smile: between(u('smile'), 0.015, 0.04),
    oiScale: Math.round(between(u('oiScale'), 2_000, 12_000)),
    turnover: between(u('turnover'), 0.08, 0.3),
  };
}

// ---------------------------------------------------------------------------------------------
// Expiries and strikes
// ---------------------------------------------------------------------------------------------

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayMs = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

/** The third Friday of a month (`month` 0–11), as `YYYY-MM-DD`. */
export function thirdFriday(year: number, month: number): string {
  const first = new Date(Date.UTC(year, month, 1)).getUTCDay();
  const firstFriday = 1 + ((5 - first + 7) % 7);
  return isoDay(Date.UTC(year, month, firstFriday + 14));
}

/**
 * The expiries listed on `listingDate` (all strictly after it): the next 4 Fridays (weeklies),
 * the next 3 monthly third Fridays, and the next 2 quarterly (Mar/Jun/Sep/Dec) third Fridays
 * after the last monthly; ascending, each once.
 */
export function syntheticExpiries(listingDate: string): string[] {
  const start = dayMs(listingDate);
  const out = new Set<string>();
  const dow = new Date(start).getUTCDay();
  const toFriday = (5 - dow + 7) % 7 || 7;
  for (let w = 0; w < 4; w++) out.add(isoDay(start + (toFriday + 7 * w) * DAY_MS));
  const d = new Date(start);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth();
  let monthlies = 0;
  let last = listingDate;
  while (monthlies < 3) {
    const f = thirdFriday(y, m);
    if (f > listingDate) {
      out.add(f);
      last = f;
      monthlies++;
    }
    m++;
    if (m === 12) {
      m = 0;
      y++;
    }
  }
  let quarterlies = 0;
  while (quarterlies < 2) {
    if (m % 3 === 2) {
      const f = thirdFriday(y, m);
      if (f > last) {
        out.add(f);
        quarterlies++;
      }
    }
    m++;
    if (m === 12) {
      m = 0;
      y++;
    }
  }
  return [...out].sort();
}

/** Strike spacing for a price level: a 1–2–2.5–5 step near 2.5 % of the price. */
export function strikeStep(price: number): number {
  const raw = price / 40;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [5, 2.5, 2, 1]) if (m * mag <= raw) return m * mag;
  return mag;
}

/** Half-width of the strike range as a share of the price: ±~30 % for a week, wider further out. */
export const strikeRangeOf = (years: number): number => Math.min(0.75, 0.3 + 0.25 * Math.sqrt(years));

/** `n · step` as a canonical decimal string (no binary-float tails). */
function strikeString(n: number, step: number): string {
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) + 1e-9) + 1);
  return canonicalStrike((n * step).toFixed(decimals));
}

/** Strikes for an expiry `years` away around `reference`, ascending, as decimal strings. */
export function syntheticStrikes(reference: number, years: number): string[] {
  const base = strikeStep(reference);
  // Far expiries: every other strike, so each expiry has a comparable number of strikes.
  const step = years > 0.5 ? base * 2 : base;
  const w = strikeRangeOf(years);
  const lo = Math.max(1, Math.ceil((reference * (1 - w)) / step));
  const hi = Math.floor((reference * (1 + w)) / step);
  const out: string[] = [];
  for (let n = lo; n <= hi; n++) out.push(strikeString(n, step));
  return out;
}

export interface SyntheticListingContract {
  readonly expiry: string;
  readonly right: OptionRight;
  readonly strike: string;
}

/** Every contract listed for an underlying on `listingDate` around `reference`. */
export function syntheticListing(listingDate: string, reference: number): SyntheticListingContract[] {
  const at = dayMs(listingDate) + DAY_MS; // end of the listing day
  const out: SyntheticListingContract[] = [];
  for (const expiry of syntheticExpiries(listingDate)) {
    const years = Math.max(0, expiryInstant(expiry).getTime() - at) / MS_PER_YEAR;
    for (const strike of syntheticStrikes(reference, years)) {
      out.push({ expiry, right: 'call', strike }, { expiry, right: 'put', strike });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Surface, open interest, volume, quotes
// ---------------------------------------------------------------------------------------------

/** Shortest time used to scale moneyness and the term structure (a day). */
const MIN_YEARS = 1 / 365;

/** ATM implied volatility for an expiry `years` away (term structure). */
export function atmVolOf(p: ChainParams, years: number): number {
  return p.longVol * (1 + p.termTilt * Math.exp(-Math.max(years, 0) / p.termTau));
}

/**
 * Standardized moneyness: ln(K/F) in standard deviations of the ATM vol over the time left,
 * clamped to ±4 so the far wings stay finite.
 */
export function moneynessOf(p: ChainParams, strike: number, forward: number, years: number): number {
  const t = Math.max(years, MIN_YEARS);
  const x = Math.log(strike / forward) / (atmVolOf(p, t) * Math.sqrt(t));
  return Math.max(-4, Math.min(4, x));
}

/** Implied volatility of a strike: ATM · (1 + skew·x + smile·x²), x the standardized moneyness. */
export function surfaceVol(p: ChainParams, strike: number, forward: number, years: number): number {
  const x = moneynessOf(p, strike, forward, years);
  const t = Math.max(years, MIN_YEARS);
  return atmVolOf(p, t) * (1 + p.skew * x + p.smile * x * x);
}

/** Whether an expiry is a standard monthly (a third Friday), which draws more open interest. */
export function isMonthly(expiry: string): boolean {
  const [y, m] = expiry.split('-').map(Number) as [number, number];
  return thirdFriday(y, m - 1) === expiry;
}

export interface ContractKey {
  readonly expiry: string;
  readonly right: OptionRight;
  readonly strike: number;
}

/**
 * Open interest: peaks at the money (a Gaussian in standardized moneyness), higher for near
 * expiries and monthlies, lower in the money (positions are mostly opened out of the money),
 * with ±20 % per-contract noise.
 */
export function openInterestOf(
  p: ChainParams,
  c: ContractKey,
  forward: number,
  years: number,
  memo?: ContractMemo,
): number {
  const x = moneynessOf(p, c.strike, forward, years);
  const near = 0.35 + 0.65 * Math.exp(-Math.max(years, 0) / 0.15);
  const cycle = (memo?.monthly ?? isMonthly(c.expiry)) ? 1.5 : 1;
  const itm = c.right === 'call' ? c.strike < forward : c.strike > forward;
  const noise = 0.8 + 0.4 * (memo?.oiNoise ?? unitOf(`${p.symbol}|oi|${c.expiry}|${c.right}|${c.strike}`));
  return Math.round(p.oiScale * Math.exp(-0.5 * (x / 1.2) ** 2) * near * cycle * (itm ? 0.6 : 1) * noise);
}

/**
 * A contract's hashed constants, computed once (the derived-quote loop runs for every contract on
 * every underlying move): the same numbers the functions compute without it. The day's volume
 * factor is kept for the last day asked.
 */
export interface ContractMemo {
  readonly monthly: boolean;
  readonly oiNoise: number;
  readonly sizeNoise: number;
  day: string;
  daily: number;
}

export function contractMemo(p: ChainParams, c: ContractKey): ContractMemo {
  return {
    monthly: isMonthly(c.expiry),
    oiNoise: unitOf(`${p.symbol}|oi|${c.expiry}|${c.right}|${c.strike}`),
    sizeNoise: unitOf(`${p.symbol}|${c.expiry}|${c.right}|${c.strike}|size`),
    day: '',
    daily: 0,
  };
}

function dailyFactorOf(p: ChainParams, c: ContractKey, day: string, memo?: ContractMemo): number {
  if (!memo) return unitOf(`${p.symbol}|vol|${c.expiry}|${c.right}|${c.strike}|${day}`);
  if (memo.day !== day) {
    memo.daily = unitOf(`${p.symbol}|vol|${c.expiry}|${c.right}|${c.strike}|${day}`);
    memo.day = day;
  }
  return memo.daily;
}

/** The day's volume: a share of open interest that rises toward expiry and varies by day. */
export function volumeOf(
  p: ChainParams,
  c: ContractKey,
  openInterest: number,
  years: number,
  day: string,
  memo?: ContractMemo,
): number {
  const urgency = 1 + 2 * Math.exp(-Math.max(years, 0) / 0.03);
  const daily = 0.4 + 1.2 * dailyFactorOf(p, c, day, memo);
  return Math.round(openInterest * p.turnover * urgency * daily);
}

/** Relative bid/ask spread: 1 % for the most liquid contracts, widening as open interest falls. */
export const spreadShareOf = (openInterest: number, volume: number): number =>
  0.01 + 0.12 / Math.sqrt(1 + openInterest / 50) + 0.04 / Math.sqrt(1 + volume / 20);

export interface SyntheticQuote {
  readonly bid: string;
  readonly ask: string;
  readonly bidSize: string;
  readonly askSize: string;
  readonly openInterest: number;
  readonly volume: number;
}

const fixed = (n: number) => {
  const s = n.toFixed(QUOTE_DECIMALS);
  return s.replace(/0+$/, '').replace(/\.$/, '');
};

/**
 * The quote of a contract given its model price: bid/ask = price ∓ half the spread (at least a
 * tick wide, wider as liquidity falls), on a 1e-8 grid so the mid is the model price. Null when
 * the bid would not be positive (a contract worth less than half a tick has no bid).
 */
export function quoteOf(
  price: number,
  openInterest: number,
  volume: number,
  key: string,
  sizeNoise?: number,
): SyntheticQuote | null {
  const spread = Math.max(SYNTHETIC_TICK, price * spreadShareOf(openInterest, volume));
  const scale = 10 ** QUOTE_DECIMALS;
  const mid = Math.round(price * scale);
  const half = Math.ceil((spread / 2) * scale);
  if (mid - half <= 0) return null;
  const size = String(1 + Math.floor((openInterest / 100) * (0.5 + (sizeNoise ?? unitOf(`${key}|size`)))));
  return {
    bid: fixed((mid - half) / scale),
    ask: fixed((mid + half) / scale),
    bidSize: size,
    askSize: size,
    openInterest,
    volume,
  };
}

/** Display name of a listed contract: `SYN0001 18 Dec 26 105 Call`. */
export function contractName(underlying: string, expiry: string, right: OptionRight, strike: string): string {
  const d = new Date(`${expiry}T00:00:00Z`);
  const mon = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const yy = expiry.slice(2, 4);
  return `${underlying} ${expiry.slice(8, 10)} ${mon} ${yy} ${canonicalStrike(strike)} ${right === 'call' ? 'Call' : 'Put'}`;
}

// ---------------------------------------------------------------------------------------------
// IV history
// ---------------------------------------------------------------------------------------------

/** The synthetic history starts on this day (the mean-reverting walk runs from here). */
const HISTORY_EPOCH = '2020-01-01';
/** Daily mean reversion of log IV toward its mean, and the daily shock's standard deviation. */
const IV_REVERSION = 0.04;
const IV_SHOCK = 0.05;

export interface IvDay {
  readonly day: string;
  readonly atmIv: number;
}

/**
 * Synthetic daily ATM IVs (30-day-ish) for the `days` days up to and including `lastDay`: an
 * Ornstein–Uhlenbeck walk of log IV around ln(atm at 30 days), one hashed normal shock per
 * day, run from a fixed epoch so a day's value is the same whatever window asks for it.
 */
export function syntheticIvHistory(symbol: string, lastDay: string, days = 252): IvDay[] {
  const p = chainParamsOf(symbol);
  const mean = Math.log(atmVolOf(p, 30 / 365));
  const epoch = dayMs(HISTORY_EPOCH);
  const end = dayMs(lastDay);
  const first = end - (days - 1) * DAY_MS;
  const out: IvDay[] = [];
  let x = mean;
  for (let t = epoch; t <= end; t += DAY_MS) {
    const day = isoDay(t);
    x += IV_REVERSION * (mean - x) + IV_SHOCK * normalOf(`${symbol}|iv|${day}`);
    if (t >= first) out.push({ day, atmIv: Math.exp(x) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A contract's synthetic quote
// ---------------------------------------------------------------------------------------------

export interface SyntheticMarks extends SyntheticQuote {
  /** The surface vol the price was computed with. */
  readonly vol: number;
  /** The model price (the quote's mid). */
  readonly price: number;
}

/**
 * The quote of a synthetic contract `years` before expiry with the underlying at `underlying`, on
 * UTC day `day` (for the volume): BSM with q = 0 on a spot (the synthetic underlyings pay no
 * dividend), Black-76 on a future. Null when expired or when the bid would not be positive.
 */
export function syntheticQuote(
  p: ChainParams,
  c: ContractKey,
  underlying: number,
  years: number,
  day: string,
  rate = SYNTHETIC_RATE,
  memo?: ContractMemo,
  model: PricingModel = 'bsm',
): SyntheticMarks | null {
  if (!(years > 0) || !(underlying > 0)) return null;
  // A future's price is its own forward (Black-76); a spot's forward carries the rate (q = 0).
  const forward = model === 'black76' ? underlying : underlying * Math.exp(rate * years);
  const vol = surfaceVol(p, c.strike, forward, years);
  const price = optionPrice({ model, right: c.right, underlying, strike: c.strike, years, vol, rate });
  const oi = openInterestOf(p, c, forward, years, memo);
  const volume = volumeOf(p, c, oi, years, day, memo);
  const q = memo
    ? quoteOf(price, oi, volume, '', memo.sizeNoise)
    : quoteOf(price, oi, volume, `${p.symbol}|${c.expiry}|${c.right}|${c.strike}`);
  return q && { ...q, vol, price };
}
