import { decStr } from '@aegis/shared/accounting/decimal';
import type { BacktestMetrics, BacktestResult } from '@aegis/shared/schemas/backtest';
import { formatTimestampUs } from '../feeds/tick-csv.ts';
import type { BacktestDesk } from './backtest-desk.ts';
import { canonicalDigest } from './canonical-json.ts';
import type { EquityCurve } from './equity-curve.ts';
import { drawdownStats, performanceMetrics } from './performance-metrics.ts';
import type { SimVenue, VenueOrder } from './sim-venue.ts';

/** Orders kept in the result (counts and money cover all of them). */
export const MAX_RESULT_ORDERS = 20_000;

export interface ResultParts {
  readonly curve: EquityCurve;
  readonly desk: BacktestDesk;
  readonly venue: SimVenue;
  readonly patterns: ReadonlyMap<string, { signals: number }>;
  readonly ticks: number;
  readonly signals: number;
  readonly modelVersion: string;
  readonly firstTsUs: number;
  readonly lastTsUs: number;
}

/**
 * The result: metrics of the desk and of buy-and-hold on the same equity-point times, per-pattern
 * attribution, orders, fills, the equity curve and the open positions, and the digest (sha-256 of
 * the canonical JSON of everything else). Only simulated time and decimals go in: the same run
 * gives the same bytes.
 */
export function buildResult(p: ResultParts): BacktestResult {
  const { curve, desk } = p;
  const accounts = desk.accounts;
  const equityF = curve.equity.map(Number);
  const benchF = curve.benchmark.map(Number);
  const spanUs = Math.max(0, p.lastTsUs - p.firstTsUs);
  const meanEquity = equityF.length > 0 ? equityF.reduce((a, b) => a + b, 0) / equityF.length : 0;
  const metrics = performanceMetrics({
    tsUs: curve.tsUs,
    equity: equityF,
    tradePnls: accounts.trades.map((t) => t.pnl.toNumber()),
    exposure: spanUs > 0 ? accounts.exposedUntil(p.lastTsUs) / spanUs : 0,
    turnover: meanEquity > 0 ? accounts.tradedNotional.toNumber() / meanEquity : 0,
    fees: decStr(accounts.fees),
  });
  const benchmark: BacktestMetrics = performanceMetrics({
    tsUs: curve.tsUs,
    equity: benchF,
    tradePnls: [],
    exposure: spanUs > 0 ? 1 : 0,
    turnover: 0,
    fees: '0',
  });
  const { drawdowns } = drawdownStats(curve.tsUs, equityF);
  const equity = curve.tsUs.map((ts, k) => ({
    ts: formatTimestampUs(ts),
    equity: curve.equity[k]!,
    drawdown: drawdowns[k]!,
    benchmark: curve.benchmark[k]!,
  }));
  const names = [...new Set([...p.patterns.keys(), ...desk.patternTrades.keys()])].sort();
  const attribution = names.map((pattern) => {
    const t = desk.patternTrades.get(pattern);
    return {
      pattern,
      signals: p.patterns.get(pattern)?.signals ?? 0,
      trades: t?.trades ?? 0,
      winRate: t && t.trades > 0 ? t.wins / t.trades : null,
      pnl: t ? decStr(t.pnl) : '0',
    };
  });
  const orders = p.venue.orders.slice(0, MAX_RESULT_ORDERS).map(orderView);
  const positions = accounts.positions
    .filter((q) => q.quantity !== '0')
    .map((q) => ({ symbol: q.symbol, quantity: q.quantity, avgCost: q.avgCost }));
  const body = {
    metrics,
    benchmark,
    attribution,
    orders,
    fills: desk.fills,
    equity,
    positions,
    ticks: p.ticks,
    signals: p.signals,
    modelVersion: p.modelVersion,
  };
  return { ...body, digest: canonicalDigest(body) };
}

function orderView(o: VenueOrder): BacktestResult['orders'][number] {
  return {
    id: o.id,
    tsDecision: formatTimestampUs(o.tsDecisionUs),
    symbol: o.symbol,
    side: o.side,
    orderType: o.orderType,
    quantity: decStr(o.quantity),
    limitPrice: o.limitPrice ? decStr(o.limitPrice) : null,
    stopPrice: o.stopPrice ? decStr(o.stopPrice) : null,
    role: o.role,
    status: o.status === 'working' && o.filled.gt(0) ? 'partially_filled' : o.status,
    pattern: o.pattern,
    score: o.score,
    denials: o.denials,
  };
}
