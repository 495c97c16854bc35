/**
 * One adapter for any CCXT exchange (provider `ccxt:<exchange>`), trading the spot account of an
 * API-key link. Every venue call goes through the connection's call policy (timeout, read
 * retries, circuit breaker) and leaves as a BrokerError (errors.ts). Decimal strings at our
 * boundary (decimals.ts), `BASE-QUOTE` symbols (symbols.ts), execution reports rebuilt from the
 * venue's orders and trades (reports.ts) and delivered by OrderStream (polling, plus CCXT Pro's
 * watchOrders where the venue has a WebSocket). No native brackets: the execution service
 * works protective legs itself.
 *
 * Over 400 lines on purpose: this is the adapter surface for every CCXT venue, each method a
 * short call into the modules beside it (venue, venue-session, order-lookup, order-stream,
 * reports, symbols, decimals) around the state they share (the exchange session, the order
 * lookup, the listeners); split by method, that state would be spread over files.
 */
import { dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import type { Exchange } from 'ccxt';
import type { ConnectionContext } from '../connection.ts';
import {
  type BrokerAccount,
  type BrokerAdapter,
  type BrokerCapabilities,
  BrokerError,
  BrokerErrorCode,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerPosition,
  type ExecutionReport,
  type ExecutionReportListener,
  type PlaceOrderAck,
} from '../types.ts';
import { outgoingNumber, toVenueDec } from './decimals.ts';
import { isDuplicateClientId } from './errors.ts';
import { OrderLookup } from './order-lookup.ts';
import { OrderStream } from './order-stream.ts';
import { brokerOrderOf, factsOf, type OrderFacts, reportsOf, statusOf } from './reports.ts';
import { toCcxtSymbol } from './symbols.ts';
import { exchangeIdOf } from './venue.ts';
import { VenueSession } from './venue-session.ts';

export interface CcxtAdapterOptions {
  /** How often open orders are polled for reports. Default 2 s. */
  readonly pollIntervalMs?: number;
  /**
   * `auto`: CCXT Pro's watchOrders wakes the poller where the venue has a WebSocket and the REST
   * base URL is the venue's own (or a stream URL is configured too); `poll`: polling only.
   */
  readonly stream?: 'auto' | 'poll';
  /** The account currency: cash, buying power and equity are in it. Default USDT. */
  readonly quoteCurrency?: string;
  /** CCXT's own per-request timeout (keep it under the policy's). Default 4 s. */
  readonly requestTimeoutMs?: number;
  /**
   * Our symbols searched for an order this process did not place, when the venue can look an
   * order up only per symbol (after a restart). Symbols traded since start are searched too.
   */
  readonly symbols?: readonly string[];
}

const REJECTED_KEPT = 10_000;

export class CcxtAdapter implements BrokerAdapter {
  readonly name: string;
  readonly capabilities: BrokerCapabilities = { nativeBrackets: false };
  readonly #ctx: ConnectionContext;
  readonly #id: string;
  readonly #o: Required<Omit<CcxtAdapterOptions, 'symbols'>> & { symbols: readonly string[] };
  readonly #session: VenueSession;
  readonly #lookup: OrderLookup;
  /** Orders the venue refused at placement: it keeps no record of them, we do (this process). */
  readonly #rejected = new Map<string, { facts: OrderFacts; reason: string; at: Date }>();
  readonly #stream: OrderStream;

  constructor(ctx: ConnectionContext, opts: CcxtAdapterOptions = {}) {
    this.#ctx = ctx;
    this.name = ctx.provider;
    this.#id = exchangeIdOf(ctx.provider);
    this.#o = {
      pollIntervalMs: opts.pollIntervalMs ?? 2_000,
      stream: opts.stream ?? 'auto',
      quoteCurrency: opts.quoteCurrency ?? 'USDT',
      requestTimeoutMs: opts.requestTimeoutMs ?? 4_000,
      symbols: opts.symbols ?? [],
    };
    this.#session = new VenueSession(ctx, this.#id, this.#o.requestTimeoutMs);
    this.#lookup = new OrderLookup(this.#session, this.#id, this.#o.symbols);
    this.#stream = new OrderStream({
      ctx,
      exchangeId: this.#id,
      pollIntervalMs: this.#o.pollIntervalMs,
      useWebSocket: this.#o.stream === 'auto' && this.#websocketReachable(),
      requestTimeoutMs: this.#o.requestTimeoutMs,
      pending: () =>
        [...this.#lookup.orders.values()].filter((t) => !t.settled).map((t) => t.facts.clientOrderId),
      collect: (id) => this.#collect(id),
      settle: (id) => {
        const t = this.#lookup.orders.get(id);
        if (t) t.settled = true;
      },
    });
  }

  // -------------------------------------------------------------------------------------------
  // BrokerAdapter
  // -------------------------------------------------------------------------------------------

  async placeOrder(req: BrokerOrderRequest): Promise<PlaceOrderAck> {
    const op = 'placeOrder';
    if (req.bracket)
      throw this.#error(BrokerErrorCode.INVALID_REQUEST, op, `${this.name} has no native brackets`);
    const known = this.#rejected.get(req.clientOrderId);
    if (known)
      return {
        clientOrderId: req.clientOrderId,
        brokerOrderId: null,
        status: 'rejected',
        rejectReason: known.reason,
      };
    if (this.#lookup.orders.has(req.clientOrderId)) {
      const o = await this.getOrderByClientId(req.clientOrderId);
      if (o) return ackOf(o);
    }
    const { bracket: _none, ...plain } = req;
    const facts: OrderFacts = {
      ...plain,
      limitPrice: req.limitPrice ?? null,
      stopPrice: req.stopPrice ?? null,
    };
    const market = toCcxtSymbol(req.symbol, this.name, op);
    try {
      const order = await this.#session.call(op, 'write', async (ex) => {
        const args = this.#orderArgs(ex, market, req);
        return ex.createOrder(market, args.type, req.side, args.amount, args.price, args.params);
      });
      this.#lookup.orders.set(req.clientOrderId, { facts, brokerOrderId: order.id ?? null, settled: false });
      this.#stream.wake(req.clientOrderId);
      return {
        clientOrderId: req.clientOrderId,
        brokerOrderId: order.id ?? null,
        status: order.status ? statusOf(order) : 'pending_new',
      };
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      // The id is taken: an earlier attempt reached the venue (a retry after a lost response).
      // Or the outcome is unknown (timeout, dropped connection): the venue may have the order.
      if (
        isDuplicateClientId(err) ||
        err.brokerCode === BrokerErrorCode.TIMEOUT ||
        err.brokerCode === BrokerErrorCode.UNAVAILABLE
      ) {
        this.#lookup.orders.set(req.clientOrderId, { facts, brokerOrderId: null, settled: false });
        const found = await this.getOrderByClientId(req.clientOrderId).catch(() => null);
        if (found) {
          this.#stream.wake(req.clientOrderId);
          return ackOf(found);
        }
        this.#lookup.orders.delete(req.clientOrderId);
        // The venue holds an open order under this id, but it could not be read back: the
        // outcome is unknown, not a rejection (the outbox looks it up again later).
        if (isDuplicateClientId(err))
          throw new BrokerError(BrokerErrorCode.UNAVAILABLE, `${err.message} (and its lookup failed)`, {
            broker: this.name,
            operation: op,
            context: err.context,
            cause: err,
          });
      }
      if (err.brokerCode === BrokerErrorCode.REJECTED && !isDuplicateClientId(err))
        this.#rememberRejected(req.clientOrderId, { facts, reason: err.message, at: this.#now() });
      throw err;
    }
  }

  async cancelOrder(clientOrderId: string): Promise<void> {
    const op = 'cancelOrder';
    const tracked = await this.#lookup.tracked(clientOrderId);
    if (!tracked)
      throw this.#error(BrokerErrorCode.NOT_FOUND, op, `no order ${clientOrderId} at ${this.name}`);
    const market = toCcxtSymbol(tracked.facts.symbol, this.name, op);
    try {
      await this.#session.call(op, 'write', (ex) =>
        tracked.brokerOrderId
          ? ex.cancelOrder(tracked.brokerOrderId, market)
          : ex.cancelOrder(undefined as unknown as string, market, { clientOrderId }),
      );
    } catch (err) {
      if (!(err instanceof BrokerError) || err.brokerCode !== BrokerErrorCode.NOT_FOUND) throw err;
      // Venues answer "unknown order" for an order that already ended (Binance -2011): the order
      // exists, so the outcome is a cancel reject, not "the broker never had it".
      const o = await this.getOrderByClientId(clientOrderId);
      if (!o) throw err;
      this.#stream.emit({
        kind: 'cancel_rejected',
        executionId: `${this.#id}:${o.brokerOrderId}:cancel_rejected:${o.status}`,
        clientOrderId,
        brokerOrderId: o.brokerOrderId,
        symbol: o.symbol,
        side: o.side,
        tsEvent: this.#now(),
        cumQty: o.filledQuantity,
        leavesQty: '0',
        avgPx: o.avgFillPrice,
        reason: `order is ${o.status}`,
      });
    }
    this.#stream.wake(clientOrderId);
  }

  async getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null> {
    const rejected = this.#rejected.get(clientOrderId);
    if (rejected)
      return {
        ...rejected.facts,
        brokerOrderId: '',
        status: 'rejected',
        filledQuantity: '0',
        avgFillPrice: null,
        rejectReason: rejected.reason,
      };
    const found = await this.#lookup.lookup(clientOrderId);
    if (!found) return null;
    return brokerOrderOf(await this.#session.venue(), found.facts, found.order);
  }

  async getExecutions(clientOrderId: string): Promise<ExecutionReport[]> {
    return (await this.#collect(clientOrderId))?.reports ?? [];
  }

  async listOpenOrders(): Promise<BrokerOrder[]> {
    const orders = await this.#lookup.openOrders('listOpenOrders');
    const ex = await this.#session.venue();
    const out: BrokerOrder[] = [];
    for (const o of orders) {
      const facts = this.#lookup.orders.get(o.clientOrderId ?? '')?.facts ?? factsOf(ex, o);
      if (!facts) continue;
      this.#lookup.track(facts, o.id ?? null);
      out.push(brokerOrderOf(ex, facts, o));
    }
    return out;
  }

  /**
   * Spot venues hold balances, not positions: every asset other than the account currency with
   * a non-zero total (free + in orders) is a long position in `<ASSET>-<QUOTE>` when that market
   * exists. A balance carries no cost basis, so avgCost is "0" (the desk's books keep the cost of
   * what it bought through us).
   */
  async listPositions(): Promise<BrokerPosition[]> {
    const balance = await this.#session.call('listPositions', 'read', (ex) => ex.fetchBalance());
    const ex = await this.#session.venue();
    const quote = this.#o.quoteCurrency;
    const out: BrokerPosition[] = [];
    for (const [asset, total] of Object.entries(balance.total ?? {})) {
      if (asset === quote || typeof total !== 'number' || total === 0) continue;
      const market = ex.markets?.[`${asset}/${quote}`];
      if (!market) continue;
      out.push({
        symbol: `${asset}-${quote}`,
        quantity: decStr(toVenueDec(ex, market, 'amount', total)),
        avgCost: '0',
      });
    }
    return out.sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    const off = this.#stream.onReport(listener);
    this.#stream.start();
    return off;
  }

  /**
   * Cash and buying power: the account currency's free balance. Equity: the account currency's
   * total plus every other asset's total at its last price against the account currency (one
   * fetchTickers call); assets without such a market are left out and logged.
   */
  async getAccount(): Promise<BrokerAccount> {
    const op = 'getAccount';
    const quote = this.#o.quoteCurrency;
    const balance = await this.#session.call(op, 'read', (ex) => ex.fetchBalance());
    const ex = await this.#session.venue();
    const free = dec(toNum((balance.free as Record<string, unknown> | undefined)?.[quote]).toPrecision(15));
    let equity = dec(toNum((balance.total as Record<string, unknown> | undefined)?.[quote]).toPrecision(15));
    const held = Object.entries(balance.total ?? {}).filter(
      ([asset, total]) => asset !== quote && typeof total === 'number' && total > 0,
    ) as [string, number][];
    const priced = held.filter(([asset]) => ex.markets?.[`${asset}/${quote}`]);
    const unpriced = held.filter(([asset]) => !ex.markets?.[`${asset}/${quote}`]).map(([a]) => a);
    if (priced.length > 0 && ex.has.fetchTickers) {
      const symbols = priced.map(([asset]) => `${asset}/${quote}`);
      const tickers = await this.#session.call(op, 'read', (x) => x.fetchTickers(symbols));
      for (const [asset, total] of priced) {
        const market = ex.markets?.[`${asset}/${quote}`];
        const last = tickers[`${asset}/${quote}`]?.last ?? tickers[`${asset}/${quote}`]?.close;
        if (last === undefined || last === null) {
          unpriced.push(asset);
          continue;
        }
        equity = equity.plus(
          toVenueDec(ex, market, 'amount', total).times(toVenueDec(ex, market, 'price', last)),
        );
      }
    } else unpriced.push(...priced.map(([a]) => a));
    if (unpriced.length > 0)
      this.#ctx.log.info(
        { broker: this.name, assets: unpriced },
        'assets without a price left out of equity',
      );
    return {
      accountId: this.#ctx.accountRef,
      currency: quote,
      cash: decStr(free),
      buyingPower: decStr(free.gt(ZERO) ? free : ZERO),
      equity: decStr(equity.toDecimalPlaces(12)),
      brokerStatus: null,
    };
  }

  async connect(): Promise<void> {
    await this.#session.venue();
    this.#stream.start();
  }

  onReconnect(listener: () => void): () => void {
    return this.#stream.onReconnect(listener);
  }

  close(): void {
    this.#stream.close();
    this.#session.close();
  }

  // -------------------------------------------------------------------------------------------
  // Requests
  // -------------------------------------------------------------------------------------------

  #orderArgs(
    ex: Exchange,
    market: string,
    req: BrokerOrderRequest,
  ): { type: string; amount: number; price: number | undefined; params: Record<string, unknown> } {
    const op = 'placeOrder';
    if (!ex.markets?.[market])
      throw this.#error(BrokerErrorCode.INVALID_REQUEST, op, `${this.name} has no market ${market}`);
    const amount = outgoingNumber(ex, market, 'amount', req.quantity);
    if (!amount.ok) throw this.#error(BrokerErrorCode.INVALID_REQUEST, op, amount.reason);
    const limit = req.orderType === 'limit' || req.orderType === 'stop_limit';
    const stop = req.orderType === 'stop' || req.orderType === 'stop_limit';
    // Crypto venues trade around the clock: a `day` order has no session end to expire at.
    if (limit && req.timeInForce === 'day')
      throw this.#error(
        BrokerErrorCode.INVALID_REQUEST,
        op,
        `${this.name} has no trading day: use gtc, ioc or fok`,
      );
    const params: Record<string, unknown> = { clientOrderId: req.clientOrderId };
    let price: number | undefined;
    if (limit) {
      if (!req.limitPrice)
        throw this.#error(BrokerErrorCode.INVALID_REQUEST, op, 'a limit order needs a limit price');
      const p = outgoingNumber(ex, market, 'price', req.limitPrice);
      if (!p.ok) throw this.#error(BrokerErrorCode.INVALID_REQUEST, op, p.reason);
      price = p.n;
      params.timeInForce = req.timeInForce.toUpperCase();
    }
    if (stop) {
      if (!req.stopPrice)
        throw this.#error(BrokerErrorCode.INVALID_REQUEST, op, 'a stop order needs a stop price');
      const p = outgoingNumber(ex, market, 'price', req.stopPrice);
      if (!p.ok) throw this.#error(BrokerErrorCode.INVALID_REQUEST, op, p.reason);
      params.triggerPrice = p.n;
    }
    return { type: limit ? 'limit' : 'market', amount: amount.n, price, params };
  }

  /** Every report of one order, rebuilt from the venue's order and trades. */
  async #collect(clientOrderId: string): Promise<{ reports: ExecutionReport[]; complete: boolean } | null> {
    const rejected = this.#rejected.get(clientOrderId);
    if (rejected) {
      const { facts } = rejected;
      return {
        reports: [
          {
            kind: 'rejected',
            executionId: `${this.#id}:${clientOrderId}:rejected`,
            clientOrderId,
            brokerOrderId: null,
            symbol: facts.symbol,
            side: facts.side,
            tsEvent: rejected.at,
            cumQty: '0',
            leavesQty: '0',
            avgPx: null,
            reason: rejected.reason,
          },
        ],
        complete: true,
      };
    }
    const found = await this.#lookup.lookup(clientOrderId);
    if (!found) return null;
    const trades = await this.#lookup.trades(found.order, this.#lookup.orders.get(clientOrderId));
    const ex = await this.#session.venue();
    return reportsOf(ex, this.#id, found.facts, found.order, trades, this.#now());
  }

  /** Most recent last, capped: the outbox settles a rejection long before the cap recycles it. */
  #rememberRejected(clientOrderId: string, r: { facts: OrderFacts; reason: string; at: Date }): void {
    this.#rejected.set(clientOrderId, r);
    if (this.#rejected.size > REJECTED_KEPT) {
      const oldest = this.#rejected.keys().next().value;
      if (oldest !== undefined) this.#rejected.delete(oldest);
    }
  }

  #websocketReachable(): boolean {
    const local = this.#ctx.endpoints.apiBaseUrl.trim() !== '';
    return !local || Boolean(this.#ctx.endpoints.streamUrl);
  }

  #error(code: BrokerErrorCode, operation: string, message: string): BrokerError {
    return new BrokerError(code, message, { broker: this.name, operation });
  }

  #now(): Date {
    return this.#ctx.clock?.() ?? new Date();
  }
}

function ackOf(o: BrokerOrder): PlaceOrderAck {
  return {
    clientOrderId: o.clientOrderId,
    brokerOrderId: o.brokerOrderId || null,
    status: o.status,
    ...(o.rejectReason && { rejectReason: o.rejectReason }),
  };
}

function toNum(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
