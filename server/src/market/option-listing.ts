import { instruments } from '@aegis/shared/db';
import {
  contractName,
  SYNTHETIC_MULTIPLIER,
  SYNTHETIC_TICK,
  syntheticListing,
} from '@aegis/shared/options/chain-model';
import { expiryInstant, optionSymbol } from '@aegis/shared/options/contract';
import type { OptionRight } from '@aegis/shared/schemas/option-chain';
import { eq, sql } from 'drizzle-orm';
import type { Db, Queryable } from '../db/database.ts';
import { queryRows } from '../db/rows.ts';

/**
 * Listing option contracts (docs/option-chains.md). Contracts are `instruments` rows (asset class
 * `option`, `underlying_id`, right, strike, expiry). An underlying of the synthetic venue gets a
 * deterministic synthetic chain on venue SIMOPT the first time its chain is asked for, and again
 * once too few of its expiries are left; any other underlying's chain is whatever option rows
 * reference it (a venue's product list, an admin, a test fixture).
 */

/** The synthetic market's venue, and the venue of the chains listed on its underlyings. */
export const SYNTHETIC_VENUE = 'SIM';
export const SYNTHETIC_OPTION_VENUE = 'SIMOPT';
/** A synthetic chain is listed again when fewer unexpired expiries than this remain. */
export const MIN_LISTED_EXPIRIES = 3;

export interface ListedContract {
  readonly id: string;
  readonly symbol: string;
  readonly venue: string;
  readonly right: OptionRight;
  /** Decimal string as stored, trailing zeros trimmed. */
  readonly strike: string;
  readonly expiry: string;
  /** ms of the expiry instant (16:00 New York on the expiry date). */
  readonly expiresAt: number;
  readonly multiplier: string;
  readonly status: 'active' | 'halted' | 'delisted';
}

const trim = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);

interface ContractRow {
  id: string;
  symbol: string;
  venue: string;
  option_right: OptionRight;
  strike: string;
  expiry: string;
  multiplier: string;
  status: 'active' | 'halted' | 'delisted';
}

/**
 * expiryInstant per expiry date, computed once: it builds an Intl formatter per call (~0.1 ms),
 * and every chain, derivation reload and Greeks cycle maps hundreds of rows onto a few dates.
 */
const expiryMs = new Map<string, number>();
export function expiresAtOf(expiry: string): number {
  let ms = expiryMs.get(expiry);
  if (ms === undefined) {
    ms = expiryInstant(expiry).getTime();
    expiryMs.set(expiry, ms);
  }
  return ms;
}

function toListed(r: ContractRow): ListedContract {
  return {
    id: r.id,
    symbol: r.symbol,
    venue: r.venue,
    right: r.option_right,
    strike: trim(r.strike),
    expiry: r.expiry,
    expiresAt: expiresAtOf(r.expiry),
    multiplier: trim(r.multiplier),
    status: r.status,
  };
}

/** An underlying's option contracts (every status), by expiry, strike, right. */
export async function listedContracts(db: Queryable, underlyingId: string): Promise<ListedContract[]> {
  const rows = await queryRows<ContractRow>(
    db,
    sql`
    select id, symbol, venue, option_right, strike::text as strike, to_char(expiry, 'YYYY-MM-DD') as expiry,
           multiplier::text as multiplier, status
      from instruments
     where underlying_id = ${underlyingId} and asset_class = 'option'
       and option_right is not null and strike is not null and expiry is not null
     order by expiry, strike, option_right`,
  );
  return rows.map(toListed);
}

export interface OptionUnderlyingRow {
  readonly id: string;
  readonly symbol: string;
  readonly assetClass: string;
}

/** Every underlying with active listed contracts, and those contracts (unexpired at `now`). */
export async function activeChains(
  db: Queryable,
  now: Date,
  venue?: string,
): Promise<Map<string, { underlying: OptionUnderlyingRow; contracts: ListedContract[] }>> {
  // The expiry date is compared a day early in SQL; the exact instant is checked below.
  const since = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
  const rows = await queryRows<ContractRow & { u_id: string; u_symbol: string; u_asset_class: string }>(
    db,
    sql`
    select o.id, o.symbol, o.venue, o.option_right, o.strike::text as strike,
           to_char(o.expiry, 'YYYY-MM-DD') as expiry, o.multiplier::text as multiplier, o.status,
           u.id as u_id, u.symbol as u_symbol, u.asset_class as u_asset_class
      from instruments o join instruments u on u.id = o.underlying_id
     where o.asset_class = 'option' and o.status = 'active' and o.expiry >= ${since}::date
       and o.option_right is not null and o.strike is not null
       ${venue ? sql`and o.venue = ${venue}` : sql``}
     order by u.symbol, o.expiry, o.strike, o.option_right`,
  );
  const out = new Map<string, { underlying: OptionUnderlyingRow; contracts: ListedContract[] }>();
  const t = now.getTime();
  for (const r of rows) {
    const c = toListed(r);
    if (c.expiresAt <= t) continue;
    let e = out.get(r.u_symbol);
    if (!e) {
      e = { underlying: { id: r.u_id, symbol: r.u_symbol, assetClass: r.u_asset_class }, contracts: [] };
      out.set(r.u_symbol, e);
    }
    e.contracts.push(c);
  }
  return out;
}

/** Distinct expiries of contracts not yet expired at `now`. */
export function liveExpiries(contracts: readonly ListedContract[], now: Date): string[] {
  const t = now.getTime();
  return [
    ...new Set(contracts.filter((c) => c.status === 'active' && c.expiresAt > t).map((c) => c.expiry)),
  ].sort();
}

export interface SyntheticUnderlying {
  readonly id: string;
  readonly symbol: string;
  readonly calendar: string;
  readonly currency: string;
  /** A future's options carry its multiplier; others get SYNTHETIC_MULTIPLIER. */
  readonly assetClass?: string;
  readonly multiplier?: string;
}

/**
 * Lists the synthetic chain of `u` around `reference` as of `now` (UTC day = the listing date),
 * unless enough unexpired expiries are listed already. Safe under concurrent calls in any number
 * of processes: one transaction holding a per-underlying advisory lock re-checks and inserts,
 * and `on conflict do nothing` keeps every contract once. Expired contracts of the underlying
 * are marked delisted in the same transaction. Returns how many contracts were inserted.
 */
export async function listSyntheticChain(
  db: Db,
  u: SyntheticUnderlying,
  reference: number,
  now: Date,
): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtext('aegis:option-listing'), hashtext(${u.symbol}))`,
    );
    const existing = await listedContracts(tx, u.id);
    if (liveExpiries(existing, now).length >= MIN_LISTED_EXPIRIES) return 0;
    const expired = existing.filter((c) => c.status !== 'delisted' && c.expiresAt <= now.getTime());
    if (expired.length > 0) {
      await tx.execute(sql`
        update instruments set status = 'delisted', updated_at = now()
         where underlying_id = ${u.id} and asset_class = 'option' and status <> 'delisted'
           and expiry < ${now.toISOString().slice(0, 10)}::date`);
    }
    const listingDate = now.toISOString().slice(0, 10);
    const have = new Set(existing.map((c) => c.symbol));
    const values = syntheticListing(listingDate, reference)
      .map((c) => ({ ...c, symbol: optionSymbol({ underlying: u.symbol, ...c }) }))
      .filter((c) => !have.has(c.symbol) && expiresAtOf(c.expiry) > now.getTime())
      .map((c) => ({
        symbol: c.symbol,
        venue: SYNTHETIC_OPTION_VENUE,
        venueSymbol: c.symbol,
        name: contractName(u.symbol, c.expiry, c.right, c.strike),
        assetClass: 'option' as const,
        currency: u.currency,
        tickSize: String(SYNTHETIC_TICK),
        lotSize: '1',
        multiplier: u.assetClass === 'future' && u.multiplier ? u.multiplier : SYNTHETIC_MULTIPLIER,
        calendar: u.calendar,
        status: 'active' as const,
        underlyingId: u.id,
        optionRight: c.right,
        strike: c.strike,
        expiry: c.expiry,
        source: 'seed' as const,
      }));
    let inserted = 0;
    for (let i = 0; i < values.length; i += 500) {
      const rows = await tx
        .insert(instruments)
        .values(values.slice(i, i + 500))
        .onConflictDoNothing()
        .returning({ id: instruments.id });
      inserted += rows.length;
    }
    return inserted;
  });
}

/** The instrument row's id and listing fields of an underlying symbol (null: unknown). */
export async function underlyingRow(
  db: Queryable,
  symbol: string,
): Promise<(SyntheticUnderlying & { venue: string; assetClass: string; multiplier: string }) | null> {
  const [r] = await db
    .select({
      id: instruments.id,
      symbol: instruments.symbol,
      venue: instruments.venue,
      assetClass: instruments.assetClass,
      calendar: instruments.calendar,
      currency: instruments.currency,
      multiplier: instruments.multiplier,
    })
    .from(instruments)
    .where(eq(instruments.symbol, symbol))
    .limit(1);
  return r ?? null;
}
