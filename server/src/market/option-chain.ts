// Over 400 lines on purpose: `chain()` is one pricing pass over one chain (contracts, quotes, IV,
// Greeks, filters, then the chain's own statistics) whose steps share that chain's inputs; the
// mathematics lives in shared/src/options (black-scholes, implied-volatility, chain-analytics), and
// this file only gathers and orders it.

import { decStr } from '@aegis/shared/accounting/decimal';
import { AppError } from '@aegis/shared/errors';
import type { Logger } from '@aegis/shared/logging';
import { optionGreeks } from '@aegis/shared/options/black-scholes';
import {
  excludedBy,
  ivAtForward,
  ivStanding,
  liquidityScore,
  periodsPerYear,
  realizedVolatility,
  type StrikeIv,
} from '@aegis/shared/options/chain-analytics';
import {
  chainParamsOf,
  openInterestOf,
  SYNTHETIC_RATE,
  syntheticIvHistory,
  volumeOf,
} from '@aegis/shared/options/chain-model';
import { MS_PER_YEAR } from '@aegis/shared/options/contract';
import { impliedVolatilityOrNull } from '@aegis/shared/options/implied-volatility';
import { BAR_INTERVAL_SECONDS, type BarInterval } from '@aegis/shared/schemas/market-data';
import type {
  ChainContractView,
  ChainInput,
  ChainView,
  GreeksView,
  PricingModel,
} from '@aegis/shared/schemas/option-chain';
import { sql } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Db, Queryable } from '../db/database.ts';
import type { QuoteFeed } from '../execution/quote-feed.ts';
import type { ExecutionRuntime } from '../execution/runtime.ts';
import { queryBars } from './bars.ts';
import { instrumentRegistryOf } from './instrument-registry.ts';
import {
  type ListedContract,
  listedContracts,
  listSyntheticChain,
  liveExpiries,
  MIN_LISTED_EXPIRIES,
  SYNTHETIC_OPTION_VENUE,
  SYNTHETIC_VENUE,
  underlyingRow,
} from './option-listing.ts';

/**
 * Option chains with analytics (docs/option-chains.md): `marketData.chain`, and the same call
 * for server code without tRPC (the recommender, the hedger): `optionChainOf(ctx).chain(tx, input)`.
 *
 * Per contract: bid/ask/mid from this process's QuoteBook (venue prices, or for the synthetic
 * venue the quotes the QuoteFeed derives), the IV solved from the mid, Greeks at that IV (theta
 * per calendar day), open interest and volume (the synthetic model's; none known elsewhere), the
 * liquidity score, days to expiry and which filters exclude it. Per chain: the underlying price,
 * the ATM IV of the nearest expiry at least a week out (at the forward), its rank and percentile
 * over the daily history, the underlying's realized volatility from its bars.
 *
 * Synthetic chains are priced "as of" the underlying quote their option quotes were derived from
 * (QuoteFeed.optionBasis), so IVs recovered from those quotes are the model surface's.
 */

/** Pricing settings of chains (server/src/env.ts OPTIONS_*). */
export interface OptionChainSettings {
  /** Continuously compounded risk-free rate. */
  readonly riskFreeRate: number;
  /** Continuous dividend yield of equity underlyings (others: 0). */
  readonly dividendYield: number;
}

export const DEFAULT_OPTION_CHAIN_SETTINGS: OptionChainSettings = Object.freeze({
  riskFreeRate: 0.04,
  dividendYield: 0,
});

export interface OptionChainContext {
  readonly db: Db;
  readonly execution?: ExecutionRuntime | undefined;
  readonly config?: { readonly options?: OptionChainSettings | undefined } | undefined;
}

export interface OptionChainDeps {
  readonly db: Db;
  readonly quotes: QuoteBook;
  /** Derives synthetic quotes; null where this process runs no feed (then none are derived). */
  readonly feed: QuoteFeed | null;
  readonly settings: OptionChainSettings;
  readonly clock?: (() => Date) | undefined;
}

/** The ATM IV used for rank and percentile: nearest expiry at least this many days out. */
const ATM_MIN_DTE = 7;
/** Daily ATM IVs in the rank/percentile window. */
export const IV_HISTORY_DAYS = 252;
/** The day's ATM IV is written at most this often per underlying and process. */
const IV_WRITE_INTERVAL_MS = 60_000;
/** Realized volatility is recomputed at most this often per underlying and process. */
const REALIZED_TTL_MS = 30_000;
/** Fewest returns for an interval to be used; else the next finer one is tried. */
const REALIZED_MIN_RETURNS = 10;
/** Bars tried for realized volatility, coarsest first: a month of days, a week of hours, a day of 5 minutes. */
const REALIZED_WINDOWS: readonly { interval: BarInterval; bars: number }[] = [
  { interval: '1d', bars: 31 },
  { interval: '1h', bars: 169 },
  { interval: '5m', bars: 289 },
];

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface Realized {
  readonly vol: number | null;
  readonly returns: number;
  readonly interval: BarInterval | null;
  readonly at: number;
}

export class OptionChainService {
  readonly #deps: OptionChainDeps;
  readonly #ivWritten = new Map<string, { day: string; at: number }>();
  readonly #realized = new Map<string, Realized>();
  /** Synthetic IV histories by symbol and last day (a walk from 2020: computed once a day). */
  readonly #synthetic = new Map<string, readonly { day: string; atmIv: number }[]>();

  constructor(deps: OptionChainDeps) {
    this.#deps = deps;
  }

  /** `log`: the caller's (request) logger, for the rare events (a listing, a failed IV write). */
  async chain(db: Queryable, input: ChainInput, log?: Logger): Promise<ChainView> {
    const inst = await instrumentRegistryOf(this.#deps.db).require(input.symbol);
    if (inst.assetClass === 'option') {
      throw new AppError(
        'NOT_FOUND',
        `symbol: ${input.symbol} is an option; ask for its underlying's chain`,
        {
          field: 'symbol',
        },
      );
    }
    const u = await underlyingRow(this.#deps.db, inst.symbol);
    if (!u) throw new AppError('NOT_FOUND', `symbol: ${input.symbol} is not listed`, { field: 'symbol' });
    const now = this.#deps.clock?.() ?? new Date();
    let contracts = await listedContracts(this.#deps.db, u.id);
    const synthetic = inst.venue === SYNTHETIC_VENUE;
    if (synthetic && liveExpiries(contracts, now).length < MIN_LISTED_EXPIRIES) {
      const reference = this.#deps.quotes.mark(inst.symbol);
      if (!reference) {
        throw new AppError(
          'PRECONDITION_FAILED',
          `symbol: ${inst.symbol} has no price yet; its chain is listed around the underlying's price`,
          { field: 'symbol' },
        );
      }
      const inserted = await listSyntheticChain(this.#deps.db, u, reference.toNumber(), now);
      if (inserted > 0) {
        instrumentRegistryOf(this.#deps.db).invalidate();
        log?.info({ underlying: inst.symbol, contracts: inserted }, 'synthetic option chain listed');
      }
      contracts = await listedContracts(this.#deps.db, u.id);
      await this.#deps.feed?.optionsListed();
    } else if (
      synthetic &&
      this.#deps.feed &&
      this.#deps.feed.optionBasis(inst.symbol) === null &&
      this.#deps.quotes.mark(inst.symbol)
    ) {
      // Listed by another process since this one last read the instruments: derive now.
      await this.#deps.feed.optionsListed();
    }
    const active = contracts.filter((c) => c.status === 'active' && c.expiresAt > now.getTime());
    if (active.length === 0) {
      throw new AppError('NOT_FOUND', `symbol: ${inst.symbol} has no listed options`, { field: 'symbol' });
    }
    const expiries = liveExpiries(active, now);
    if (input.expiry !== undefined && !expiries.includes(input.expiry)) {
      throw new AppError(
        'NOT_FOUND',
        `expiry: ${inst.symbol} has no options expiring ${input.expiry} (listed: ${expiries.join(', ')})`,
        { field: 'expiry' },
      );
    }

    const isSyntheticChain = synthetic && active.some((c) => c.venue === SYNTHETIC_OPTION_VENUE);
    const basis = this.#basis(inst.symbol, isSyntheticChain, now);
    const asOf = basis?.at ?? now;
    const model: PricingModel = inst.assetClass === 'future' ? 'black76' : 'bsm';
    const rate = isSyntheticChain ? SYNTHETIC_RATE : this.#deps.settings.riskFreeRate;
    const dividendYield =
      model === 'bsm' && inst.assetClass === 'equity' && !isSyntheticChain
        ? this.#deps.settings.dividendYield
        : 0;
    const filters = input.filters ?? {};
    const params = isSyntheticChain ? chainParamsOf(inst.symbol) : null;
    const day = isoDay(asOf.getTime());

    const views: (ChainContractView & { strikeNum: number; years: number })[] = [];
    for (const c of active) {
      views.push({
        ...this.#contractView(c, {
          S: basis?.price ?? null,
          asOf,
          model,
          rate,
          dividendYield,
          params,
          day,
          derivedAt: basis?.derived ? basis.at.getTime() : null,
        }),
      });
    }
    for (const v of views) {
      v.excludedBy = excludedBy(
        {
          quoted: v.mid !== null,
          spreadPct: v.spreadPct,
          liquidity: v.liquidity,
          delta: v.greeks?.delta ?? null,
          dte: v.dte,
        },
        filters,
      );
    }

    const S = basis?.price ?? null;
    const atmIv = S === null ? null : atmIvOf(views, expiries, S, rate, dividendYield, model);
    if (atmIv !== null) await this.#recordIv(u.id, inst.symbol, day, atmIv, log);
    const history = await this.#ivHistory(db, u.id, inst.symbol, isSyntheticChain, day);
    const standing = ivStanding(atmIv, history);
    const realized = await this.#realizedVol(db, inst.symbol, inst.calendar);

    const shown = input.expiry === undefined ? views : views.filter((v) => v.expiry === input.expiry);
    return {
      underlying: inst.symbol,
      underlyingPrice: basis ? basis.text : null,
      asOf: asOf.toISOString(),
      model,
      rate,
      dividendYield,
      multiplier: active[0]!.multiplier,
      expiries,
      expiry: input.expiry ?? null,
      atmIv,
      ivRank: standing.rank,
      ivPercentile: standing.percentile,
      ivHistoryDays: history.length,
      realizedVol: realized.vol,
      realizedVolReturns: realized.returns,
      realizedVolInterval: realized.interval,
      filters,
      contracts: shown.map(({ strikeNum: _k, years: _y, ...v }) => v),
    };
  }

  /** The underlying price (number and decimal text) and the time the chain is priced at. */
  #basis(
    symbol: string,
    synthetic: boolean,
    now: Date,
  ): { price: number; text: string; at: Date; derived: boolean } | null {
    if (synthetic) {
      const b = this.#deps.feed?.optionBasis(symbol);
      if (b) return { price: b.price, text: String(b.price), at: b.at, derived: true };
    }
    const mark = this.#deps.quotes.mark(symbol);
    if (!mark?.gt(0)) return null;
    return { price: mark.toNumber(), text: decStr(mark), at: now, derived: false };
  }

  #contractView(
    c: ListedContract,
    m: {
      S: number | null;
      asOf: Date;
      model: PricingModel;
      rate: number;
      dividendYield: number;
      params: ReturnType<typeof chainParamsOf> | null;
      day: string;
      /** Event time (ms) of the basis synthetic quotes were derived from; null: not derived here. */
      derivedAt: number | null;
    },
  ): ChainContractView & { strikeNum: number; years: number } {
    const strike = Number(c.strike);
    const years = Math.max(0, c.expiresAt - m.asOf.getTime()) / MS_PER_YEAR;
    const top = this.#deps.quotes.get(c.symbol);
    // A derived quote older than the basis is one the model no longer makes (the contract fell
    // under half a tick): not a quote of this chain.
    const stale =
      m.derivedAt !== null &&
      c.venue === SYNTHETIC_OPTION_VENUE &&
      (top?.tsQuote?.getTime() ?? 0) < m.derivedAt;
    const twoSided = top?.bid && top.ask && !stale ? { bid: top.bid, ask: top.ask } : null;
    const midDec = twoSided ? twoSided.bid.plus(twoSided.ask).div(2) : null;
    const mid = midDec ? midDec.toNumber() : null;
    const spreadPct =
      twoSided && midDec?.gt(0) ? twoSided.ask.minus(twoSided.bid).div(midDec).times(100).toNumber() : null;
    let openInterest = 0;
    let volume = 0;
    if (m.params && m.S !== null && c.venue === SYNTHETIC_OPTION_VENUE) {
      const key = { expiry: c.expiry, right: c.right, strike };
      const forward = m.model === 'black76' ? m.S : m.S * Math.exp(m.rate * years);
      openInterest = openInterestOf(m.params, key, forward, years);
      volume = volumeOf(m.params, key, openInterest, years, m.day);
    }
    let iv: number | null = null;
    let greeks: GreeksView | null = null;
    if (m.S !== null && mid !== null && years > 0) {
      const base = {
        model: m.model,
        right: c.right,
        underlying: m.S,
        strike,
        years,
        rate: m.rate,
        dividendYield: m.dividendYield,
      } as const;
      iv = impliedVolatilityOrNull({ ...base, price: mid });
      if (iv !== null) {
        const g = optionGreeks({ ...base, vol: iv });
        const view = {
          delta: g.delta,
          gamma: g.gamma,
          vega: g.vega,
          theta: g.theta / 365,
          rho: g.rho,
          vanna: g.vanna,
          volga: g.volga,
        };
        greeks = Object.values(view).every(Number.isFinite) ? view : null;
      }
    }
    return {
      symbol: c.symbol,
      right: c.right,
      strike: c.strike,
      expiry: c.expiry,
      dte: (c.expiresAt - m.asOf.getTime()) / DAY_MS,
      bid: twoSided ? decStr(twoSided.bid) : null,
      ask: twoSided ? decStr(twoSided.ask) : null,
      mid: midDec ? decStr(midDec) : null,
      spreadPct,
      openInterest,
      volume,
      iv,
      greeks,
      liquidity: liquidityScore(spreadPct, openInterest, volume),
      excludedBy: [],
      strikeNum: strike,
      years,
    };
  }

  /** Today's ATM IV into the history (an upsert; at most once a minute per underlying here). */
  async #recordIv(
    underlyingId: string,
    symbol: string,
    day: string,
    atmIv: number,
    log?: Logger,
  ): Promise<void> {
    const held = this.#ivWritten.get(symbol);
    const t = Date.now();
    if (held && held.day === day && t - held.at < IV_WRITE_INTERVAL_MS) return;
    this.#ivWritten.set(symbol, { day, at: t });
    try {
      await this.#deps.db.execute(sql`
        insert into option_iv_history (underlying_id, day, atm_iv, updated_at)
        values (${underlyingId}, ${day}::date, ${atmIv}, now())
        on conflict (underlying_id, day) do update set atm_iv = excluded.atm_iv, updated_at = excluded.updated_at`);
    } catch (err) {
      // Analytics only: the chain is still served; the next call writes again.
      this.#ivWritten.delete(symbol);
      log?.warn({ err, underlying: symbol }, 'option chain: ATM IV not recorded');
    }
  }

  /**
   * Daily ATM IVs of the IV_HISTORY_DAYS days before `today`: the stored ones, and for a
   * synthetic chain the synthetic history on the days up to its listing that have none stored.
   */
  async #ivHistory(
    db: Queryable,
    underlyingId: string,
    symbol: string,
    synthetic: boolean,
    today: string,
  ): Promise<number[]> {
    const end = Date.parse(`${today}T00:00:00Z`) - DAY_MS;
    const from = isoDay(end - (IV_HISTORY_DAYS - 1) * DAY_MS);
    const to = isoDay(end);
    const rows = (await db.execute(sql`
      select to_char(day, 'YYYY-MM-DD') as day, atm_iv
        from option_iv_history
       where underlying_id = ${underlyingId} and day >= ${from}::date and day <= ${to}::date`)) as unknown as {
      day: string;
      atm_iv: number;
    }[];
    const byDay = new Map(rows.map((r) => [r.day, Number(r.atm_iv)]));
    if (synthetic) {
      const [listed] = (await db.execute(sql`
        select to_char(min(created_at) at time zone 'UTC', 'YYYY-MM-DD') as day
          from instruments
         where underlying_id = ${underlyingId} and venue = ${SYNTHETIC_OPTION_VENUE}`)) as unknown as {
        day: string | null;
      }[];
      const listingDay = listed?.day ?? today;
      const key = `${symbol}|${to}`;
      let synthetic = this.#synthetic.get(key);
      if (!synthetic) {
        if (this.#synthetic.size >= 1_000) this.#synthetic.clear();
        synthetic = syntheticIvHistory(symbol, to, IV_HISTORY_DAYS);
        this.#synthetic.set(key, synthetic);
      }
      for (const d of synthetic) {
        if (d.day <= listingDay && !byDay.has(d.day)) byDay.set(d.day, d.atmIv);
      }
    }
    return [...byDay.values()];
  }

  /** Close-to-close realized volatility from the finest window with enough bars (cached briefly). */
  async #realizedVol(db: Queryable, symbol: string, calendar: string): Promise<Realized> {
    const held = this.#realized.get(symbol);
    if (held && Date.now() - held.at < REALIZED_TTL_MS) return held;
    const around = calendar === '24x7' ? 'clock' : 'exchange';
    let best: Realized = { vol: null, returns: 0, interval: null, at: Date.now() };
    for (const w of REALIZED_WINDOWS) {
      const bars = await queryBars(db, { symbol, interval: w.interval, limit: w.bars });
      const r = realizedVolatility(
        bars.map((b) => Number(b.close)),
        periodsPerYear(BAR_INTERVAL_SECONDS[w.interval], around),
      );
      if (r.vol !== null && r.returns > best.returns) best = { ...r, interval: w.interval, at: Date.now() };
      if (r.returns >= REALIZED_MIN_RETURNS) break;
    }
    this.#realized.set(symbol, best);
    return best;
  }
}

/**
 * ATM IV: the nearest expiry at least ATM_MIN_DTE days out (else the farthest), its IVs
 * interpolated at that expiry's forward (F = S·e^{(r−q)T}; a future's price is its forward).
 */
function atmIvOf(
  views: readonly (ChainContractView & { strikeNum: number; years: number })[],
  expiries: readonly string[],
  S: number,
  rate: number,
  dividendYield: number,
  model: PricingModel,
): number | null {
  const dteOf = (e: string) => views.find((v) => v.expiry === e)?.dte ?? 0;
  const expiry = expiries.find((e) => dteOf(e) >= ATM_MIN_DTE) ?? expiries[expiries.length - 1];
  if (!expiry) return null;
  const of = views.filter((v) => v.expiry === expiry);
  const years = of[0]?.years ?? Math.max(0, dteOf(expiry) / 365);
  const forward = model === 'black76' ? S : S * Math.exp((rate - dividendYield) * years);
  const points: StrikeIv[] = [];
  for (const v of of) if (v.iv !== null) points.push({ strike: v.strikeNum, iv: v.iv });
  return ivAtForward(points, forward);
}

/** One service per execution runtime (so per server process and per test server). */
const services = new WeakMap<ExecutionRuntime, OptionChainService>();

/**
 * The chain service of the context's runtime: `optionChainOf(ctx).chain(tx, input)` is what
 * marketData.chain runs. UNAVAILABLE in a server run without execution (no price source).
 */
export function optionChainOf(ctx: OptionChainContext): OptionChainService {
  const ex = ctx.execution;
  if (!ex) {
    throw new AppError('UNAVAILABLE', 'option chains need the price source, which this server does not run');
  }
  let s = services.get(ex);
  if (!s) {
    s = new OptionChainService({
      db: ctx.db,
      quotes: ex.quotes,
      feed: ex.quoteFeed,
      settings: ctx.config?.options ?? DEFAULT_OPTION_CHAIN_SETTINGS,
    });
    services.set(ex, s);
  }
  return s;
}
