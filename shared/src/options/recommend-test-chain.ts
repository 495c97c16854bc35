import type { ChainContractView, ChainView } from '../schemas/option-chain.ts';

/**
 * A hand-built chain for the recommender's tests: exact mids and deltas so the arithmetic in
 * the tests can be checked by hand. Underlying 100, multiplier 100, one 30-day expiry.
 */
export interface ContractSpec {
  readonly right: 'call' | 'put';
  readonly strike: number;
  readonly delta: number;
  readonly mid: string;
  readonly dte?: number;
  readonly liquidity?: number;
  readonly spreadPct?: number | null;
  readonly iv?: number | null;
  readonly expiry?: string;
}

export function contract(s: ContractSpec): ChainContractView {
  const expiry = s.expiry ?? '2027-01-15';
  const mid = Number(s.mid);
  const spreadPct = s.spreadPct === undefined ? 4 : s.spreadPct;
  const half = spreadPct === null ? 0 : (mid * spreadPct) / 200;
  return {
    symbol: `SYN0001-${expiry.slice(2).replaceAll('-', '')}${s.right === 'call' ? 'C' : 'P'}${s.strike}`,
    right: s.right,
    strike: String(s.strike),
    expiry,
    dte: s.dte ?? 30,
    bid: spreadPct === null ? null : (mid - half).toFixed(4),
    ask: spreadPct === null ? null : (mid + half).toFixed(4),
    mid: spreadPct === null ? null : s.mid,
    spreadPct,
    openInterest: 1000,
    volume: 200,
    iv: s.iv === undefined ? 0.3 : s.iv,
    greeks:
      s.iv === null
        ? null
        : { delta: s.delta, gamma: 0.03, vega: 0.1, theta: -0.02, rho: 0.05, vanna: 0, volga: 0 },
    liquidity: s.liquidity ?? 70,
    excludedBy: [],
  };
}

export function chainOf(contracts: ChainContractView[], over: Partial<ChainView> = {}): ChainView {
  return {
    underlying: 'SYN0001',
    underlyingPrice: '100',
    asOf: '2026-12-16T12:00:00.000Z',
    model: 'bsm',
    rate: 0.04,
    dividendYield: 0,
    multiplier: '100',
    expiries: [...new Set(contracts.map((c) => c.expiry))],
    expiry: null,
    atmIv: 0.3,
    ivRank: 40,
    ivPercentile: 45,
    ivHistoryDays: 252,
    realizedVol: 0.25,
    realizedVolReturns: 30,
    realizedVolInterval: '1d',
    filters: {},
    contracts,
    ...over,
  };
}

/** Calls and puts 90–110 around 100 with textbook-shaped deltas and prices. */
export function standardChain(over: Partial<ChainView> = {}): ChainView {
  const calls: [number, number, string][] = [
    [90, 0.85, '11.20'],
    [95, 0.7, '7.10'],
    [100, 0.5, '4.00'],
    [105, 0.25, '1.80'],
    [110, 0.1, '0.60'],
  ];
  const puts: [number, number, string][] = [
    [90, -0.15, '0.90'],
    [95, -0.3, '2.20'],
    [100, -0.5, '3.70'],
    [105, -0.72, '6.60'],
    [110, -0.88, '10.80'],
  ];
  return chainOf(
    [
      ...calls.map(([strike, delta, mid]) => contract({ right: 'call', strike, delta, mid })),
      ...puts.map(([strike, delta, mid]) => contract({ right: 'put', strike, delta, mid })),
    ],
    over,
  );
}
