import { type Dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import type { Exchange, Order, Trade } from 'ccxt';
import type {
  BrokerOrder,
  BrokerOrderRequest,
  BrokerOrderStatus,
  ExecutionReport,
  OrderType,
  TimeInForce,
} from '../types.ts';
import { toVenueDec, toVenueString } from './decimals.ts';
import { fromCcxtSymbol } from './symbols.ts';

/**
 * CCXT's unified order and trade structures → our BrokerOrder and FIX-like execution reports.
 *
 * A venue keeps orders and trades, not execution reports, so the reports of one order are
 * rebuilt from them every time, with ids derived from venue facts so that rebuilding gives the
 * same ids (the execution service deduplicates on them):
 *   accepted   `<venue>:<orderId>:accepted`
 *   fill       `<venue>:trade:<market>:<tradeId>` (the venue's trade id: one fill, one report)
 *   cancelled / expired / rejected   `<venue>:<orderId>:<kind>`
 * Fills come only from trades (fetchOrderTrades / fetchMyTrades): the order's `filled` is not a
 * fill until the trade behind it is visible, so a lagging trade list delays a report, never
 * invents one. A terminal report follows the fills once the trades cover `filled`.
 */
/** The request's own facts (symbol: ours, `BTC-USDT`), the prices always present (null: none). */
export interface OrderFacts
  extends Pick<
    BrokerOrderRequest,
    'clientOrderId' | 'symbol' | 'side' | 'orderType' | 'timeInForce' | 'quantity'
  > {
  readonly limitPrice: string | null;
  readonly stopPrice: string | null;
}

export function statusOf(o: Order): BrokerOrderStatus {
  const filled = o.filled ?? 0;
  switch (o.status) {
    case 'open':
      return filled > 0 ? 'partially_filled' : 'new';
    case 'closed':
      return 'filled';
    case 'canceled':
    case 'cancelled':
      return 'cancelled';
    case 'expired':
      return 'expired';
    case 'rejected':
      return 'rejected';
    default:
      return 'pending_new';
  }
}

const TERMINAL: ReadonlySet<BrokerOrderStatus> = new Set(['filled', 'cancelled', 'expired', 'rejected']);
export const isTerminal = (s: BrokerOrderStatus) => TERMINAL.has(s);

function orderTypeOf(o: Order): OrderType {
  const t = (o.type ?? '').toLowerCase();
  const trigger = o.triggerPrice ?? o.stopPrice;
  const isLimit = t.includes('limit');
  if (trigger !== undefined && trigger !== null) return isLimit ? 'stop_limit' : 'stop';
  if (t.startsWith('stop') || t.startsWith('take_profit')) return isLimit ? 'stop_limit' : 'stop';
  return isLimit ? 'limit' : 'market';
}

function tifOf(o: Order): TimeInForce {
  const t = (o.timeInForce ?? 'GTC').toLowerCase();
  return t === 'ioc' || t === 'fok' ? t : 'gtc';
}

/** The order's own facts as the venue reports them (an order this process did not place). */
export function factsOf(ex: Exchange, o: Order): OrderFacts | null {
  const symbol = o.symbol ? fromCcxtSymbol(o.symbol) : null;
  if (!symbol || !o.clientOrderId || !o.symbol) return null;
  const market = o.symbol ? ex.markets?.[o.symbol] : undefined;
  return {
    clientOrderId: o.clientOrderId,
    symbol,
    side: o.side === 'sell' ? 'sell' : 'buy',
    orderType: orderTypeOf(o),
    timeInForce: tifOf(o),
    quantity: toVenueString(ex, market, 'amount', o.amount) ?? '0',
    limitPrice: o.type?.toLowerCase().includes('limit') ? toVenueString(ex, market, 'price', o.price) : null,
    stopPrice: toVenueString(ex, market, 'price', o.triggerPrice ?? o.stopPrice),
  };
}

export function brokerOrderOf(ex: Exchange, facts: OrderFacts, o: Order): BrokerOrder {
  const market = o.symbol ? ex.markets?.[o.symbol] : undefined;
  const filled = toVenueDec(ex, market, 'amount', o.filled ?? 0);
  return {
    ...facts,
    brokerOrderId: o.id ?? '',
    status: statusOf(o),
    filledQuantity: decStr(filled),
    avgFillPrice: filled.gt(0) ? toVenueString(ex, market, 'price', o.average ?? o.price) : null,
    rejectReason: null,
  };
}

/** Fills in the venue's order: by time, then trade id; one per trade id. */
function uniqueTrades(trades: readonly Trade[]): Trade[] {
  const seen = new Set<string>();
  const out: Trade[] = [];
  for (const t of [...trades].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0) || cmpId(a.id, b.id))) {
    if (!t.id || seen.has(t.id)) continue;
    seen.add(t.id);
    out.push(t);
  }
  return out;
}

function cmpId(a: string | undefined, b: string | undefined): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return (a ?? '').localeCompare(b ?? '');
}

export interface RebuiltReports {
  readonly reports: ExecutionReport[];
  /** The venue's trades cover the order's filled quantity and the order is terminal. */
  readonly complete: boolean;
}

export function reportsOf(
  ex: Exchange,
  venue: string,
  facts: OrderFacts,
  o: Order,
  trades: readonly Trade[],
  now: Date,
): RebuiltReports {
  const market = o.symbol ? ex.markets?.[o.symbol] : undefined;
  const qty = toVenueDec(ex, market, 'amount', o.amount ?? 0);
  const status = statusOf(o);
  const base = {
    clientOrderId: facts.clientOrderId,
    brokerOrderId: o.id ?? null,
    symbol: facts.symbol,
    side: facts.side,
  };
  const reports: ExecutionReport[] = [];
  const at = (ms: number | undefined) => new Date(ms ?? now.getTime());
  if (status === 'rejected') {
    reports.push({
      ...base,
      kind: 'rejected',
      executionId: `${venue}:${o.id}:rejected`,
      tsEvent: at(o.lastUpdateTimestamp ?? o.timestamp),
      cumQty: '0',
      leavesQty: '0',
      avgPx: null,
      reason: 'rejected by the venue',
    });
    return { reports, complete: true };
  }
  reports.push({
    ...base,
    kind: 'accepted',
    executionId: `${venue}:${o.id}:accepted`,
    tsEvent: at(o.timestamp),
    cumQty: '0',
    leavesQty: decStr(qty),
    avgPx: null,
  });
  let cum: Dec = ZERO;
  let notional: Dec = ZERO;
  const quote = facts.symbol.split('-')[1];
  for (const t of uniqueTrades(trades)) {
    const lastQty = toVenueDec(ex, market, 'amount', t.amount ?? 0);
    const lastPx = toVenueDec(ex, market, 'price', t.price ?? 0);
    if (lastQty.lte(0)) continue;
    cum = cum.plus(lastQty);
    notional = notional.plus(lastQty.times(lastPx));
    const leaves = qty.minus(cum);
    // The fee is reported only in the pair's quote currency: our fills carry one fee amount in
    // the account currency (a fee in BNB or in the base asset stays in the venue's records).
    const fee =
      t.fee?.cost !== undefined && t.fee.currency === quote
        ? decStr(toVenueDec(ex, market, 'price', t.fee.cost))
        : undefined;
    reports.push({
      ...base,
      kind: 'fill',
      executionId: `${venue}:trade:${o.symbol}:${t.id}`,
      tsEvent: at(t.timestamp),
      lastQty: decStr(lastQty),
      lastPx: decStr(lastPx),
      ...(fee !== undefined && { fee }),
      ...(t.takerOrMaker === 'maker' || t.takerOrMaker === 'taker' ? { liquidity: t.takerOrMaker } : {}),
      cumQty: decStr(cum),
      leavesQty: decStr(leaves.gt(0) ? leaves : ZERO),
      avgPx: decStr(notional.div(cum).toDecimalPlaces(12)),
    });
  }
  const filled = toVenueDec(ex, market, 'amount', o.filled ?? 0);
  const tradesCover = cum.gte(filled);
  if (!isTerminal(status) || !tradesCover) return { reports, complete: false };
  if (status === 'cancelled' || status === 'expired') {
    reports.push({
      ...base,
      kind: status,
      executionId: `${venue}:${o.id}:${status}`,
      tsEvent: at(o.lastUpdateTimestamp ?? o.lastTradeTimestamp ?? o.timestamp),
      cumQty: decStr(cum),
      leavesQty: '0',
      avgPx: cum.gt(0) ? decStr(notional.div(cum).toDecimalPlaces(12)) : null,
    });
  }
  return { reports, complete: true };
}
