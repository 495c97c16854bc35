import type { Exchange, Order, Trade } from 'ccxt';
import { BrokerError, BrokerErrorCode } from '../types.ts';
import { brokerErrorFromCcxt } from './errors.ts';
import { factsOf, type OrderFacts } from './reports.ts';
import { toCcxtSymbol } from './symbols.ts';
import type { VenueSession } from './venue-session.ts';

/**
 * Finding a venue's orders and trades by our client order id, and the orders this adapter
 * tracks. Venues differ: some look an order up by client id (CCXT `params.clientOrderId`), most
 * need the symbol, a few only list orders. A failed search is an error, never "the venue has no
 * such order": that answer lets the outbox send the order again.
 */
export interface Tracked {
  facts: OrderFacts;
  brokerOrderId: string | null;
  /** Every report of the order was delivered: the stream stops polling it. */
  settled: boolean;
  /** The order's trades as last fetched, with the filled quantity they were fetched at. */
  trades?: { readonly filled: number; readonly list: Trade[] };
}

/**
 * Venues whose fetchOrder / cancelOrder take `params.clientOrderId` in CCXT (Binance's
 * origClientOrderId, OKX's clOrdId, Bybit's orderLinkId …). Elsewhere the order is found by its
 * venue id, or by searching open and closed orders for the client id.
 */
const CLIENT_ID_LOOKUP: ReadonlySet<string> = new Set([
  'binance',
  'binanceus',
  'okx',
  'bybit',
  'kucoin',
  'gate',
  'bitget',
  'mexc',
]);

export class OrderLookup {
  readonly #session: VenueSession;
  readonly #byClientId: boolean;
  /** Our symbols searched for an order this process did not place (besides those traded). */
  readonly #symbols: readonly string[];
  readonly orders = new Map<string, Tracked>();

  constructor(session: VenueSession, exchangeId: string, symbols: readonly string[]) {
    this.#session = session;
    this.#byClientId = CLIENT_ID_LOOKUP.has(exchangeId);
    this.#symbols = symbols;
  }

  get byClientId(): boolean {
    return this.#byClientId;
  }

  track(facts: OrderFacts, brokerOrderId: string | null): Tracked {
    const known = this.orders.get(facts.clientOrderId);
    if (known) {
      known.brokerOrderId ??= brokerOrderId;
      return known;
    }
    const t: Tracked = { facts, brokerOrderId, settled: false };
    this.orders.set(facts.clientOrderId, t);
    return t;
  }

  /** Tracked, or found at the venue (then tracked); null when the venue has no such order. */
  async tracked(clientOrderId: string): Promise<Tracked | null> {
    return this.orders.get(clientOrderId) ?? (await this.#find(clientOrderId));
  }

  /** The venue's order and its facts, by client order id; null when the venue has none. */
  async lookup(clientOrderId: string): Promise<{ facts: OrderFacts; order: Order } | null> {
    const tracked = await this.tracked(clientOrderId);
    if (!tracked) return null;
    const order = await this.#fetchOrder(tracked, clientOrderId);
    if (!order) return null;
    if (order.id && !tracked.brokerOrderId) tracked.brokerOrderId = order.id;
    return { facts: tracked.facts, order };
  }

  /** Every open order (without a symbol where the venue allows it, else per known symbol). */
  async openOrders(operation: string): Promise<Order[]> {
    try {
      return await this.#session.call(operation, 'read', (ex) => ex.fetchOpenOrders());
    } catch (err) {
      if (!(err instanceof BrokerError) || err.brokerCode !== BrokerErrorCode.INVALID_REQUEST) throw err;
      const out: Order[] = [];
      for (const s of this.#knownSymbols()) {
        const market = toCcxtSymbol(s, this.#session.broker, operation);
        out.push(...(await this.#session.call(operation, 'read', (ex) => ex.fetchOpenOrders(market))));
      }
      return out;
    }
  }

  /**
   * The order's trades. Fetched again only when the order's filled quantity moved since the last
   * fetch: trade lists are the venues' expensive reads (Binance myTrades weighs 20, an order 4),
   * and a poll of a resting order must not spend them.
   */
  async trades(order: Order, tracked: Tracked | undefined): Promise<Trade[]> {
    const orderId = order.id;
    const filled = order.filled ?? 0;
    if (filled === 0 || !orderId) return [];
    if (tracked?.trades && tracked.trades.filled === filled) return tracked.trades.list;
    const list = await this.#session.call('getExecutions', 'read', async (ex) => {
      if (ex.has.fetchOrderTrades) return ex.fetchOrderTrades(orderId, order.symbol);
      const since = order.timestamp ? order.timestamp - 1 : undefined;
      return (await ex.fetchMyTrades(order.symbol, since)).filter((t) => t.order === orderId);
    });
    if (tracked) tracked.trades = { filled, list };
    return list;
  }

  async #fetchOrder(tracked: Tracked, clientOrderId: string): Promise<Order | null> {
    const op = 'getOrderByClientId';
    const market = toCcxtSymbol(tracked.facts.symbol, this.#session.broker, op);
    try {
      return await this.#session.call(op, 'read', async (ex) => {
        if (tracked.brokerOrderId && ex.has.fetchOrder) return ex.fetchOrder(tracked.brokerOrderId, market);
        if (this.#byClientId) return ex.fetchOrder(undefined as unknown as string, market, { clientOrderId });
        return (await this.#search(ex, market, clientOrderId)) as Order;
      });
    } catch (err) {
      if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.NOT_FOUND) return null;
      throw err;
    }
  }

  /** Venues that cannot look an order up by client id: its open and recent closed orders. */
  async #search(ex: Exchange, market: string, clientOrderId: string): Promise<Order | null> {
    const lists: Order[][] = [];
    if (ex.has.fetchOpenOrders) lists.push(await ex.fetchOpenOrders(market));
    if (ex.has.fetchClosedOrders) lists.push(await ex.fetchClosedOrders(market));
    else if (ex.has.fetchOrders) lists.push(await ex.fetchOrders(market));
    return lists.flat().find((o) => o.clientOrderId === clientOrderId) ?? null;
  }

  /** An order this process did not place: open orders first, then per known symbol. */
  async #find(clientOrderId: string): Promise<Tracked | null> {
    const op = 'getOrderByClientId';
    const open = await this.openOrders(op);
    const ex = await this.#session.venue();
    const hit = open.find((o) => o.clientOrderId === clientOrderId);
    if (hit) {
      const facts = factsOf(ex, hit);
      return facts ? this.track(facts, hit.id ?? null) : null;
    }
    for (const symbol of this.#knownSymbols()) {
      const market = toCcxtSymbol(symbol, this.#session.broker, op);
      const order = await this.#session.call(op, 'read', async (x) => {
        if (!this.#byClientId) return this.#search(x, market, clientOrderId);
        return x
          .fetchOrder(undefined as unknown as string, market, { clientOrderId })
          .catch((err: unknown) => {
            const be = brokerErrorFromCcxt(err, this.#session.broker, op);
            if (be.brokerCode === BrokerErrorCode.NOT_FOUND) return null;
            throw be;
          });
      });
      const facts = order ? factsOf(ex, order) : null;
      if (order && facts) return this.track(facts, order.id ?? null);
    }
    return null;
  }

  #knownSymbols(): Set<string> {
    return new Set([...this.#symbols, ...[...this.orders.values()].map((t) => t.facts.symbol)]);
  }
}
