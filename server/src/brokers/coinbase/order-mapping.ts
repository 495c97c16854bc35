import { type Dec, dec } from '@aegis/shared/accounting/decimal';
import {
  BrokerError,
  BrokerErrorCode,
  type BrokerOrderRequest,
  type OrderType,
  type TimeInForce,
} from '../types.ts';
import { BROKER } from './rest-client.ts';
import type { CoinbaseOrder, OrderConfiguration } from './schemas.ts';

/**
 * Our order request ⇄ Coinbase's `order_configuration` (Create Order, "order_configuration"):
 *
 *   market      ioc/day/gtc → market_market_ioc { base_size }   fok → market_market_fok { base_size }
 *   limit       gtc → limit_limit_gtc { base_size, limit_price, post_only: false }
 *               day → limit_limit_gtd { …, end_time: the next 00:00 UTC }   (crypto has no session:
 *                     a "day" order lives until the end of the UTC day)
 *               ioc → sor_limit_ioc { base_size, limit_price }
 *               fok → limit_limit_fok { base_size, limit_price }
 *   stop_limit  gtc → stop_limit_stop_limit_gtc { base_size, limit_price, stop_price, stop_direction }
 *               day → stop_limit_stop_limit_gtd { …, end_time }
 *               (STOP_DIRECTION_STOP_UP for a buy, STOP_DIRECTION_STOP_DOWN for a sell)
 *   stop        refused: Advanced Trade has no stop-market configuration.
 *
 * Quantities are always base sizes (our quantity is in the base asset); symbols are product ids
 * (`BTC-USD`).
 */
export function orderConfigurationFor(
  req: BrokerOrderRequest,
  now: Date,
): Record<string, Record<string, unknown>> {
  const base_size = req.quantity;
  const need = (v: string | null | undefined, what: string): string => {
    if (!v) throw refused(`${req.orderType} order without a ${what}`);
    return v;
  };
  const endTime = nextUtcMidnight(now);
  switch (req.orderType) {
    case 'market':
      return req.timeInForce === 'fok'
        ? { market_market_fok: { base_size } }
        : { market_market_ioc: { base_size } };
    case 'limit': {
      const limit_price = need(req.limitPrice, 'limit price');
      switch (req.timeInForce) {
        case 'gtc':
          return { limit_limit_gtc: { base_size, limit_price, post_only: false } };
        case 'day':
          return { limit_limit_gtd: { base_size, limit_price, end_time: endTime, post_only: false } };
        case 'ioc':
          return { sor_limit_ioc: { base_size, limit_price } };
        case 'fok':
          return { limit_limit_fok: { base_size, limit_price } };
      }
      break;
    }
    case 'stop_limit': {
      const limit_price = need(req.limitPrice, 'limit price');
      const stop_price = need(req.stopPrice, 'stop price');
      const stop_direction = req.side === 'buy' ? 'STOP_DIRECTION_STOP_UP' : 'STOP_DIRECTION_STOP_DOWN';
      if (req.timeInForce === 'gtc')
        return { stop_limit_stop_limit_gtc: { base_size, limit_price, stop_price, stop_direction } };
      if (req.timeInForce === 'day')
        return {
          stop_limit_stop_limit_gtd: {
            base_size,
            limit_price,
            stop_price,
            end_time: endTime,
            stop_direction,
          },
        };
      throw refused(
        `a ${req.timeInForce} stop-limit order (Coinbase has GTC and GTD stop-limit orders only)`,
      );
    }
    case 'stop':
      throw refused('a stop (market) order: Coinbase Advanced Trade has stop-limit orders only');
  }
  throw refused(`a ${req.orderType} ${req.timeInForce} order`);
}

/** What a Coinbase order was (type, time in force, size, prices) read back from its configuration. */
export function requestOf(o: Pick<CoinbaseOrder, 'order_configuration'>): {
  orderType: OrderType;
  timeInForce: TimeInForce;
  quantity: Dec | null;
  limitPrice: string | null;
  stopPrice: string | null;
} {
  const c: OrderConfiguration = o.order_configuration;
  const size = (x: { base_size: string | null } | undefined) => (x?.base_size ? dec(x.base_size) : null);
  if (c.market_market_ioc)
    return {
      orderType: 'market',
      timeInForce: 'ioc',
      quantity: size(c.market_market_ioc),
      limitPrice: null,
      stopPrice: null,
    };
  if (c.market_market_fok)
    return {
      orderType: 'market',
      timeInForce: 'fok',
      quantity: size(c.market_market_fok),
      limitPrice: null,
      stopPrice: null,
    };
  const lim = (tif: TimeInForce, x: { base_size: string | null; limit_price: string | null }) => ({
    orderType: 'limit' as const,
    timeInForce: tif,
    quantity: size(x),
    limitPrice: x.limit_price,
    stopPrice: null,
  });
  if (c.limit_limit_gtc) return lim('gtc', c.limit_limit_gtc);
  if (c.limit_limit_gtd) return lim('day', c.limit_limit_gtd);
  if (c.sor_limit_ioc) return lim('ioc', c.sor_limit_ioc);
  if (c.limit_limit_fok) return lim('fok', c.limit_limit_fok);
  const stop = c.stop_limit_stop_limit_gtc ?? c.stop_limit_stop_limit_gtd;
  if (stop)
    return {
      orderType: 'stop_limit',
      timeInForce: c.stop_limit_stop_limit_gtc ? 'gtc' : 'day',
      quantity: size(stop),
      limitPrice: stop.limit_price,
      stopPrice: stop.stop_price,
    };
  // A configuration we do not place (bracket, TWAP …): seen only for orders placed elsewhere.
  return { orderType: 'limit', timeInForce: 'gtc', quantity: null, limitPrice: null, stopPrice: null };
}

function nextUtcMidnight(now: Date): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  return d.toISOString();
}

function refused(what: string): BrokerError {
  return new BrokerError(BrokerErrorCode.REJECTED, `coinbase: cannot place ${what}`, {
    operation: 'placeOrder',
    broker: BROKER,
    retryable: false,
  });
}
