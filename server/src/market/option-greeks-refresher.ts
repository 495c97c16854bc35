import type { Logger } from '@aegis/shared/logging';
import { optionGreeks } from '@aegis/shared/options/black-scholes';
import { chainParamsOf, SYNTHETIC_RATE, surfaceVol } from '@aegis/shared/options/chain-model';
import { MS_PER_YEAR } from '@aegis/shared/options/contract';
import { impliedVolatilityOrNull } from '@aegis/shared/options/implied-volatility';
import { sql } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Db } from '../db/database.ts';
import { activeChains, SYNTHETIC_OPTION_VENUE } from './option-listing.ts';

/**
 * Keeps `instruments.greeks` of listed option contracts fresh (docs/option-chains.md), so the
 * risk governor's net-delta rule, which reads `greeks.delta`, sees current deltas. Every
 * `intervalMs` (and when asked, right after a listing): for each underlying with a price, each
 * active contract's IV is solved from its quote's mid (a synthetic contract without a quote
 * falls back to the model's surface vol) and its Greeks at that IV are written as
 * `{ delta, gamma, vega, theta, iv, asOf }` (theta per calendar day), one UPDATE per underlying.
 *
 * Every server process runs one; synthetic contracts get the same values in every process (the
 * same deterministic quotes), venue-quoted ones the same up to when each process last heard
 * their venue. A contract whose underlying has no price keeps its last Greeks.
 */
export interface GreeksRefresherOptions {
  readonly intervalMs: number;
  /** Continuously compounded rate for venue-quoted contracts (synthetic ones use the model's). */
  readonly riskFreeRate: number;
  /** Dividend yield of equity underlyings. */
  readonly dividendYield: number;
  /** The underlying price and time synthetic quotes were last derived from. */
  readonly basisOf: (underlying: string) => { readonly price: number; readonly at: Date } | null;
}

export interface GreeksRefresherDeps {
  readonly db: Db;
  readonly quotes: QuoteBook;
  readonly log: Logger;
  readonly clock?: (() => Date) | undefined;
}

export interface WrittenGreeks {
  delta: number;
  gamma: number;
  vega: number;
  theta: number;
  iv: number;
  asOf: string;
}

export class OptionGreeksRefresher {
  readonly #deps: GreeksRefresherDeps;
  readonly #o: GreeksRefresherOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #next: Promise<number> | null = null;
  #stopped = false;
  /** Contracts written in the last cycle, and cycles run. */
  written = 0;
  cycles = 0;

  constructor(deps: GreeksRefresherDeps, o: GreeksRefresherOptions) {
    this.#deps = deps;
    this.#o = o;
  }

  start(): void {
    if (this.#timer) return;
    this.#stopped = false;
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#stopped = true;
    await this.#next?.catch(() => 0);
    await this.#running?.catch(() => 0);
  }

  /** One cycle now, or (when one is in flight) one right after it; resolves with the contracts written. */
  refresh(): Promise<number> {
    if (this.#stopped) return Promise.resolve(0);
    if (this.#running) {
      // The cycle in flight may have read the contracts before a listing: one more after it.
      this.#next ??= this.#running.then(() => {
        this.#next = null;
        return this.refresh();
      });
      return this.#next;
    }
    this.#running = this.#cycle()
      .catch((err: unknown) => {
        this.#deps.log.warn({ err }, 'option greeks: refresh failed; next interval retries');
        return 0;
      })
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async #cycle(): Promise<number> {
    const now = this.#deps.clock?.() ?? new Date();
    const chains = await activeChains(this.#deps.db, now);
    let written = 0;
    for (const [symbol, { underlying, contracts }] of chains) {
      const synthetic = contracts.some((c) => c.venue === SYNTHETIC_OPTION_VENUE);
      const basis = synthetic ? this.#o.basisOf(symbol) : null;
      const mark = this.#deps.quotes.mark(symbol);
      const price = basis?.price ?? (mark ? mark.toNumber() : null);
      if (price === null || !(price > 0)) continue;
      const at = basis?.at ?? now;
      const model = underlying.assetClass === 'future' ? 'black76' : 'bsm';
      const params = synthetic ? chainParamsOf(symbol) : null;
      const rows: { id: string; g: WrittenGreeks }[] = [];
      for (const c of contracts) {
        const years = (c.expiresAt - at.getTime()) / MS_PER_YEAR;
        if (!(years > 0)) continue;
        const isSynthetic = c.venue === SYNTHETIC_OPTION_VENUE;
        const rate = isSynthetic ? SYNTHETIC_RATE : this.#o.riskFreeRate;
        const dividendYield =
          model === 'bsm' && !isSynthetic && underlying.assetClass === 'equity' ? this.#o.dividendYield : 0;
        const strike = Number(c.strike);
        const base = {
          model,
          right: c.right,
          underlying: price,
          strike,
          years,
          rate,
          dividendYield,
        } as const;
        const top = this.#deps.quotes.get(c.symbol);
        let iv: number | null = null;
        if (top?.bid && top.ask) {
          iv = impliedVolatilityOrNull({ ...base, price: top.bid.plus(top.ask).div(2).toNumber() });
        }
        if (iv === null && params) {
          const forward = model === 'black76' ? price : price * Math.exp(rate * years);
          iv = surfaceVol(params, strike, forward, years);
        }
        if (iv === null) continue;
        const g = optionGreeks({ ...base, vol: iv });
        rows.push({
          id: c.id,
          g: {
            delta: g.delta,
            gamma: g.gamma,
            vega: g.vega,
            theta: g.theta / 365,
            iv,
            asOf: at.toISOString(),
          },
        });
      }
      if (rows.length === 0) continue;
      // One statement per underlying: the rows travel as one JSON parameter.
      await this.#deps.db.execute(sql`
        update instruments i set greeks = v.g
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(id uuid, g jsonb)
         where i.id = v.id`);
      written += rows.length;
    }
    this.written = written;
    this.cycles++;
    return written;
  }
}
