/**
 * The Coinbase Advanced Trade adapter (spot crypto) for one linked connection. See
 * docs/brokers/coinbase.md for what was checked against Coinbase's documentation.
 *
 * - Orders: POST /orders with our client order id as `client_order_id` (Coinbase returns the
 *   existing order for a client order id it already has, so a retry after a timeout finds the
 *   order it sent). The client → Coinbase order id mapping lives here; after a restart an
 *   unknown client order id is found by listing orders (Get Order's `client_order_id` filter is
 *   deprecated).
 * - Reports: the `user` WebSocket channel (CDP-key links) says an order changed; fills always come
 *   from List Fills, one report per trade id (report-book.ts). While the stream is down, and for
 *   OAuth links (Coinbase documents the user channel for CDP keys only), open orders are polled.
 * - Positions of a spot account: every non-zero balance that is not the account currency (USD),
 *   as `<CURRENCY>-USD`; the average entry price comes from the portfolio breakdown when the
 *   connection's account reference is a portfolio uuid, else "0" (Coinbase keeps no cost basis
 *   on accounts).
 * - No native brackets: a bracketed request is refused (the execution service does not send one).
 *
 * Over 400 lines on purpose: this is the adapter surface of one venue, each method a short call
 * into the modules beside it (rest-client, order-mapping, order-queries, report-book,
 * user-stream, account-reader) around the state they share here (the client → Coinbase order id
 * map, the stream / polling switch, the listeners); split by method, that state would be spread
 * over files.
 */
import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { type ConnectionContext, credentialKindProbe } from '../connection.ts';
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
import { CoinbaseAccountReader } from './account-reader.ts';
import { orderConfigurationFor, requestOf } from './order-mapping.ts';
import { findOrderByClientId, getOrder, listFillsOf, listOpenOrders } from './order-queries.ts';
import {
  type OrderSnapshot,
  ReportBook,
  type TrackedOrder,
  toBrokerStatus,
  trackedOrder,
} from './report-book.ts';
import { BROKER, type CoinbaseAuthMode, CoinbaseRestClient } from './rest-client.ts';
import {
  type CoinbaseFill,
  type CoinbaseOrder,
  cancelOrdersResponse,
  createOrderResponse,
  type UserOrderUpdate,
} from './schemas.ts';
import { UserStream } from './user-stream.ts';

export interface CoinbaseAdapterOptions {
  /** Polling interval for open orders while the stream is down (and always for OAuth). Default 2 s. */
  readonly pollIntervalMs?: number;
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** Forces an auth mode (else: `api_key` when the link has key material, `oauth` otherwise). */
  readonly auth?: CoinbaseAuthMode;
  /** Pages of List Orders searched for an unknown client order id. Default 10. */
  readonly lookupPages?: number;
}

export class CoinbaseAdapter implements BrokerAdapter {
  readonly name = BROKER;
  readonly capabilities: BrokerCapabilities = { nativeBrackets: false };
  readonly #ctx: ConnectionContext;
  readonly #o: CoinbaseAdapterOptions;
  readonly #rest: CoinbaseRestClient;
  readonly #account: CoinbaseAccountReader;
  readonly #book = new ReportBook();
  readonly #byClientId = new Map<string, TrackedOrder>();
  readonly #byOrderId = new Map<string, TrackedOrder>();
  readonly #listeners = new Set<ExecutionReportListener>();
  readonly #reconnectListeners = new Set<() => void>();
  /** OAuth or API-key link (probed once unless the `auth` option says). */
  readonly #auth: () => Promise<CoinbaseAuthMode>;
  #stream: UserStream | null = null;
  #poller: NodeJS.Timeout | null = null;
  #polling = false;
  #connected: Promise<void> | null = null;
  #closed = false;

  constructor(ctx: ConnectionContext, opts: CoinbaseAdapterOptions = {}) {
    this.#ctx = ctx;
    this.#o = opts;
    this.#auth = credentialKindProbe(ctx.credentials, opts.auth);
    this.#rest = new CoinbaseRestClient(ctx, () => this.#auth());
    this.#account = new CoinbaseAccountReader(this.#rest, ctx.accountRef);
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  connect(): Promise<void> {
    this.#connected ??= this.#connect().catch((err) => {
      this.#connected = null;
      throw err;
    });
    return this.#connected;
  }

  async #connect(): Promise<void> {
    const auth = await this.#auth();
    const url = this.#ctx.endpoints.streamUrl;
    if (!this.#poller) {
      this.#poller = setInterval(() => void this.#poll(), this.#o.pollIntervalMs ?? 2_000);
      this.#poller.unref?.();
    }
    if (auth !== 'api_key' || !url || this.#stream) return;
    this.#stream = new UserStream({
      url,
      jwt: () => this.#rest.websocketJwt(),
      log: this.#ctx.log,
      onOrders: (orders, timestamp) => this.#onStreamOrders(orders, timestamp),
      onReconnect: () => this.#onStreamReconnect(),
      ...(this.#o.reconnectInitialMs !== undefined && { reconnectInitialMs: this.#o.reconnectInitialMs }),
      ...(this.#o.reconnectMaxMs !== undefined && { reconnectMaxMs: this.#o.reconnectMaxMs }),
    });
    try {
      await this.#stream.start();
    } catch (err) {
      // The stream keeps retrying on its own; until it is back, open orders are polled.
      this.#ctx.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'coinbase user stream unavailable',
      );
    }
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** True while the user channel is subscribed (for tests and health views). */
  get streaming(): boolean {
    return this.#stream?.listening ?? false;
  }

  close(): void {
    this.#closed = true;
    this.#stream?.close();
    this.#stream = null;
    if (this.#poller) clearInterval(this.#poller);
    this.#poller = null;
    this.#listeners.clear();
    this.#reconnectListeners.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------

  async placeOrder(req: BrokerOrderRequest): Promise<PlaceOrderAck> {
    if (req.bracket)
      throw new BrokerError(
        BrokerErrorCode.REJECTED,
        'coinbase: no native brackets (the bracket was not sent)',
        {
          operation: 'placeOrder',
          broker: BROKER,
          retryable: false,
        },
      );
    const known = this.#byClientId.get(req.clientOrderId);
    if (known) return this.#ack(known);
    const { bracket: _none, ...plain } = req;
    const res = await this.#rest
      .request({
        operation: 'placeOrder',
        kind: 'write',
        method: 'POST',
        path: '/api/v3/brokerage/orders',
        body: {
          client_order_id: req.clientOrderId,
          product_id: req.symbol,
          side: req.side === 'buy' ? 'BUY' : 'SELL',
          order_configuration: orderConfigurationFor(plain, this.#now()),
        },
        schema: createOrderResponse,
        bodyOnStatuses: [400, 422],
      })
      .catch((err: unknown) => {
        // A 4xx that is not an order answer (a malformed request): this order never goes in.
        if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.INVALID_REQUEST)
          throw new BrokerError(BrokerErrorCode.REJECTED, err.message, {
            operation: 'placeOrder',
            broker: BROKER,
            retryable: false,
            context: err.context,
          });
        throw err;
      });
    const orderId = res.success_response?.order_id ?? (res.success ? res.order_id : undefined);
    if (!res.success || !orderId) {
      const e = res.error_response;
      const brokerCode =
        e?.new_order_failure_reason ?? e?.preview_failure_reason ?? e?.error ?? 'UNKNOWN_FAILURE_REASON';
      const message = e?.message ?? e?.error_details ?? brokerCode;
      throw new BrokerError(BrokerErrorCode.REJECTED, `coinbase: order refused: ${message}`, {
        operation: 'placeOrder',
        broker: BROKER,
        retryable: false,
        context: { brokerCode, brokerMessage: message, ...(e?.error && { brokerError: e.error }) },
      });
    }
    const t = this.#register({
      orderId,
      clientOrderId: req.clientOrderId,
      symbol: req.symbol,
      side: req.side,
      orderType: req.orderType,
      timeInForce: req.timeInForce,
      quantity: dec(req.quantity),
      limitPrice: req.limitPrice ?? null,
      stopPrice: req.stopPrice ?? null,
    });
    // Coinbase took it (success: true): the order exists at the exchange.
    await this.#serial(t, async () => this.#emit(this.#book.accepted(t, this.#now().toISOString())));
    return this.#ack(t);
  }

  async cancelOrder(clientOrderId: string): Promise<void> {
    const t = await this.#resolve(clientOrderId, 'cancelOrder');
    if (!t)
      throw new BrokerError(BrokerErrorCode.NOT_FOUND, `coinbase: no order ${clientOrderId}`, {
        operation: 'cancelOrder',
        broker: BROKER,
      });
    if (t.ended) {
      await this.#serial(t, async () =>
        this.#emit(this.#book.cancelRejected(t, this.#now().toISOString(), `order is ${t.status}`)),
      );
      return;
    }
    const res = await this.#rest.request({
      operation: 'cancelOrder',
      kind: 'write',
      method: 'POST',
      path: '/api/v3/brokerage/orders/batch_cancel',
      body: { order_ids: [t.orderId] },
      schema: cancelOrdersResponse,
    });
    const r = res.results.find((x) => x.order_id === t.orderId) ?? res.results[0];
    if (r?.success) {
      // Cancels are asynchronous at Coinbase: the CANCELLED status arrives on the stream or a poll.
      t.pendingCancel = true;
      if (!t.ended) t.status = 'pending_cancel';
      if (!this.streaming)
        void this.#syncFromRest(t, 'cancelOrder').catch((err) => this.#logSyncError(t, err));
      return;
    }
    const reason = r?.failure_reason ?? 'cancel refused';
    // A repeated cancel of an order already being cancelled is not a refusal.
    if (reason === 'DUPLICATE_CANCEL_REQUEST') return;
    await this.#serial(t, async () =>
      this.#emit(this.#book.cancelRejected(t, this.#now().toISOString(), reason)),
    );
  }

  async getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null> {
    const t = await this.#resolve(clientOrderId, 'getOrderByClientId');
    if (!t) return null;
    await this.#syncFromRest(t, 'getOrderByClientId');
    return this.#view(t);
  }

  async getExecutions(clientOrderId: string): Promise<ExecutionReport[]> {
    const t = await this.#resolve(clientOrderId, 'getExecutions');
    if (!t) return [];
    await this.#syncFromRest(t, 'getExecutions');
    return [...t.history];
  }

  async listOpenOrders(): Promise<BrokerOrder[]> {
    return (await listOpenOrders(this.#rest)).map((o) => this.#orderView(o));
  }

  // -------------------------------------------------------------------------------------------
  // Account
  // -------------------------------------------------------------------------------------------

  listPositions(): Promise<BrokerPosition[]> {
    return this.#account.positions();
  }

  getAccount(): Promise<BrokerAccount> {
    return this.#account.account();
  }

  // -------------------------------------------------------------------------------------------
  // Tracking and sync
  // -------------------------------------------------------------------------------------------

  #register(init: Parameters<typeof trackedOrder>[0]): TrackedOrder {
    const known = this.#byOrderId.get(init.orderId);
    if (known) {
      // Seen on the stream before the placement answered: our request is the better description.
      if (known.quantity === null) known.quantity = init.quantity;
      known.orderType = init.orderType;
      known.timeInForce = init.timeInForce;
      known.limitPrice = init.limitPrice;
      known.stopPrice = init.stopPrice;
      return known;
    }
    const t = trackedOrder(init);
    this.#byOrderId.set(t.orderId, t);
    this.#byClientId.set(t.clientOrderId, t);
    return t;
  }

  #registerOrder(o: CoinbaseOrder): TrackedOrder {
    return this.#register({
      orderId: o.order_id,
      clientOrderId: o.client_order_id || o.order_id,
      symbol: o.product_id,
      side: o.side === 'BUY' ? 'buy' : 'sell',
      ...requestOf(o),
    });
  }

  /** The order of a client order id: known here, else found by listing Coinbase's orders. */
  async #resolve(clientOrderId: string, operation: string): Promise<TrackedOrder | null> {
    const known = this.#byClientId.get(clientOrderId);
    if (known) return known;
    const hit = await findOrderByClientId(this.#rest, clientOrderId, operation, this.#o.lookupPages ?? 10);
    return hit ? (this.#byClientId.get(clientOrderId) ?? this.#registerOrder(hit)) : null;
  }

  /** Runs `fn` after the order's previous sync (one at a time per order: reports stay in order). */
  #serial<T>(t: TrackedOrder, fn: () => Promise<T>): Promise<T> {
    const p = t.chain.then(fn);
    t.chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Get Order + (when Coinbase's filled size is ahead) List Fills, then the status. */
  #syncFromRest(t: TrackedOrder, operation: string): Promise<void> {
    return this.#serial(t, async () => {
      const order = await getOrder(this.#rest, t.orderId, operation);
      await this.#apply(
        t,
        {
          status: order.status,
          filled: dec(order.filled_size ?? '0'),
          pendingCancel: order.pending_cancel,
          reason:
            order.status === 'FAILED'
              ? (order.reject_message ?? order.reject_reason)
              : order.status === 'CANCELLED'
                ? order.cancel_message
                : null,
          // Get Order carries no time of its last status change: terminal reports are stamped now.
          ts: this.#now().toISOString(),
        },
        operation,
      );
    });
  }

  async #apply(t: TrackedOrder, s: OrderSnapshot, operation: string): Promise<void> {
    if (t.brokerFilled.lt(s.filled)) t.brokerFilled = s.filled;
    // Terminal orders are checked once more for fills (a fill may post just before a cancel).
    const terminal = s.status === 'FILLED' || s.status === 'CANCELLED' || s.status === 'EXPIRED';
    if (t.brokerFilled.gt(t.filled) || (terminal && !t.ended && s.filled.gt(0)))
      this.#emit(
        this.#book.fills(t, await listFillsOf(this.#rest, t.orderId, operation), (f) =>
          this.#logAdjusted(t, f),
        ),
      );
    this.#emit(this.#book.status(t, s));
  }

  #onStreamOrders(orders: UserOrderUpdate[], timestamp: string | null): void {
    const ts = timestamp ?? this.#now().toISOString();
    for (const u of orders) {
      let t = this.#byOrderId.get(u.order_id);
      if (!t) {
        // Only orders we can address by client order id are tracked (ours, or any after a restart).
        if (!u.client_order_id || !u.product_id || !u.order_side) continue;
        const cum = dec(u.cumulative_quantity ?? '0');
        const leaves = u.leaves_quantity ? dec(u.leaves_quantity) : null;
        t = this.#register({
          orderId: u.order_id,
          clientOrderId: u.client_order_id,
          symbol: u.product_id,
          side: u.order_side === 'BUY' ? 'buy' : 'sell',
          orderType: /stop/i.test(u.order_type ?? '')
            ? 'stop_limit'
            : /market/i.test(u.order_type ?? '')
              ? 'market'
              : 'limit',
          timeInForce: 'gtc',
          quantity: leaves ? cum.plus(leaves) : null,
          limitPrice: u.limit_price,
          stopPrice: u.stop_price,
        });
      }
      const tracked = t;
      const snapshot: OrderSnapshot = {
        status: u.status,
        filled: dec(u.cumulative_quantity ?? '0'),
        pendingCancel: false,
        reason: u.status === 'FAILED' ? u.reject_reason : u.status === 'CANCELLED' ? u.cancel_reason : null,
        ts,
      };
      void this.#serial(tracked, () => this.#apply(tracked, snapshot, 'stream')).catch((err) =>
        this.#logSyncError(tracked, err),
      );
    }
  }

  #onStreamReconnect(): void {
    // Whatever happened while the stream was down is read back, then the dispatcher reconciles.
    const open = [...this.#byOrderId.values()].filter((t) => !t.ended);
    void Promise.allSettled(open.map((t) => this.#syncFromRest(t, 'reconnect'))).then(() => {
      for (const l of this.#reconnectListeners) {
        try {
          l();
        } catch (err) {
          this.#ctx.log.error({ err }, 'coinbase reconnect listener failed');
        }
      }
    });
  }

  /** Open orders are polled while the stream is down; orders whose fills lag are polled always. */
  async #poll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      const streaming = this.streaming;
      const due = [...this.#byOrderId.values()].filter(
        (t) => !t.ended && (!streaming || t.pendingEnd !== null || !this.#book.fillsCaughtUp(t)),
      );
      await Promise.allSettled(
        due.map((t) => this.#syncFromRest(t, 'poll').catch((err) => this.#logSyncError(t, err))),
      );
    } finally {
      this.#polling = false;
    }
  }

  #emit(reports: readonly ExecutionReport[]): void {
    for (const r of reports)
      for (const l of this.#listeners) {
        try {
          l(r);
        } catch (err) {
          this.#ctx.log.error(
            { err, executionId: r.executionId },
            'coinbase execution report listener failed',
          );
        }
      }
  }

  #logSyncError(t: TrackedOrder, err: unknown): void {
    if (this.#closed) return;
    this.#ctx.log.warn(
      { clientOrderId: t.clientOrderId, code: err instanceof BrokerError ? err.brokerCode : undefined },
      'coinbase order sync failed (retried by the next poll)',
    );
  }

  #logAdjusted(t: TrackedOrder, f: CoinbaseFill): void {
    this.#ctx.log.warn(
      { clientOrderId: t.clientOrderId, tradeId: f.trade_id, tradeType: f.trade_type },
      'coinbase adjusted fill not applied (needs review)',
    );
  }

  #ack(t: TrackedOrder): PlaceOrderAck {
    return {
      clientOrderId: t.clientOrderId,
      brokerOrderId: t.orderId,
      status: t.status,
      ...(t.rejectReason && { rejectReason: t.rejectReason }),
    };
  }

  #view(t: TrackedOrder): BrokerOrder {
    return {
      clientOrderId: t.clientOrderId,
      symbol: t.symbol,
      side: t.side,
      orderType: t.orderType,
      timeInForce: t.timeInForce,
      quantity: decStr(t.quantity ?? t.filled),
      limitPrice: t.limitPrice,
      stopPrice: t.stopPrice,
      brokerOrderId: t.orderId,
      status: t.status,
      filledQuantity: decStr(t.filled),
      avgFillPrice: this.#book.avgPx(t),
      rejectReason: t.rejectReason,
    };
  }

  /** A listed order as Coinbase reports it (its filled size and average price are Coinbase's). */
  #orderView(o: CoinbaseOrder): BrokerOrder {
    const t = this.#byOrderId.get(o.order_id) ?? this.#registerOrder(o);
    const filled = dec(o.filled_size ?? '0');
    const r = requestOf(o);
    return {
      clientOrderId: t.clientOrderId,
      symbol: o.product_id,
      side: o.side === 'BUY' ? 'buy' : 'sell',
      orderType: t.orderType,
      timeInForce: t.timeInForce,
      quantity: decStr(t.quantity ?? r.quantity ?? filled),
      limitPrice: t.limitPrice ?? r.limitPrice,
      stopPrice: t.stopPrice ?? r.stopPrice,
      brokerOrderId: o.order_id,
      status: toBrokerStatus(o.status, filled, o.pending_cancel),
      filledQuantity: decStr(filled),
      avgFillPrice: filled.gt(0) && o.average_filled_price ? decStr(dec(o.average_filled_price)) : null,
      rejectReason: o.status === 'FAILED' ? (o.reject_message ?? o.reject_reason ?? 'rejected') : null,
    };
  }

  #now(): Date {
    return this.#ctx.clock?.() ?? new Date();
  }
}
