import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { z } from 'zod';
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
import {
  conventionLegIds,
  type KnownIds,
  type LegIds,
  registerTree,
  replayTree,
  viewsOf,
} from './order-history.ts';
import { ReportBook, roleOfLeg, toBrokerStatus } from './report-book.ts';
import { type AlpacaAuthMode, AlpacaRestClient, BROKER } from './rest-client.ts';
import {
  type AlpacaFillActivity,
  type AlpacaOrder,
  type AlpacaTradeUpdate,
  alpacaAccount,
  alpacaFillActivity,
  alpacaOrder,
  alpacaPosition,
} from './schemas.ts';
import { TradeStream } from './trade-stream.ts';

/**
 * The Alpaca adapter (Trading API v2; paper and live differ only by base URL). Orders go out as
 * POST /v2/orders addressed by our client order id; brackets natively (`order_class: bracket`,
 * or `oto` with one leg). Reports come from the `trade_updates` stream; FILL account activities
 * are polled while the stream is down and replayed for `getExecutions`. Report ids are the same
 * on every path (report-book.ts), so the dispatcher's dedup by execution id holds across them.
 */
export interface AlpacaAdapterOptions {
  /** How the link authenticates; detected from the credentials when absent. */
  readonly auth?: AlpacaAuthMode;
  /** Bracket leg client ids (default: the execution service's entry id + S | T). */
  readonly legIds?: LegIds;
  /** Poll FILL activities this often while the stream is down (or absent). Default 2 s. */
  readonly pollIntervalMs?: number;
  /** Stream reconnect backoff (tests shorten it). */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** Most FILL activity pages read per replay or poll (100 activities a page). Default 20. */
  readonly maxActivityPages?: number;
}

const MAX_EMITTED_IDS = 50_000;
const orderList = z.array(alpacaOrder);
const activityList = z.array(alpacaFillActivity);

export class AlpacaAdapter implements BrokerAdapter {
  readonly name = BROKER;
  readonly capabilities: BrokerCapabilities = { nativeBrackets: true };
  readonly #ctx: ConnectionContext;
  readonly #o: AlpacaAdapterOptions;
  readonly #legIds: LegIds;
  readonly #rest: AlpacaRestClient;
  readonly #book = new ReportBook();
  readonly #listeners = new Set<ExecutionReportListener>();
  readonly #reconnectListeners = new Set<() => void>();
  /** Execution ids already delivered live (insertion-ordered: the oldest are dropped first). */
  readonly #emitted = new Set<string>();
  /** Our OCO group per placed entry (Alpaca id), as the request named it. */
  readonly #ocoGroups = new Map<string, string>();
  /** Stream events of an order being adopted (unknown to the book), applied once it is known. */
  readonly #adopting = new Map<string, AlpacaTradeUpdate[]>();
  readonly #known: KnownIds;
  #authMode: Promise<AlpacaAuthMode> | null = null;
  #stream: TradeStream | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #pollCursor: string;
  #polling = false;
  #closed = false;

  constructor(ctx: ConnectionContext, opts: AlpacaAdapterOptions = {}) {
    this.#ctx = ctx;
    this.#o = opts;
    this.#legIds = opts.legIds ?? conventionLegIds;
    this.#rest = new AlpacaRestClient(ctx, () => this.#auth());
    this.#pollCursor = this.#now().toISOString();
    this.#known = {
      clientIdOf: (id) => this.#book.get(id)?.clientOrderId,
      ocoGroupOf: (id) => this.#ocoGroups.get(id),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------

  async placeOrder(req: BrokerOrderRequest): Promise<PlaceOrderAck> {
    let order: AlpacaOrder;
    try {
      order = await this.#rest.request({
        operation: 'placeOrder',
        kind: 'write',
        method: 'POST',
        path: '/v2/orders',
        body: orderBody(req),
        schema: alpacaOrder,
      });
    } catch (err) {
      if (!(err instanceof BrokerError) || err.code !== BrokerErrorCode.INVALID_REQUEST) throw err;
      // A retry of an order Alpaca already has: it refuses the duplicate id; adopt the original.
      if (/client_order_id must be unique/i.test(String(err.context.brokerMessage ?? err.message))) {
        const known = await this.getOrderByClientId(req.clientOrderId);
        if (known)
          return {
            clientOrderId: req.clientOrderId,
            brokerOrderId: known.brokerOrderId,
            status: known.status,
          };
      }
      // Any other 422 refuses this order for good (a bad price, a bad quantity): a rejection.
      throw new BrokerError(BrokerErrorCode.REJECTED, err.message, {
        operation: 'placeOrder',
        broker: BROKER,
        context: err.context,
      });
    }
    if (req.bracket && !order.legs) order = await this.#fetchNested(order.id, 'placeOrder');
    this.#registerPlaced(req, order);
    return { clientOrderId: req.clientOrderId, brokerOrderId: order.id, status: toBrokerStatus(order) };
  }

  async cancelOrder(clientOrderId: string): Promise<void> {
    const tree = await this.#find(clientOrderId, 'cancelOrder');
    const target = tree ? memberOf(tree, clientOrderId, this.#book) : null;
    if (!tree || !target)
      throw new BrokerError(BrokerErrorCode.NOT_FOUND, `alpaca: no order ${clientOrderId}`, {
        operation: 'cancelOrder',
        broker: BROKER,
      });
    try {
      await this.#rest.request({
        operation: 'cancelOrder',
        kind: 'write',
        method: 'DELETE',
        path: `/v2/orders/${encodeURIComponent(target.id)}`,
        schema: null,
      });
    } catch (err) {
      // 422: Alpaca will not cancel it (already filled, already cancelled): a cancel reject.
      if (err instanceof BrokerError && err.code === BrokerErrorCode.INVALID_REQUEST) {
        const t = this.#book.byClientId(clientOrderId) ?? this.#book.get(target.id);
        if (t) this.#emit(this.#book.cancelRejected(t, this.#now().toISOString(), err.message));
        return;
      }
      throw err;
    }
  }

  async getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null> {
    const tree = await this.#find(clientOrderId, 'getOrderByClientId');
    if (!tree) return null;
    return viewsOf(tree, this.#legIds, this.#known).find((v) => v.clientOrderId === clientOrderId) ?? null;
  }

  async getExecutions(clientOrderId: string): Promise<ExecutionReport[]> {
    const tree = await this.#find(clientOrderId, 'getExecutions');
    if (!tree) return [];
    const ids = new Set([tree.id, ...(tree.legs ?? []).map((l) => l.id)]);
    const activities = await this.#activities('getExecutions', tree.created_at, (a) => ids.has(a.order_id));
    return replayTree(tree, activities, this.#legIds, this.#known).filter(
      (r) => r.clientOrderId === clientOrderId,
    );
  }

  async listOpenOrders(): Promise<BrokerOrder[]> {
    const orders = await this.#rest.request({
      operation: 'listOpenOrders',
      kind: 'read',
      method: 'GET',
      path: '/v2/orders',
      query: { status: 'open', nested: 'true', limit: '500' },
      schema: orderList,
    });
    const out: BrokerOrder[] = [];
    for (const o of orders) {
      registerTree(this.#book, o, this.#legIds, this.#known, true);
      for (const v of viewsOf(o, this.#legIds, this.#known))
        if (['pending_new', 'new', 'partially_filled', 'pending_cancel'].includes(v.status)) out.push(v);
    }
    return out;
  }

  async listPositions(): Promise<BrokerPosition[]> {
    const positions = await this.#rest.request({
      operation: 'listPositions',
      kind: 'read',
      method: 'GET',
      path: '/v2/positions',
      schema: z.array(alpacaPosition),
    });
    return positions.map((p) => {
      const q = dec(p.qty);
      // qty is signed; a short is negative (and said so by `side`) whichever way it is written.
      const signed = p.side === 'short' && q.gt(0) ? q.neg() : q;
      return { symbol: p.symbol, quantity: decStr(signed), avgCost: decStr(dec(p.avg_entry_price)) };
    });
  }

  async getAccount(): Promise<BrokerAccount> {
    const a = await this.#rest.request({
      operation: 'getAccount',
      kind: 'read',
      method: 'GET',
      path: '/v2/account',
      schema: alpacaAccount,
    });
    return {
      accountId: a.account_number,
      currency: a.currency ?? 'USD',
      cash: decStr(dec(a.cash)),
      buyingPower: decStr(dec(a.buying_power)),
      equity: decStr(dec(a.equity)),
      brokerStatus: a.status,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Reports: stream, polling, listeners
  // -------------------------------------------------------------------------------------------

  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  async connect(): Promise<void> {
    if (this.#closed)
      throw new BrokerError(BrokerErrorCode.UNAVAILABLE, 'alpaca adapter closed', { broker: BROKER });
    this.#startPolling();
    const url = this.#ctx.endpoints.streamUrl;
    if (!url) return; // no stream configured: polling alone
    this.#stream ??= new TradeStream({
      url,
      auth: await this.#auth(),
      credential: async (refresh) => {
        if ((await this.#auth()) === 'oauth')
          return {
            token: refresh
              ? await this.#ctx.credentials.refreshAccessToken()
              : await this.#ctx.credentials.accessToken(),
          };
        const k = await this.#ctx.credentials.apiKey();
        return { key: k.apiKey, secret: k.apiSecret };
      },
      log: this.#ctx.log,
      onUpdate: (u) => this.#onUpdate(u),
      onReconnect: () => void this.#afterReconnect(),
      ...(this.#o.reconnectInitialMs !== undefined && { reconnectInitialMs: this.#o.reconnectInitialMs }),
      ...(this.#o.reconnectMaxMs !== undefined && { reconnectMaxMs: this.#o.reconnectMaxMs }),
    });
    try {
      await this.#stream.start();
    } catch (err) {
      // It keeps reconnecting, and fills are polled meanwhile; the caller learns it is degraded.
      throw new BrokerError(BrokerErrorCode.UNAVAILABLE, 'alpaca: trade_updates stream unavailable', {
        operation: 'connect',
        broker: BROKER,
        cause: err,
      });
    }
  }

  close(): void {
    this.#closed = true;
    this.#stream?.close();
    this.#stream = null;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#pollTimer = null;
    this.#listeners.clear();
    this.#reconnectListeners.clear();
  }

  /** Whether the trade_updates stream is authorized and listening (for health and tests). */
  get streaming(): boolean {
    return this.#stream?.listening ?? false;
  }

  #onUpdate(u: AlpacaTradeUpdate): void {
    const pending = this.#adopting.get(u.order.id);
    if (pending) {
      pending.push(u);
      return;
    }
    const t = this.#book.get(u.order.id);
    if (!t) {
      // Placed before a restart or by another process: learn it (and its bracket) from REST,
      // replay its history, then apply what arrived meanwhile.
      this.#adopting.set(u.order.id, [u]);
      void this.#adopt(u.order).finally(() => {
        const queued = this.#adopting.get(u.order.id) ?? [];
        this.#adopting.delete(u.order.id);
        for (const q of queued) if (this.#book.get(q.order.id)) this.#apply(q);
      });
      return;
    }
    this.#apply(u);
  }

  #apply(u: AlpacaTradeUpdate): void {
    const t = this.#book.get(u.order.id);
    if (!t) return;
    const ts = u.timestamp ?? u.order.updated_at ?? this.#now().toISOString();
    switch (u.event) {
      case 'new':
        this.#emit(this.#book.accepted(t, ts));
        return;
      case 'fill':
      case 'partial_fill':
        if (u.price === null || u.qty === null) {
          this.#ctx.log.error(
            { event: u.event, orderId: u.order.id },
            'alpaca fill event without price or qty ignored',
          );
          return;
        }
        this.#advanceCursor(ts);
        this.#emit(
          this.#book.filled(t, {
            lastQty: u.qty,
            lastPx: u.price,
            cumQty: u.order.filled_qty,
            avgPx: u.order.filled_avg_price,
            ts,
          }),
        );
        return;
      case 'canceled':
        this.#emit(this.#book.ended(t, 'cancelled', ts));
        return;
      case 'expired':
        this.#emit(this.#book.ended(t, 'expired', ts));
        return;
      case 'rejected':
        this.#emit(this.#book.ended(t, 'rejected', ts, 'rejected by Alpaca'));
        return;
      case 'order_cancel_rejected':
        this.#emit(this.#book.cancelRejected(t, ts, 'cancel rejected by Alpaca'));
        return;
      default:
        // pending_new, pending_cancel, done_for_day, replaced, calculated …: no report of ours.
        return;
    }
  }

  async #adopt(o: AlpacaOrder): Promise<void> {
    try {
      let root: AlpacaOrder | null =
        o.order_class === 'simple' ? o : await this.#fetchNested(o.id, 'adoptOrder');
      // A leg comes back without its entry: find the entry that holds it.
      if (root && root.order_class !== 'simple' && !root.legs?.length)
        root = await this.#findParentOfLeg(root);
      if (!root) return;
      const ids = new Set([root.id, ...(root.legs ?? []).map((l) => l.id)]);
      const activities = await this.#activities('adoptOrder', root.created_at, (a) => ids.has(a.order_id));
      const history = replayTree(root, activities, this.#legIds, this.#known);
      registerTree(this.#book, root, this.#legIds, this.#known, true);
      this.#emit(history);
    } catch (err) {
      this.#ctx.log.warn({ err, orderId: o.id }, 'alpaca: could not adopt an order seen on the stream');
    }
  }

  async #afterReconnect(): Promise<void> {
    await this.#poll().catch((err: unknown) => this.#ctx.log.warn({ err }, 'alpaca: catch-up poll failed'));
    for (const l of this.#reconnectListeners) {
      try {
        l();
      } catch (err) {
        this.#ctx.log.error({ err }, 'alpaca: reconnect listener failed');
      }
    }
  }

  #startPolling(): void {
    if (this.#pollTimer || this.#closed) return;
    this.#pollTimer = setInterval(() => {
      if (this.#stream?.listening) return;
      void this.#poll().catch((err: unknown) =>
        this.#ctx.log.warn({ err }, 'alpaca: FILL activity poll failed'),
      );
    }, this.#o.pollIntervalMs ?? 2_000);
    this.#pollTimer.unref?.();
  }

  /** Fills of known orders since the cursor, from the FILL activities (deduplicated by the book). */
  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const activities = await this.#activities('pollFills', this.#pollCursor, () => true);
      for (const a of activities) {
        const t = this.#book.get(a.order_id);
        if (t)
          this.#emit(
            this.#book.filled(t, {
              lastQty: a.qty,
              lastPx: a.price,
              cumQty: a.cum_qty,
              avgPx: null,
              ts: a.transaction_time,
            }),
          );
        if (Date.parse(a.transaction_time) > Date.parse(this.#pollCursor))
          this.#pollCursor = a.transaction_time;
      }
    } finally {
      this.#polling = false;
    }
  }

  /** Polling resumes from the last fill seen, on either path (never from the adapter's start). */
  #advanceCursor(ts: string): void {
    if (Date.parse(ts) > Date.parse(this.#pollCursor)) this.#pollCursor = ts;
  }

  #emit(reports: readonly ExecutionReport[]): void {
    for (const r of reports) {
      if (this.#emitted.has(r.executionId)) continue;
      this.#emitted.add(r.executionId);
      if (this.#emitted.size > MAX_EMITTED_IDS) {
        const oldest = this.#emitted.values().next().value;
        if (oldest !== undefined) this.#emitted.delete(oldest);
      }
      for (const l of this.#listeners) {
        try {
          l(r);
        } catch (err) {
          this.#ctx.log.error({ err }, 'alpaca: execution report listener failed');
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Lookups
  // -------------------------------------------------------------------------------------------

  /**
   * The order tree (a simple order, or a bracket entry with its legs) that holds `clientOrderId`,
   * or null when Alpaca has none. A bracket leg is found through its entry: Alpaca gives legs
   * client ids of its own, so a leg we did not place in this process is found by our convention.
   */
  async #find(clientOrderId: string, operation: string): Promise<AlpacaOrder | null> {
    const t = this.#book.byClientId(clientOrderId);
    if (t) {
      const rootId = t.group ? t.group.entry.alpacaId : t.alpacaId;
      return this.#fetchNested(rootId, operation);
    }
    const direct = await this.#byClientOrderId(clientOrderId, operation);
    if (direct) {
      const tree =
        direct.order_class === 'simple' || direct.legs
          ? direct
          : await this.#fetchNested(direct.id, operation);
      registerTree(this.#book, tree, this.#legIds, this.#known, true);
      return tree;
    }
    const leg = this.#legIds.parentOfLeg(clientOrderId);
    if (!leg) return null;
    const parent = await this.#byClientOrderId(leg.parentClientOrderId, operation);
    if (!parent || parent.order_class === 'simple') return null;
    const tree = parent.legs ? parent : await this.#fetchNested(parent.id, operation);
    if (!tree.legs?.some((l) => roleOfLeg(l) === leg.role)) return null;
    registerTree(this.#book, tree, this.#legIds, this.#known, true);
    return tree;
  }

  async #byClientOrderId(clientOrderId: string, operation: string): Promise<AlpacaOrder | null> {
    try {
      return await this.#rest.request({
        operation,
        kind: 'read',
        method: 'GET',
        path: '/v2/orders:by_client_order_id',
        query: { client_order_id: clientOrderId },
        schema: alpacaOrder,
      });
    } catch (err) {
      if (err instanceof BrokerError && err.code === BrokerErrorCode.NOT_FOUND) return null;
      throw err;
    }
  }

  #fetchNested(orderId: string, operation: string): Promise<AlpacaOrder> {
    return this.#rest.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: `/v2/orders/${encodeURIComponent(orderId)}`,
      query: { nested: 'true' },
      schema: alpacaOrder,
    });
  }

  /** The entry holding a leg we do not know: among the symbol's recent orders, nested. */
  async #findParentOfLeg(leg: AlpacaOrder): Promise<AlpacaOrder | null> {
    const orders = await this.#rest.request({
      operation: 'adoptOrder',
      kind: 'read',
      method: 'GET',
      path: '/v2/orders',
      query: { status: 'all', nested: 'true', symbols: leg.symbol, limit: '500' },
      schema: orderList,
    });
    return orders.find((o) => o.legs?.some((l) => l.id === leg.id)) ?? null;
  }

  /**
   * FILL activities after `after` (ascending, paged by `page_token`) that `keep` selects. One
   * second of overlap: activities at the bound's own instant are read again (the book drops
   * what it has), never lost.
   */
  async #activities(
    operation: string,
    after: string,
    keep: (a: AlpacaFillActivity) => boolean,
  ): Promise<AlpacaFillActivity[]> {
    const out: AlpacaFillActivity[] = [];
    let pageToken: string | undefined;
    const maxPages = this.#o.maxActivityPages ?? 20;
    for (let page = 0; page < maxPages; page++) {
      const batch = await this.#rest.request({
        operation,
        kind: 'read',
        method: 'GET',
        path: '/v2/account/activities/FILL',
        query: {
          after: new Date(Date.parse(after) - 1_000).toISOString(),
          direction: 'asc',
          page_size: '100',
          page_token: pageToken,
        },
        schema: activityList,
      });
      out.push(...batch.filter(keep));
      if (batch.length < 100) break;
      pageToken = batch.at(-1)?.id;
    }
    return out;
  }

  #registerPlaced(req: BrokerOrderRequest, order: AlpacaOrder): void {
    if (req.bracket) this.#ocoGroups.set(order.id, req.bracket.ocoGroup);
    const legIdOf = new Map<string, string>();
    for (const l of order.legs ?? []) {
      const role = roleOfLeg(l);
      const ours = req.bracket?.legs.find((x) => x.role === role);
      if (ours) legIdOf.set(l.id, ours.clientOrderId);
    }
    registerTree(
      this.#book,
      order,
      this.#legIds,
      {
        clientIdOf: (id) => legIdOf.get(id) ?? this.#known.clientIdOf(id),
        ocoGroupOf: this.#known.ocoGroupOf,
      },
      // Not seeded: every report of a new order (its acceptance included) comes from the stream.
      false,
    );
  }

  #auth(): Promise<AlpacaAuthMode> {
    if (this.#o.auth) return Promise.resolve(this.#o.auth);
    this.#authMode ??= this.#ctx.credentials.apiKey().then(
      () => 'api_key' as const,
      (err: unknown) => {
        if (err instanceof BrokerError && err.code === BrokerErrorCode.AUTH) return 'oauth' as const;
        this.#authMode = null;
        throw err;
      },
    );
    return this.#authMode;
  }

  #now(): Date {
    return this.#ctx.clock?.() ?? new Date();
  }
}

/** The member of a tree with our client order id (a leg's is ours, not Alpaca's). */
function memberOf(tree: AlpacaOrder, clientOrderId: string, book: ReportBook): AlpacaOrder | null {
  for (const o of [tree, ...(tree.legs ?? [])]) {
    const t = book.get(o.id);
    if ((t?.clientOrderId ?? o.client_order_id) === clientOrderId) return o;
  }
  return null;
}

/** POST /v2/orders body (Orders page, "Request body"): quantities and prices as strings. */
function orderBody(req: BrokerOrderRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    symbol: req.symbol,
    qty: req.quantity,
    side: req.side,
    type: req.orderType,
    time_in_force: req.timeInForce,
    client_order_id: req.clientOrderId,
  };
  if (req.limitPrice) body.limit_price = req.limitPrice;
  if (req.stopPrice) body.stop_price = req.stopPrice;
  if (req.bracket && req.bracket.legs.length > 0) {
    const stop = req.bracket.legs.find((l) => l.role === 'stop');
    const target = req.bracket.legs.find((l) => l.role === 'target');
    // Both legs: a bracket; one: OTO (one-triggers-other) with just that leg.
    body.order_class = stop && target ? 'bracket' : 'oto';
    if (target) body.take_profit = { limit_price: target.price };
    if (stop) body.stop_loss = { stop_price: stop.price };
  }
  return body;
}
