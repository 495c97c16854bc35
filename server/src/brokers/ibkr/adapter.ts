import { dec, decStr } from '@aegis/shared/accounting/decimal';
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
import { BROKER, GatewayClient, type GatewayTlsOptions, protocolError } from './gateway-client.ts';
import { IbkrOrderBook } from './order-book.ts';
import { isOpen, statusOf, tickets } from './order-mapping.ts';
import { ReportPoller } from './report-poller.ts';
import {
  cancelResponse,
  gatewayError,
  type OrderSubmitResponse,
  orderQuestion,
  orderSubmitResponse,
  orderSubmitted,
  portfolioPositions,
  portfolioSummary,
  secdefSearch,
} from './schemas.ts';
import { GatewaySession } from './session.ts';

/**
 * Interactive Brokers through the Client Portal Web API gateway (docs/brokers/ibkr.md). One
 * adapter per linked account (`ctx.accountRef`, e.g. U1234567 / DU1234567 for paper). The
 * gateway runs beside the server and holds the brokerage session a person logged into; this
 * adapter keeps it alive and reports BROKER_REAUTH_REQUIRED while it is down (session.ts).
 *
 * Orders: POST /iserver/account/{acct}/orders with our client order id as `cOID`, brackets as a
 * parent plus children (`parentId`); the gateway's confirmation questions are answered (bounded).
 * Reports: GET /iserver/account/orders and /iserver/account/trades polled on a timer (the
 * gateway's websocket is not used: polling is what the gateway's pacing allows everywhere and
 * what can be replayed for `getExecutions`); report ids are deterministic (order-mapping.ts).
 */
export interface IbkrAdapterOptions {
  readonly tls?: GatewayTlsOptions;
  /** POST /tickle this often. Default 55 s (the gateway drops a session idle for ~5 min). */
  readonly tickleIntervalMs?: number;
  /** Poll live orders and trades this often. Default 5 s (both endpoints: 1 request / 5 s). */
  readonly pollIntervalMs?: number;
  /** Most confirmation questions answered for one submission. Default 5. */
  readonly maxReplies?: number;
  /** Days of executions read by getExecutions (the gateway keeps at most 7). Default 7. */
  readonly tradeDays?: number;
}

export class IbkrAdapter implements BrokerAdapter {
  readonly name = BROKER;
  readonly capabilities: BrokerCapabilities = { nativeBrackets: true };
  readonly #ctx: ConnectionContext;
  readonly #o: Required<Omit<IbkrAdapterOptions, 'tls'>>;
  readonly #gw: GatewayClient;
  readonly #session: GatewaySession;
  readonly #book: IbkrOrderBook;
  readonly #reports: ReportPoller;
  /** Contract ids by symbol, cached for the adapter's life. */
  readonly #conids = new Map<string, number>();
  /** Acks of orders this adapter placed, by client order id (idempotent placement). */
  readonly #placed = new Map<string, PlaceOrderAck>();
  #connected = false;
  #cancelRejects = 0;

  constructor(ctx: ConnectionContext, opts: IbkrAdapterOptions = {}) {
    this.#ctx = ctx;
    this.#o = {
      tickleIntervalMs: opts.tickleIntervalMs ?? 55_000,
      pollIntervalMs: opts.pollIntervalMs ?? 5_000,
      maxReplies: opts.maxReplies ?? 5,
      tradeDays: opts.tradeDays ?? 7,
    };
    this.#gw = new GatewayClient(
      ctx,
      opts.tls ?? ctx.endpoints.tls ?? {},
      (reason) => this.#session.markLapsed(reason),
      () => this.#session.accountsStale(),
    );
    this.#session = new GatewaySession(this.#gw, {
      // A gateway link made without an account id is `pending:<connection id>` until it settles.
      accountId: ctx.accountRef && !ctx.accountRef.startsWith('pending:') ? ctx.accountRef : null,
      tickleIntervalMs: this.#o.tickleIntervalMs,
      log: ctx.log,
    });
    this.#book = new IbkrOrderBook(this.#gw, {
      account: () => this.#session.accountId,
      tradeDays: this.#o.tradeDays,
      now: () => this.#now(),
    });
    this.#reports = new ReportPoller({
      book: this.#book,
      session: this.#session,
      intervalMs: this.#o.pollIntervalMs,
      log: ctx.log,
    });
    this.#session.onReconnect(() => void this.#reports.poll());
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  async connect(): Promise<void> {
    if (this.#connected) return;
    this.#connected = true;
    this.#session.start();
    this.#reports.start();
    await this.#session.ensure('connect');
  }

  onReconnect(listener: () => void): () => void {
    return this.#session.onReconnect(listener);
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    return this.#reports.onExecutionReport(listener);
  }

  close(): void {
    this.#reports.stop();
    this.#session.stop();
    this.#gw.close();
  }

  /** Whether the gateway session is known to be down (for health and tests). */
  get sessionLapsed(): boolean {
    return this.#session.lapsed;
  }

  // -------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------

  async placeOrder(req: BrokerOrderRequest): Promise<PlaceOrderAck> {
    const known = this.#placed.get(req.clientOrderId);
    if (known) return known;
    await this.#session.ensure('placeOrder');
    const conid = await this.#conidOf(req.symbol, 'placeOrder');
    const body = { orders: tickets(req, conid) };
    let answer: OrderSubmitResponse;
    try {
      answer = await this.#gw.request({
        operation: 'placeOrder',
        kind: 'write',
        method: 'POST',
        path: `/iserver/account/${encodeURIComponent(this.#session.accountId)}/orders`,
        body,
        schema: orderSubmitResponse,
      });
    } catch (err) {
      // 400 `{ error }`: the gateway refused the ticket (a duplicate cOID, a bad price …).
      if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.INVALID_REQUEST)
        return this.#refused(req, String(err.context.brokerMessage ?? err.message));
      throw err;
    }
    for (let replies = 0; ; replies++) {
      if (!Array.isArray(answer)) return this.#refused(req, answer.error);
      const question = answer.map((a) => orderQuestion.safeParse(a)).find((q) => q.success)?.data;
      if (!question) break;
      if (replies >= this.#o.maxReplies)
        throw new BrokerError(
          BrokerErrorCode.REJECTED,
          `ibkr: order not confirmed after ${replies} questions: ${question.message.join(' ')}`,
          { operation: 'placeOrder', broker: BROKER, retryable: false },
        );
      // The gateway asks before it submits (price far from the market, no market data, size
      // warnings …): our risk governor has already judged the order, so each is confirmed.
      this.#ctx.log.info({ messageIds: question.messageIds ?? [] }, 'ibkr order question confirmed');
      answer = await this.#gw.request({
        operation: 'placeOrder',
        kind: 'write',
        method: 'POST',
        path: `/iserver/reply/${encodeURIComponent(question.id)}`,
        body: { confirmed: true },
        schema: orderSubmitResponse,
      });
    }
    const first = answer.map((a) => orderSubmitted.safeParse(a)).find((x) => x.success)?.data;
    if (!first) throw protocolError('placeOrder', 'order submission answered without an order id');
    if (req.bracket) this.#book.rememberBracket(req);
    const status =
      first.order_status === undefined
        ? 'pending_new'
        : statusOf({
            orderId: first.order_id,
            status: first.order_status,
            side: req.side,
            totalSize: req.quantity,
            filledQuantity: '0',
          });
    const ack: PlaceOrderAck = { clientOrderId: req.clientOrderId, brokerOrderId: first.order_id, status };
    this.#placed.set(req.clientOrderId, ack);
    return ack;
  }

  /** `{ error }` in answer to a submission: a duplicate cOID is a retry; anything else refuses. */
  async #refused(req: BrokerOrderRequest, message: string): Promise<PlaceOrderAck> {
    if (/already (been )?(registered|submitted|exists|in use)|duplicate/i.test(message)) {
      const known = await this.getOrderByClientId(req.clientOrderId);
      if (known) {
        if (req.bracket) this.#book.rememberBracket(req);
        const ack = {
          clientOrderId: req.clientOrderId,
          brokerOrderId: known.brokerOrderId,
          status: known.status,
        };
        this.#placed.set(req.clientOrderId, ack);
        return ack;
      }
    }
    throw new BrokerError(BrokerErrorCode.REJECTED, `ibkr: ${message}`, {
      operation: 'placeOrder',
      broker: BROKER,
      retryable: false,
      context: { brokerMessage: message },
    });
  }

  async cancelOrder(clientOrderId: string): Promise<void> {
    await this.#session.ensure('cancelOrder');
    const snap = await this.#book.snapshot('cancelOrder', false);
    const o = this.#book.find(snap, clientOrderId);
    if (!o)
      throw new BrokerError(BrokerErrorCode.NOT_FOUND, `ibkr: no order ${clientOrderId}`, {
        operation: 'cancelOrder',
        broker: BROKER,
      });
    const refuse = (reason: string) => {
      const view = this.#book.view(o, snap);
      this.#reports.deliver({
        kind: 'cancel_rejected',
        executionId: `${o.orderId}-CR${++this.#cancelRejects}`,
        clientOrderId,
        brokerOrderId: o.orderId,
        symbol: view.symbol,
        side: view.side,
        tsEvent: this.#now(),
        cumQty: view.filledQuantity,
        leavesQty: decStr(dec(view.quantity).minus(dec(view.filledQuantity))),
        avgPx: view.avgFillPrice,
        reason,
      });
    };
    if (!isOpen(statusOf(o))) return refuse(`order is ${statusOf(o)}`);
    let answer: Awaited<ReturnType<typeof cancelResponse.parse>>;
    try {
      answer = await this.#gw.request({
        operation: 'cancelOrder',
        kind: 'write',
        method: 'DELETE',
        path: `/iserver/account/${encodeURIComponent(this.#session.accountId)}/order/${encodeURIComponent(o.orderId)}`,
        schema: cancelResponse,
      });
    } catch (err) {
      // 400/404: the gateway will not cancel it (already done): a cancel reject, not a failure.
      if (
        err instanceof BrokerError &&
        (err.brokerCode === BrokerErrorCode.INVALID_REQUEST || err.brokerCode === BrokerErrorCode.NOT_FOUND)
      )
        return refuse(String(err.context.brokerMessage ?? err.message));
      throw err;
    }
    const refusal = gatewayError.safeParse(answer);
    if (refusal.success) return refuse(refusal.data.error);
    // The outcome (`cancelled`) arrives with the next poll.
    void this.#reports.poll();
  }

  async getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null> {
    await this.#session.ensure('getOrderByClientId');
    const snap = await this.#book.snapshot('getOrderByClientId', false);
    const o = this.#book.find(snap, clientOrderId);
    return o ? this.#book.view(o, snap) : null;
  }

  async getExecutions(clientOrderId: string): Promise<ExecutionReport[]> {
    await this.#session.ensure('getExecutions');
    const snap = await this.#book.snapshot('getExecutions', true);
    const o = this.#book.find(snap, clientOrderId);
    return o ? this.#book.reports(o, snap) : [];
  }

  async listOpenOrders(): Promise<BrokerOrder[]> {
    await this.#session.ensure('listOpenOrders');
    const snap = await this.#book.snapshot('listOpenOrders', false);
    return snap.orders
      .filter((o) => o.order_ref !== undefined && isOpen(statusOf(o)))
      .map((o) => this.#book.view(o, snap));
  }

  async listPositions(): Promise<BrokerPosition[]> {
    await this.#session.ensure('listPositions');
    const rows = await this.#gw.request({
      operation: 'listPositions',
      kind: 'read',
      method: 'GET',
      path: `/portfolio/${encodeURIComponent(this.#session.accountId)}/positions/0`,
      schema: portfolioPositions,
    });
    return rows
      .filter((p) => p.position !== 0)
      .map((p) => ({
        symbol: this.#book.symbolOfConid(p.conid) ?? p.ticker ?? p.contractDesc ?? p.conid,
        quantity: decStr(dec(String(p.position))),
        avgCost: decStr(dec(String(p.avgPrice ?? p.avgCost ?? 0))),
      }));
  }

  async getAccount(): Promise<BrokerAccount> {
    await this.#session.ensure('getAccount');
    const s = await this.#gw.request({
      operation: 'getAccount',
      kind: 'read',
      method: 'GET',
      path: `/portfolio/${encodeURIComponent(this.#session.accountId)}/summary`,
      schema: portfolioSummary,
    });
    const amount = (v: { amount?: number | null }, field: string) => {
      if (typeof v.amount !== 'number')
        throw protocolError('getAccount', `portfolio summary has no ${field} amount`);
      return decStr(dec(String(v.amount)));
    };
    return {
      accountId: this.#session.accountId,
      currency: s.netliquidation.currency ?? s.totalcashvalue.currency ?? 'USD',
      cash: amount(s.totalcashvalue, 'totalcashvalue'),
      buyingPower: amount(s.buyingpower, 'buyingpower'),
      equity: amount(s.netliquidation, 'netliquidation'),
      brokerStatus: s.accountready?.value ?? null,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------------

  /** Contract id of a symbol (US stock first), cached for the adapter's life. */
  async #conidOf(symbol: string, operation: string): Promise<number> {
    const cached = this.#conids.get(symbol);
    if (cached !== undefined) return cached;
    const rows = await this.#gw.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: '/iserver/secdef/search',
      query: { symbol },
      schema: secdefSearch,
    });
    if (!Array.isArray(rows))
      throw new BrokerError(
        BrokerErrorCode.REJECTED,
        `ibkr: no contract found for ${symbol}: ${rows.error}`,
        {
          operation,
          broker: BROKER,
          retryable: false,
        },
      );
    const pick =
      rows.find((r) => r.symbol === symbol && r.sections?.some((s) => s.secType === 'STK')) ??
      rows.find((r) => r.symbol === symbol) ??
      rows[0];
    if (!pick)
      throw new BrokerError(BrokerErrorCode.REJECTED, `ibkr: no contract found for ${symbol}`, {
        operation,
        broker: BROKER,
        retryable: false,
      });
    const conid = Number(pick.conid);
    this.#conids.set(symbol, conid);
    this.#book.noteSymbol(conid, symbol);
    return conid;
  }

  #now(): Date {
    return this.#ctx.clock?.() ?? new Date();
  }
}
