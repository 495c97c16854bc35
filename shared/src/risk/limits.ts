import type { InstrumentInfo, RiskLimits } from './types.ts';

/**
 * The one place for risk-limit semantics: which limits exist, the platform defaults every desk
 * has from its creation, and how stored rows resolve into the limits an order is checked against.
 *
 * Storage (risk_limits): a desk row (symbol '*') and instrument rows. A NULL column means
 * "inherit" — the platform default for the desk row, the desk's effective value for an
 * instrument row — never "no limit". A limit is switched off only by an explicit, audited removal
 * recorded in the row's `removed_limits`, so a partial update can never switch protections off.
 */

/** Limits counted in money (decimal strings). */
export const DECIMAL_LIMIT_FIELDS = [
  'maxOrderQty',
  'maxOrderNotional',
  'maxPosition',
  'maxGrossExposure',
  'maxNetExposure',
  'maxNetDelta',
  'maxDailyLoss',
  'lossStreakThreshold',
] as const;
/** Limits counted in integers (bps, milliseconds, counts). */
export const INT_LIMIT_FIELDS = [
  'maxOpenLegs',
  'priceCollarBps',
  'maxReferenceAgeMs',
  'maxSpreadBps',
  'duplicateWindowMs',
  'maxOrdersPerMinute',
  'lossStreakCount',
] as const;
export type DecimalLimitField = (typeof DECIMAL_LIMIT_FIELDS)[number];
export type IntLimitField = (typeof INT_LIMIT_FIELDS)[number];
export type LimitField = DecimalLimitField | IntLimitField;

/** Every removable limit, in the order the console and the CLI show them. */
export const LIMIT_FIELDS = [
  'maxOrderQty',
  'maxOrderNotional',
  'maxPosition',
  'maxGrossExposure',
  'maxNetExposure',
  'maxNetDelta',
  'maxOpenLegs',
  'maxDailyLoss',
  'priceCollarBps',
  'maxReferenceAgeMs',
  'maxSpreadBps',
  'duplicateWindowMs',
  'maxOrdersPerMinute',
  'lossStreakCount',
  'lossStreakThreshold',
] as const satisfies readonly LimitField[];

/**
 * Limits that an instrument row may override: they bound one order or one instrument. The others
 * (exposure, delta, legs, daily loss, order rate, loss streak) bound the whole book, so only the
 * desk row sets them; an instrument row that "loosened gross exposure for BTC" would have no
 * meaning for the book-wide sum it is checked against.
 */
export const INSTRUMENT_LIMIT_FIELDS: readonly LimitField[] = [
  'maxOrderQty',
  'maxOrderNotional',
  'maxPosition',
  'priceCollarBps',
  'maxReferenceAgeMs',
  'maxSpreadBps',
  'duplicateWindowMs',
];

export const isDecimalLimitField = (f: LimitField): f is DecimalLimitField =>
  (DECIMAL_LIMIT_FIELDS as readonly string[]).includes(f);

/**
 * Platform defaults: the limits of a desk that has configured nothing. Sized as a risk manager
 * would for a new $1,000,000 paper desk (the server's default starting capital), and valued in
 * money where they can be, so they hold across asset classes (a share, a coin and a futures
 * contract differ in units, not in dollars). README "Risk limits" gives the reasoning per value.
 */
export const PLATFORM_DEFAULT_LIMITS: Readonly<Record<LimitField, string | number>> = Object.freeze({
  // Fat-finger guard in units; the notional limit below is the binding one for most prices.
  maxOrderQty: '10000',
  // 5% of capital per order: BUY 100,000 of a $168 stock ($16.8M) is denied.
  maxOrderNotional: '50000',
  // Units per instrument: two maximum orders' worth.
  maxPosition: '20000',
  // 1× capital gross: no leverage until the desk asks for it.
  maxGrossExposure: '1000000',
  // Half of capital net long or short.
  maxNetExposure: '500000',
  // Dollar delta, same bound as net exposure (options count by delta × underlying).
  maxNetDelta: '500000',
  maxOpenLegs: 20,
  // 2% of capital: once lost today, only risk-reducing orders.
  maxDailyLoss: '20000',
  // 5%: the LULD band of Tier 1 US equities; limit prices beyond it are almost always typos.
  priceCollarBps: 500,
  // Prices older than 5 s are not a price to trade on.
  maxReferenceAgeMs: 5_000,
  // 2% wide spreads mean no real market.
  maxSpreadBps: 200,
  // The same order twice within 2 s is a double click or a retry bug.
  duplicateWindowMs: 2_000,
  maxOrdersPerMinute: 60,
  // Three automated losses in a row, each worse than $500, stop automation.
  lossStreakCount: 3,
  lossStreakThreshold: '500',
});

export type AssetClass = InstrumentInfo['assetClass'];

/**
 * Platform defaults that differ by asset class, for the per-order limits an instrument row may
 * override. Listed options are quoted wider than shares: a liquid near-the-money contract shows
 * 1–10 % between bid and ask, further out more, so the 2 % spread rule would refuse every option
 * order of a desk that configured nothing. 15 % still refuses a market with no real price. A
 * desk's or an instrument's own value replaces these like any default.
 */
export const ASSET_CLASS_DEFAULT_LIMITS: Readonly<
  Partial<Record<AssetClass, Readonly<Partial<Record<LimitField, string | number>>>>>
> = Object.freeze({
  option: Object.freeze({ maxSpreadBps: 1500 }),
});

/** The platform default of one limit for an instrument of this asset class (none: the desk scope). */
export const defaultLimit = (f: LimitField, assetClass?: AssetClass | null): string | number =>
  (assetClass && INSTRUMENT_LIMIT_FIELDS.includes(f)
    ? ASSET_CLASS_DEFAULT_LIMITS[assetClass]?.[f]
    : undefined) ?? PLATFORM_DEFAULT_LIMITS[f];

/** When and by whom a limit was removed (stored in risk_limits.removed_limits). */
export interface LimitRemoval {
  /** ISO 8601 instant. */
  readonly at: string;
  readonly by: string | null;
}

/** One stored scope (desk '*' or an instrument) as the resolver reads it. */
export interface StoredLimits {
  readonly values: { readonly [K in LimitField]?: (K extends IntLimitField ? number : string) | null };
  readonly restricted: boolean;
  readonly removed: Readonly<Partial<Record<LimitField, LimitRemoval>>>;
}

export type LimitSource = 'default' | 'desk' | 'instrument' | 'removed';

export interface EffectiveLimit {
  /** The limit in force; null only when source is 'removed'. */
  readonly value: string | number | null;
  readonly source: LimitSource;
  /** Set when removed: the scope that removed it and when. */
  readonly removal?: LimitRemoval & { readonly scope: string };
}

export interface EffectiveLimits {
  readonly fields: Readonly<Record<LimitField, EffectiveLimit>>;
  readonly restricted: { readonly value: boolean; readonly source: Exclude<LimitSource, 'removed'> };
}

/**
 * The effective limits of one scope. An instrument row's value replaces the desk's in either
 * direction (instruments differ in unit and price, so a per-instrument quantity must be able to
 * exceed a desk default sized for shares); it is an admin's re-authenticated, audited act like any
 * other limit change. `restricted` is the one exception: either scope restricting wins.
 */
export function effectiveLimits(
  desk: StoredLimits | null,
  instrument?: StoredLimits | null,
  assetClass?: AssetClass | null,
): EffectiveLimits {
  const fields = {} as Record<LimitField, EffectiveLimit>;
  for (const f of LIMIT_FIELDS) {
    let e: EffectiveLimit = { value: defaultLimit(f, assetClass), source: 'default' };
    const dr = desk?.removed[f];
    const dv = desk?.values[f];
    if (dr) e = { value: null, source: 'removed', removal: { ...dr, scope: '*' } };
    else if (dv !== null && dv !== undefined) e = { value: dv, source: 'desk' };
    if (instrument && INSTRUMENT_LIMIT_FIELDS.includes(f)) {
      const ir = instrument.removed[f];
      const iv = instrument.values[f];
      if (ir) e = { value: null, source: 'removed', removal: { ...ir, scope: 'instrument' } };
      else if (iv !== null && iv !== undefined) e = { value: iv, source: 'instrument' };
    }
    fields[f] = e;
  }
  const restricted = instrument?.restricted
    ? ({ value: true, source: 'instrument' } as const)
    : desk?.restricted
      ? ({ value: true, source: 'desk' } as const)
      : ({ value: false, source: 'default' } as const);
  return { fields, restricted };
}

/** Why a removed limit's rule is not applicable, as the verdict says it. */
export function removalReason(e: EffectiveLimit): string {
  const where = e.removal?.scope === 'instrument' ? 'for this instrument ' : '';
  return e.removal ? `limit removed ${where}by a desk admin at ${e.removal.at}` : 'limit removed';
}

/** The governor's view of effective limits: values, with null (and a reason) for removed ones. */
export function toRiskLimits(e: EffectiveLimits): RiskLimits {
  const out: Record<string, unknown> = { restricted: e.restricted.value };
  const removed: Partial<Record<LimitField, string>> = {};
  for (const f of LIMIT_FIELDS) {
    const v = e.fields[f];
    out[f] = v.value === null ? null : isDecimalLimitField(f) ? String(v.value) : Number(v.value);
    if (v.source === 'removed') removed[f] = removalReason(v);
  }
  out.removed = removed;
  return out as unknown as RiskLimits;
}

/** Effective limits for one order: desk row merged with the instrument's row and its asset class's defaults. */
export const resolveLimits = (
  desk: StoredLimits | null,
  instrument?: StoredLimits | null,
  assetClass?: AssetClass | null,
): RiskLimits => toRiskLimits(effectiveLimits(desk, instrument, assetClass));

/** The governor's limits for a desk that configured nothing. */
export const DEFAULT_RISK_LIMITS: RiskLimits = Object.freeze(resolveLimits(null, null));
