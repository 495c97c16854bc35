/**
 * marketData.chain through the real router (createCaller on a real context), real PostgreSQL and
 * Redis. Underlying prices are published on the venue price source as the engine does; the
 * synthetic chain's option quotes are the ones the server derives from them.
 *
 * One file: marketData.chain's cases share one router, the seeded daily closes and the published
 * underlying prices.
 */
import { randomUUID } from 'node:crypto';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { optionPrice } from '@aegis/shared/options/black-scholes';
import { ivStanding, realizedVolatility } from '@aegis/shared/options/chain-analytics';
import {
  chainParamsOf,
  SYNTHETIC_RATE,
  surfaceVol,
  syntheticIvHistory,
  syntheticListing,
} from '@aegis/shared/options/chain-model';
import { expiryInstant, MS_PER_YEAR, optionSymbol } from '@aegis/shared/options/contract';
import type { ChainView } from '@aegis/shared/schemas/option-chain';
import { publishVenuePrices } from '@aegis/shared/testing/venue-prices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuoteBook } from '../../src/brokers/quote-book.ts';
import { createContextInner } from '../../src/context.ts';
import { QuoteFeed } from '../../src/execution/quote-feed.ts';
import { DEFAULT_OPTION_CHAIN_SETTINGS, OptionChainService } from '../../src/market/option-chain.ts';
import type { WrittenGreeks } from '../../src/market/option-greeks-refresher.ts';
import { listSyntheticChain } from '../../src/market/option-listing.ts';
import { createCaller } from '../../src/routers/_app.ts';
import { waitUntil } from './support/wait.ts';
import { signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

const SYN = 'SYN0901';
const SYN_LATE = 'SYN0902'; // no price yet
const NOCHAIN = 'NOCHAIN-USD'; // not on SIM, no options
const SYN_FUT = 'SYNF0001'; // a synthetic future
const FUT = 'ESZ6';
const FUT_VENUE = 'CMEX';
const FUT_EXPIRY = '2027-03-19';
const FUT_VOL = 0.18;

let t: TestServer;
let caller: ReturnType<typeof createCaller>;
let other: DatabaseHandle;
let session: Awaited<ReturnType<typeof signIn>>;
const published = new Date();

const dailyCloses = [
  100, 101.5, 100.8, 102.2, 103, 101.9, 102.7, 104.1, 103.3, 104.8, 105.2, 104.0, 104.6, 104.35,
];

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null });
  const ins = (symbol: string, venue: string, assetClass: string, calendar = '24x7') =>
    t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, multiplier)
      values (${symbol}, ${venue}, ${assetClass}, '0.01', '0.0001', ${calendar}, ${assetClass === 'future' ? '50' : '1'})`;
  await ins(SYN, 'SIM', 'crypto');
  await ins(SYN_LATE, 'SIM', 'crypto');
  await ins(NOCHAIN, 'XCHG', 'crypto');
  await ins(FUT, FUT_VENUE, 'future', 'CME');
  // Daily trades of the underlying, one per day, ending yesterday: realized volatility's input.
  const dayStart = Date.UTC(published.getUTCFullYear(), published.getUTCMonth(), published.getUTCDate());
  const rows = dailyCloses.map((price, i) => {
    const ts = new Date(dayStart - (dailyCloses.length - i) * 86_400_000 + 12 * 3_600_000);
    return {
      ts,
      ts_ingest: ts,
      symbol: SYN,
      seq: i + 1,
      kind: 1,
      price: String(price),
      size: '1',
      aggressor: 1,
    };
  });
  await t.owner`insert into ticks ${t.owner(rows, 'ts', 'ts_ingest', 'symbol', 'seq', 'kind', 'price', 'size', 'aggressor')}`;

  const s = await signIn(t.url, t.admin.email, t.admin.password);
  session = s;
  const key = (await s.client.keys.create.mutate({ name: 'chains', scopes: ['read'] })).key;
  caller = createCaller(
    createContextInner({ ...t.server.deps, credentials: { bearer: key, cookieToken: null } }),
  );
  other = createDb(t.database.appUrl, { max: 2 });
  await venuePrices(t, [{ venue: 'SIM', instrument: SYN, bid: '104.30', ask: '104.40', ts: published }]);
});

afterAll(async () => {
  await other?.close();
  await t?.close();
});

async function optionRows(underlying: string) {
  return t.owner<{ symbol: string; xmin: string; venue: string; multiplier: string; name: string }[]>`
    select o.symbol, o.xmin::text as xmin, o.venue, o.multiplier::text as multiplier, o.name
      from instruments o join instruments u on u.id = o.underlying_id
     where u.symbol = ${underlying} and o.asset_class = 'option'`;
}

let chain: ChainView;

describe('marketData.chain on a synthetic underlying', () => {
  it('refuses before the underlying has a price, and unknown or chainless symbols', async () => {
    await expect(caller.marketData.chain({ symbol: SYN_LATE })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      cause: { details: { field: 'symbol' } },
    });
    await expect(caller.marketData.chain({ symbol: NOCHAIN })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      cause: { details: { field: 'symbol' } },
    });
    await expect(caller.marketData.chain({ symbol: 'SYN9X99' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: { details: { field: 'symbol', reason: 'unknown_instrument' } },
    });
    expect(await optionRows(SYN_LATE)).toHaveLength(0);
  });

  it('lists the chain once under concurrent calls from two servers', async () => {
    // A second "server": its own pool and service, no feed (it lists, this process derives).
    const second = new OptionChainService({
      db: other.db,
      quotes: t.server.deps.execution!.quotes,
      feed: null,
      settings: DEFAULT_OPTION_CHAIN_SETTINGS,
    });
    const [a, b] = await Promise.all([
      caller.marketData.chain({ symbol: SYN }),
      caller.marketData.chain({ symbol: SYN }),
      second.chain(other.db, { symbol: SYN }),
    ]);
    const rows = await optionRows(SYN);
    const expected = syntheticListing(published.toISOString().slice(0, 10), 104.35).filter(
      (c) => expiryInstant(c.expiry).getTime() > Date.now(),
    );
    expect(rows.length).toBe(expected.length);
    expect(new Set(rows.map((r) => r.xmin)).size).toBe(1); // one transaction inserted them all
    expect(new Set(rows.map((r) => r.venue))).toEqual(new Set(['SIMOPT']));
    expect(rows.every((r) => r.multiplier.startsWith('100'))).toBe(true);
    const c0 = expected[0]!;
    const name = rows.find((r) => r.symbol === optionSymbol({ underlying: SYN, ...c0 }))?.name;
    expect(name).toMatch(new RegExp(`^${SYN} \\d{2} [A-Z][a-z]{2} \\d{2} [\\d.]+ (Call|Put)$`));
    expect(a.contracts.length).toBe(expected.length);
    expect(b.expiries).toEqual(a.expiries);
    chain = await caller.marketData.chain({ symbol: SYN });
    expect(await optionRows(SYN)).toHaveLength(expected.length);
  });

  it('solves IVs from the derived quotes equal to the model surface', () => {
    expect(chain.model).toBe('bsm');
    expect(chain.rate).toBe(SYNTHETIC_RATE);
    expect(chain.underlyingPrice).toBe('104.35');
    expect(chain.asOf).toBe(published.toISOString());
    const p = chainParamsOf(SYN);
    const S = 104.35;
    let checked = 0;
    for (const c of chain.contracts) {
      if (c.iv === null || !c.greeks || c.greeks.vega < 0.01) continue;
      const years = (expiryInstant(c.expiry).getTime() - published.getTime()) / MS_PER_YEAR;
      const want = surfaceVol(p, Number(c.strike), S * Math.exp(SYNTHETIC_RATE * years), years);
      expect(Math.abs(c.iv - want), JSON.stringify({ ...c, want })).toBeLessThan(1e-6);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('keeps put–call parity on quoted mids within the spread', () => {
    const S = Number(chain.underlyingPrice);
    const byKey = new Map(chain.contracts.map((c) => [`${c.expiry}|${c.strike}|${c.right}`, c]));
    let pairs = 0;
    for (const call of chain.contracts) {
      if (call.right !== 'call' || call.mid === null) continue;
      const put = byKey.get(`${call.expiry}|${call.strike}|put`);
      if (!put?.mid) continue;
      const years = (expiryInstant(call.expiry).getTime() - published.getTime()) / MS_PER_YEAR;
      const parity =
        Number(call.mid) - Number(put.mid) - (S - Number(call.strike) * Math.exp(-chain.rate * years));
      const halfSpreads = (Number(call.ask) - Number(call.bid)) / 2 + (Number(put.ask) - Number(put.bid)) / 2;
      expect(Math.abs(parity)).toBeLessThanOrEqual(halfSpreads);
      expect(Math.abs(parity)).toBeLessThan(1e-6);
      pairs++;
    }
    expect(pairs).toBeGreaterThan(50);
  });

  it('has open interest, volume and liquidity peaking near the money', () => {
    const e = chain.expiries[1]!;
    const calls = chain.contracts.filter((c) => c.expiry === e && c.right === 'call');
    const atm = calls.reduce((a, c) =>
      Math.abs(Number(c.strike) - 104.35) < Math.abs(Number(a.strike) - 104.35) ? c : a,
    );
    const wing = calls[calls.length - 1]!;
    expect(atm.openInterest).toBeGreaterThan(wing.openInterest);
    expect(atm.liquidity).toBeGreaterThan(wing.liquidity);
    expect(atm.volume).toBeGreaterThan(0);
    for (const c of chain.contracts) {
      expect(c.liquidity).toBeGreaterThanOrEqual(0);
      expect(c.liquidity).toBeLessThanOrEqual(100);
    }
  });

  it('reports ATM IV, its rank and percentile over the history, and realized volatility', async () => {
    expect(chain.atmIv).not.toBeNull();
    // Synthetic days up to the listing: the whole window before today.
    const yesterday = new Date(published.getTime() - 86_400_000).toISOString().slice(0, 10);
    const history = syntheticIvHistory(SYN, yesterday, 252).map((d) => d.atmIv);
    expect(chain.ivHistoryDays).toBe(252);
    const s = ivStanding(chain.atmIv, history);
    expect(chain.ivRank).toBeCloseTo(s.rank!, 9);
    expect(chain.ivPercentile).toBeCloseTo(s.percentile!, 9);
    const [stored] = await t.owner<{ atm_iv: number }[]>`
      select h.atm_iv from option_iv_history h join instruments u on u.id = h.underlying_id
       where u.symbol = ${SYN} and h.day = ${published.toISOString().slice(0, 10)}::date`;
    expect(stored?.atm_iv).toBeCloseTo(chain.atmIv!, 12);
    // Daily closes (the forming day's bar has no trade): close-to-close over the days.
    const want = realizedVolatility(dailyCloses, 365);
    expect(chain.realizedVolReturns).toBe(want.returns);
    expect(chain.realizedVol).toBeCloseTo(want.vol!, 9);
    expect(chain.realizedVolInterval).toBe('1d');
  });

  it('lets a recorded day take precedence over the synthetic one', async () => {
    const yesterday = new Date(published.getTime() - 86_400_000).toISOString().slice(0, 10);
    await t.owner`insert into option_iv_history (underlying_id, day, atm_iv)
      select id, ${yesterday}::date, 3.5 from instruments where symbol = ${SYN}`;
    const v = await caller.marketData.chain({ symbol: SYN });
    const history = syntheticIvHistory(SYN, yesterday, 252).map((d) => (d.day === yesterday ? 3.5 : d.atmIv));
    expect(v.ivHistoryDays).toBe(252);
    const s = ivStanding(v.atmIv, history);
    expect(v.ivRank).toBeCloseTo(s.rank!, 9);
    expect(v.ivPercentile).toBeCloseTo(s.percentile!, 9);
    expect(v.ivRank!).toBeLessThanOrEqual(chain.ivRank!); // the recorded 350 % is the new maximum
  });

  it('names the filters that remove each contract', async () => {
    const filters = {
      minLiquidity: 40,
      maxSpreadPct: 8,
      minAbsDelta: 0.2,
      maxAbsDelta: 0.6,
      minDte: 7,
      maxDte: 60,
    };
    const f = await caller.marketData.chain({ symbol: SYN, filters });
    expect(f.filters).toEqual(filters);
    let passed = 0;
    const seen = new Set<string>();
    for (const c of f.contracts) {
      const want: string[] = [];
      if (c.mid === null) want.push('noQuote');
      if (c.liquidity < 40) want.push('minLiquidity');
      if (c.mid !== null && c.spreadPct! > 8) want.push('maxSpreadPct');
      const d = c.greeks ? Math.abs(c.greeks.delta) : null;
      if (d === null || d < 0.2 || d > 0.6) want.push('deltaBand');
      if (c.dte < 7 || c.dte > 60) want.push('dteBand');
      expect(c.excludedBy).toEqual(want);
      for (const w of want) seen.add(w);
      if (want.length === 0) passed++;
    }
    expect(passed).toBeGreaterThan(0);
    expect(seen).toEqual(new Set(['noQuote', 'minLiquidity', 'maxSpreadPct', 'deltaBand', 'dteBand']));
    // One expiry.
    const one = await caller.marketData.chain({ symbol: SYN, expiry: f.expiries[2]! });
    expect(one.expiry).toBe(f.expiries[2]);
    expect(new Set(one.contracts.map((c) => c.expiry))).toEqual(new Set([f.expiries[2]]));
    await expect(caller.marketData.chain({ symbol: SYN, expiry: '2031-01-17' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      cause: { details: { field: 'expiry' } },
    });
  });

  it('serves the derived quote through marketData.quote and moves it with the underlying', async () => {
    const c = chain.contracts.find((x) => x.mid !== null && x.right === 'put' && x.dte > 7)!;
    const q = await caller.marketData.quote({ symbol: c.symbol });
    expect(q.venue).toBe('SIMOPT');
    expect([q.bid, q.ask, q.tsQuote]).toEqual([c.bid, c.ask, published.toISOString()]);
    // A burst of underlying quotes: derivations are throttled, and the last one uses the last quote.
    const feed = t.server.deps.execution!.quoteFeed;
    const derivedBefore = feed.derivedQuotes;
    const burst = [103.5, 102.8, 102.1, 101.6, 101.05];
    for (const [i, mid] of burst.entries()) {
      await publishVenuePrices(t.server.deps.bus, `${t.redisPrefix}:`, [
        {
          venue: 'SIM',
          instrument: SYN,
          bid: (mid - 0.05).toFixed(2),
          ask: (mid + 0.05).toFixed(2),
          ts: new Date(published.getTime() + 200 * (i + 1)),
        },
      ]);
    }
    const later = new Date(published.getTime() + 200 * burst.length);
    const moved = await waitUntil(
      () => caller.marketData.quote({ symbol: c.symbol }),
      (x) => x.tsQuote === later.toISOString(),
      'the derived quote after the underlying moved',
    );
    expect(feed.optionBasis(SYN)).toEqual({ price: 101.05, at: later });
    expect(Number(moved.bid)).toBeGreaterThan(Number(c.bid)); // a put gains as the underlying falls
    // Never more than one derivation per quote; usually fewer (the throttle coalesces the burst).
    expect(feed.derivedQuotes - derivedBefore).toBeLessThanOrEqual(burst.length * chain.contracts.length);
  });

  it('fills a paper order on a synthetic contract at its derived price', async () => {
    const now = await caller.marketData.chain({ symbol: SYN });
    const c = now.contracts
      .filter((x) => x.right === 'call' && x.dte > 7 && x.mid !== null)
      .reduce((a, x) => (Math.abs(Number(x.strike) - 101.05) < Math.abs(Number(a.strike) - 101.05) ? x : a));
    // The governor refuses a reference older than the desk's limit (5 s): quote the underlying
    // again (same price) right before each order, as a live venue would.
    const feed = t.server.deps.execution!.quoteFeed;
    const buy = async () => {
      const fresh = new Date();
      await venuePrices(t, [{ venue: 'SIM', instrument: SYN, bid: '101.00', ask: '101.10', ts: fresh }]);
      await waitUntil(
        async () => feed.optionBasis(SYN)?.at.getTime() ?? 0,
        (ms) => ms === fresh.getTime(),
        'option quotes derived from the fresh underlying quote',
      );
      const quote = await caller.marketData.quote({ symbol: c.symbol });
      expect(quote.tsQuote).toBe(fresh.toISOString());
      const placed = await session.client.orders.place.mutate({
        idempotencyKey: randomUUID(),
        order: { symbol: c.symbol, side: 'buy', orderType: 'market', timeInForce: 'day', quantity: '1' },
      });
      const settled = await waitUntil(
        () => session.client.orders.get.query({ id: placed.id }),
        (r) => ['filled', 'rejected', 'canceled', 'expired', 'denied'].includes(r.order.status),
        'the option order to settle',
      );
      return { ...settled, ask: Number(quote.ask) };
    };
    // The governor measures the derived quote's spread (a few % on an option) against the desk's
    // limit: a desk that holds everything to a spot market's 2 % is denied…
    await session.client.auth.reauthenticate.mutate({ password: session.password });
    await session.client.risk.limits.set.mutate({ symbol: '*', maxSpreadBps: 200 });
    const denied = await buy();
    expect([denied.order.status, denied.order.rejectReason]).toEqual(['denied', 'SPREAD_TOO_WIDE']);
    // …while the platform's default for options (15 %) takes it.
    await session.client.risk.limits.reset.mutate({ symbol: '*' });
    const done = await buy();
    expect(done.order.status, JSON.stringify(done.order.denial)).toBe('filled');
    // The paper broker fills a market buy at the ask (plus its slippage), as it would a venue price.
    expect(Number(done.order.avgFillPrice)).toBeGreaterThanOrEqual(done.ask);
    expect(Number(done.order.avgFillPrice)).toBeLessThan(done.ask * 1.01);
  });

  it('derives the same option quotes in another process from the same underlying quote', async () => {
    // A second process's feed: its own QuoteBook and pool, the same bus and database.
    const book = new QuoteBook();
    const feed = new QuoteFeed(
      { db: other.db, bus: t.server.deps.bus, quotes: book, log: t.server.deps.log },
      book,
      {
        prefix: `${t.redisPrefix}:`,
        maxFutureSkewMs: 2_000,
        refreshMs: 60_000,
      },
    );
    await feed.start();
    try {
      const mine = t.server.deps.execution!.quotes;
      const symbols = (await optionRows(SYN)).map((r) => r.symbol);
      const basis = t.server.deps.execution!.quoteFeed.optionBasis(SYN)!.at.getTime();
      await waitUntil(
        async () => feed.optionBasis(SYN)?.at.getTime() ?? 0,
        (ms) => ms === basis,
        'the second process to derive',
      );
      let same = 0;
      for (const s of symbols) {
        const a = mine.get(s);
        // A contract the model no longer quotes (under half a tick) keeps an older quote here only.
        if (a?.tsQuote && a.tsQuote.getTime() < basis) continue;
        const b = book.get(s);
        expect([b?.bid?.toString(), b?.ask?.toString(), b?.tsQuote?.getTime()]).toEqual([
          a?.bid?.toString(),
          a?.ask?.toString(),
          a?.tsQuote?.getTime(),
        ]);
        if (a?.bid) same++;
      }
      expect(same).toBeGreaterThan(300);
    } finally {
      await feed.stop();
    }
  });

  it('writes the contracts’ Greeks for the net-delta rule', async () => {
    const now = await caller.marketData.chain({ symbol: SYN });
    const c = now.contracts.find((x) => x.greeks && x.right === 'call' && x.dte > 7)!;
    await t.server.deps.execution!.quoteFeed.greeks.refresh();
    const [row] = await waitUntil(
      () =>
        t.owner<{ greeks: WrittenGreeks | null }[]>`
          select greeks from instruments where symbol = ${c.symbol}`,
      (r) => r[0]?.greeks?.asOf === now.asOf,
      'greeks of the current basis',
    );
    expect(row!.greeks!.delta).toBeCloseTo(c.greeks!.delta, 9);
    expect(row!.greeks!.theta).toBeCloseTo(c.greeks!.theta, 9);
    expect(row!.greeks!.iv).toBeCloseTo(c.iv!, 9);
  });

  it('lists again once too few expiries are left, delisting the expired', async () => {
    const [u] = await t.owner<{ id: string; calendar: string; currency: string }[]>`
      select id, calendar, currency from instruments where symbol = ${SYN}`;
    const later = new Date(expiryInstant(chain.expiries[chain.expiries.length - 3]!).getTime() + 3_600_000);
    const before = (await optionRows(SYN)).length;
    const inserted = await listSyntheticChain(t.server.deps.db, { symbol: SYN, ...u! }, 101.05, later);
    expect(inserted).toBeGreaterThan(0);
    expect((await optionRows(SYN)).length).toBe(before + inserted);
    const [delisted] = await t.owner<{ n: number }[]>`
      select count(*)::int as n from instruments o join instruments u on u.id = o.underlying_id
       where u.symbol = ${SYN} and o.status = 'delisted'`;
    expect(delisted!.n).toBeGreaterThan(0);
    // Enough expiries now: a second call lists nothing.
    expect(await listSyntheticChain(t.server.deps.db, { symbol: SYN, ...u! }, 101.05, later)).toBe(0);
  });
});

describe('marketData.chain on a synthetic future (Black-76)', () => {
  it('lists with the future’s multiplier and derives Black-76 quotes', async () => {
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, multiplier)
      values (${SYN_FUT}, 'SIM', 'future', '0.25', '1', '24x7', '50')`;
    const ts = new Date();
    await venuePrices(t, [{ venue: 'SIM', instrument: SYN_FUT, bid: '2400.00', ask: '2400.50', ts }]);
    const v = await caller.marketData.chain({ symbol: SYN_FUT });
    expect([v.model, v.multiplier, v.underlyingPrice]).toEqual(['black76', '50', '2400.25']);
    const p = chainParamsOf(SYN_FUT);
    let checked = 0;
    for (const c of v.contracts) {
      if (c.iv === null || !c.greeks || c.greeks.vega < 0.01) continue;
      const years = (expiryInstant(c.expiry).getTime() - ts.getTime()) / MS_PER_YEAR;
      expect(Math.abs(c.iv - surfaceVol(p, Number(c.strike), 2400.25, years))).toBeLessThan(1e-6);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('marketData.chain on a future with listed options (Black-76)', () => {
  it('uses the listed contracts and their venue prices', async () => {
    const [u] = await t.owner<{ id: string }[]>`select id from instruments where symbol = ${FUT}`;
    const strikes = ['5300', '5400', '5500', '5600', '5700'];
    const contracts = strikes.flatMap((k) =>
      (['call', 'put'] as const).map((right) => ({
        symbol: optionSymbol({ underlying: FUT, expiry: FUT_EXPIRY, right, strike: k }),
        right,
        strike: k,
      })),
    );
    for (const c of contracts) {
      await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, multiplier,
          underlying_id, option_right, strike, expiry, source)
        values (${c.symbol}, ${FUT_VENUE}, 'option', '0.05', '1', 'CME', '50', ${u!.id}, ${c.right}, ${c.strike},
          ${FUT_EXPIRY}, 'admin')`;
    }
    const ts = new Date();
    const F = 5512.5;
    const years = (expiryInstant(FUT_EXPIRY).getTime() - ts.getTime()) / MS_PER_YEAR;
    await venuePrices(t, [
      { venue: FUT_VENUE, instrument: FUT, bid: '5512.25', ask: '5512.75', ts },
      ...contracts.map((c) => {
        const price = optionPrice({
          model: 'black76',
          right: c.right,
          underlying: F,
          strike: Number(c.strike),
          years,
          vol: FUT_VOL,
          rate: DEFAULT_OPTION_CHAIN_SETTINGS.riskFreeRate,
        });
        return {
          venue: FUT_VENUE,
          instrument: c.symbol,
          bid: (price - 0.25).toFixed(8),
          ask: (price + 0.25).toFixed(8),
          ts,
        };
      }),
    ]);
    const v = await caller.marketData.chain({ symbol: FUT });
    expect(v.model).toBe('black76');
    expect(v.multiplier).toBe('50');
    expect(v.expiries).toEqual([FUT_EXPIRY]);
    expect(v.contracts).toHaveLength(contracts.length);
    for (const c of v.contracts) {
      expect(c.iv).not.toBeNull();
      // The chain is priced a moment after the quotes were made: a few ms of time decay.
      expect(Math.abs(c.iv! - FUT_VOL)).toBeLessThan(1e-5);
      expect(c.openInterest).toBe(0);
    }
    expect(v.atmIv!).toBeCloseTo(FUT_VOL, 4);
    // Nothing synthetic was listed for it.
    expect((await optionRows(FUT)).every((r) => r.venue === FUT_VENUE)).toBe(true);
  });
});
