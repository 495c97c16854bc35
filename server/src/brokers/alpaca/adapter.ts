/**
 * The Alpaca adapter (Trading API v2; paper and live differ only by base URL). Orders go out as
 * POST /v2/orders addressed by our client order id; brackets natively (`order_class: bracket`,
 * or `oto` with one leg); combos natively as multi-leg options orders (`order_class: mleg`,
 * combo.ts). Reports come from the `trade_updates` stream; FILL account activities
 * are polled while the stream is down and replayed for `getExecutions`. Report ids are the same
 * on every path (report-book.ts), so the dispatcher's dedup by execution id holds across them.
 *
 * Over 400 lines on purpose: this is the adapter surface of one broker, each method a short call
 * into the modules beside it (rest-client, combo, order-lookup, order-history, report-feed,
 * report-book) around the state they share (the report book, the feed, the listeners), plus the
 * order body this adapter sends; split by method, that state would be spread over files.
 */
import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { z } from 'zod';
import { type ConnectionContext, credentialKindProbe } from '../connection.ts';
import {
  type BrokerAccount,
  type BrokerAdapter,
  type BrokerCapabilities,
  type BrokerComboRequest,
  BrokerError,
  BrokerErrorCode,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerPosition,
  type ExecutionReport,
  type ExecutionReportListener,
  type PlaceComboAck,
  type PlaceOrderAck,
} from '../types.ts';
import {
  type ComboLegIds,
  comboLegView,
  conventionComboLegIds,
  isMleg,
  mlegBody,
  registerCombo,
  replayComboLeg,
} from './combo.ts';
import {
  conventionLegIds,
  type KnownIds,
  type LegIds,
  registerTree,
  replayTree,
  viewsOf,
} from './order-history.ts';
import { AlpacaOrderLookup } from './order-lookup.ts';
import { ReportBook, roleOfLeg, toBrokerStatus } from './report-book.ts';
import { AlpacaReportFeed } from './report-feed.ts';
import { type AlpacaAuthMode, AlpacaRestClient, BROKER } from './rest-client.ts';
import { type AlpacaOrder, alpacaAccount, alpacaOrder, alpacaPosition } from './schemas.ts';

export interface AlpacaAdapterOptions {
  /** How the link authenticates; detected from the credentials when absent. */
  readonly auth?: AlpacaAuthMode;
  /** Bracket leg client ids (default: the execution service's entry id + S | T). */
  readonly legIds?: LegIds;
  /** Combo leg client ids (default: the execution service's combo id + L1, L2 …). */
  readonly comboLegIds?: ComboLegIds;
  /** Poll FILL activities this often while the stream is down (or absent). Default 2 s. */
  readonly pollIntervalMs?: number;
  /** Stream reconnect backoff (tests shorten it). */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** Most FILL activity pages read per replay or poll (100 activities a page). Default 20. */
  readonly maxActivityPages?: number;
}

const orderList = z.array(alpacaOrder);

export class AlpacaAdapter implements BrokerAdapter {
  readonly name = BROKER;
  readonly capabilities: BrokerCapabilities = { nativeBrackets: true, nativeCombos: true };
  readonly #ctx: ConnectionContext;
  readonly #legIds: LegIds;
  readonly #comboLegIds: ComboLegIds;
  readonly #rest: AlpacaRestClient;
  readonly #book = new ReportBook();
  /** Our OCO group per placed entry (Alpaca id), as the request named it. */
  readonly #ocoGroups = new Map<string, string>();
  /** Alpaca ids of the combo legs this adapter placed or found. */
  readonly #comboLegAlpacaIds = new Set<string>();
  readonly #known: KnownIds;
  readonly #lookup: AlpacaOrderLookup;
  readonly #feed: AlpacaReportFeed;
  /** OAuth or API-key link (probed once unless the `auth` option says). */
  readonly #auth: () => Promise<AlpacaAuthMode>;

  constructor(ctx: ConnectionContext, opts: AlpacaAdapterOptions = {}) {
    this.#ctx = ctx;
    this.#auth = credentialKindProbe(ctx.credentials, opts.auth);
    this.#legIds = opts.legIds ?? conventionLegIds;
    this.#comboLegIds = opts.comboLegIds ?? conventionComboLegIds;
    this.#rest = new AlpacaRestClient(ctx, () => this.#auth());
    this.#known = {
      clientIdOf: (id) => this.#book.get(id)?.clientOrderId,
      ocoGroupOf: (id) => this.#ocoGroups.get(id),
    };
    this.#lookup = new AlpacaOrderLookup({
      rest: this.#rest,
      book: this.#book,
      legIds: this.#legIds,
      known: this.#known,
      maxActivityPages: opts.maxActivityPages ?? 20,
    });
    this.#feed = new AlpacaReportFeed({
      ctx,
      opts,
      book: this.#book,
      lookup: this.#lookup,
      legIds: this.#legIds,
      known: this.#known,
      auth: () => this.#auth(),
    });
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
      if (!(err instanceof BrokerError) || err.brokerCode !== BrokerErrorCode.INVALID_REQUEST) throw err;
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
    if (req.bracket && !order.legs) order = await this.#lookup.fetchNested(order.id, 'placeOrder');
    this.#registerPlaced(req, order);
    return { clientOrderId: req.clientOrderId, brokerOrderId: order.id, status: toBrokerStatus(order) };
  }

  /**
   * One `mleg` request with every leg, addressed by the combo's client id. Idempotent like
   * `placeOrder`: Alpaca refuses a second order with the same client id, and the one it already
   * has is adopted. Any other refusal (422, 403) rejects the combo as a whole.
   */
  async placeCombo(req: BrokerComboRequest): Promise<PlaceComboAck> {
    let order: AlpacaOrder;
    try {
      order = await this.#rest.request({
        operation: 'placeCombo',
        kind: 'write',
        method: 'POST',
        path: '/v2/orders',
        body: mlegBody(req),
        schema: alpacaOrder,
      });
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      const message = String(err.context.brokerMessage ?? err.message);
      if (
        err.brokerCode === BrokerErrorCode.INVALID_REQUEST &&
        /client_order_id must be unique/i.test(message)
      ) {
        const known = await this.#lookup.byClientOrderId(req.comboId, 'placeCombo');
        if (known && isMleg(known)) {
          const tree = known.legs ? known : await this.#lookup.fetchNested(known.id, 'placeCombo');
          this.#registerCombo(tree, this.#comboLegIds, true);
          return this.#comboAck(tree);
        }
      }
      if (err.brokerCode !== BrokerErrorCode.INVALID_REQUEST && err.brokerCode !== BrokerErrorCode.REJECTED)
        throw err;
      throw new BrokerError(BrokerErrorCode.REJECTED, err.message, {
        operation: 'placeCombo',
        broker: BROKER,
        context: err.context,
      });
    }
    if (!order.legs) order = await this.#lookup.fetchNested(order.id, 'placeCombo');
    // Our legs by contract (each appears once in a combo); Alpaca's leg order is not relied on here.
    const ours = new Map(req.legs.map((l) => [`${l.symbol}|${l.side}`, l.clientOrderId]));
    this.#registerCombo(
      order,
      this.#comboLegIds,
      // Not seeded: every report of a new order (its acceptance included) comes from the stream.
      false,
      (leg, i) => ours.get(`${leg.symbol}|${leg.side}`) ?? this.#comboLegIds.legClientOrderId(req.comboId, i),
    );
    return this.#comboAck(order);
  }

  async cancelCombo(comboId: string): Promise<void> {
    const root = await this.#lookup.byClientOrderId(comboId, 'cancelCombo');
    if (!root || !isMleg(root))
      throw new BrokerError(BrokerErrorCode.NOT_FOUND, `alpaca: no combo ${comboId}`, {
        operation: 'cancelCombo',
        broker: BROKER,
      });
    const refused = await this.#cancelAtVenue('cancelCombo', root.id);
    if (!refused) return;
    // Not cancelable (filled, already ended): each leg's cancel is refused.
    const tree = root.legs ? root : await this.#lookup.fetchNested(root.id, 'cancelCombo');
    for (const t of this.#registerCombo(tree, this.#comboLegIds, true))
      this.#feed.emit(this.#book.cancelRejected(t, this.#now().toISOString(), refused.message));
  }

  async cancelOrder(clientOrderId: string): Promise<void> {
    // A combo leg is cancelled with its whole combo (Alpaca cancels a multi-leg order as one).
    const combo = await this.#comboOf(clientOrderId, 'cancelOrder');
    if (combo) return this.cancelCombo(combo.root.client_order_id);
    const tree = await this.#lookup.find(clientOrderId, 'cancelOrder');
    const target = tree ? memberOf(tree, clientOrderId, this.#book) : null;
    if (!tree || !target)
      throw new BrokerError(BrokerErrorCode.NOT_FOUND, `alpaca: no order ${clientOrderId}`, {
        operation: 'cancelOrder',
        broker: BROKER,
      });
    const refused = await this.#cancelAtVenue('cancelOrder', target.id);
    if (!refused) return;
    // Alpaca will not cancel it (already filled, already cancelled): a cancel reject.
    const t = this.#book.byClientId(clientOrderId) ?? this.#book.get(target.id);
    if (t) this.#feed.emit(this.#book.cancelRejected(t, this.#now().toISOString(), refused.message));
  }

  /**
   * DELETE /v2/orders/{id}. Alpaca's refusal (422: the order is filled or already ended) is
   * returned, for the caller's cancel reject; any other failure is thrown.
   */
  async #cancelAtVenue(operation: string, orderId: string): Promise<BrokerError | null> {
    try {
      await this.#rest.request({
        operation,
        kind: 'write',
        method: 'DELETE',
        path: `/v2/orders/${encodeURIComponent(orderId)}`,
        schema: null,
      });
      return null;
    } catch (err) {
      if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.INVALID_REQUEST) return err;
      throw err;
    }
  }

  async getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null> {
    const combo = await this.#comboOf(clientOrderId, 'getOrderByClientId');
    if (combo) return comboLegView(combo.root, combo.index, this.#comboLegIds);
    const tree = await this.#lookup.find(clientOrderId, 'getOrderByClientId');
    if (!tree) return null;
    return viewsOf(tree, this.#legIds, this.#known).find((v) => v.clientOrderId === clientOrderId) ?? null;
  }

  async getExecutions(clientOrderId: string): Promise<ExecutionReport[]> {
    const combo = await this.#comboOf(clientOrderId, 'getExecutions');
    if (combo) {
      const leg = combo.root.legs?.[combo.index];
      const activities = await this.#lookup.activities(
        'getExecutions',
        combo.root.created_at,
        (a) => a.order_id === leg?.id,
      );
      return replayComboLeg(combo.root, combo.index, activities, this.#comboLegIds);
    }
    const tree = await this.#lookup.find(clientOrderId, 'getExecutions');
    if (!tree) return [];
    const ids = new Set([tree.id, ...(tree.legs ?? []).map((l) => l.id)]);
    const activities = await this.#lookup.activities('getExecutions', tree.created_at, (a) =>
      ids.has(a.order_id),
    );
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
      if (isMleg(o)) {
        this.#registerCombo(o, this.#comboLegIds, true);
        for (const [i] of (o.legs ?? []).entries()) {
          const v = comboLegView(o, i, this.#comboLegIds);
          if (v && ['pending_new', 'new', 'partially_filled', 'pending_cancel'].includes(v.status))
            out.push(v);
        }
        continue;
      }
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
  // Reports (report-feed.ts)
  // -------------------------------------------------------------------------------------------

  onExecutionReport(listener: ExecutionReportListener): () => void {
    return this.#feed.onExecutionReport(listener);
  }

  onReconnect(listener: () => void): () => void {
    return this.#feed.onReconnect(listener);
  }

  connect(): Promise<void> {
    return this.#feed.connect();
  }

  close(): void {
    this.#feed.close();
  }

  /** Whether the trade_updates stream is authorized and listening (for health and tests). */
  get streaming(): boolean {
    return this.#feed.streaming;
  }

  /**
   * The multi-leg order holding a combo leg client id, with the leg's position, or null when the
   * id is not a combo leg Alpaca has (then it is looked up as a single order).
   */
  async #comboOf(
    clientOrderId: string,
    operation: string,
  ): Promise<{ root: AlpacaOrder; index: number } | null> {
    const leg = this.#comboLegIds.comboOfLeg(clientOrderId);
    if (!leg) return null;
    const known = this.#book.byClientId(clientOrderId);
    // A single order we already track under this id is not a combo leg.
    if (known && known.clientOrderId === clientOrderId && !this.#isComboLeg(known.alpacaId)) return null;
    const root = await this.#lookup.byClientOrderId(leg.comboId, operation);
    if (!root || !isMleg(root)) return null;
    const tree = root.legs ? root : await this.#lookup.fetchNested(root.id, operation);
    if (!tree.legs?.[leg.index]) return null;
    this.#registerCombo(tree, this.#comboLegIds, true);
    return { root: tree, index: leg.index };
  }

  #isComboLeg(alpacaId: string): boolean {
    return this.#comboLegAlpacaIds.has(alpacaId);
  }

  #registerCombo(...args: Parameters<typeof registerCombo> extends [unknown, ...infer R] ? R : never) {
    const tracked = registerCombo(this.#book, ...args);
    for (const t of tracked) this.#comboLegAlpacaIds.add(t.alpacaId);
    this.#feed.mlegRegistered();
    return tracked;
  }

  #comboAck(order: AlpacaOrder): PlaceComboAck {
    const status = toBrokerStatus(order);
    return {
      comboId: order.client_order_id,
      status,
      legs: (order.legs ?? []).map((l) => ({
        clientOrderId: this.#book.get(l.id)?.clientOrderId ?? l.client_order_id,
        brokerOrderId: l.id,
        status,
      })),
    };
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
