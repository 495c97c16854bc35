import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BrokerAccount,
  type BrokerAdapter,
  BrokerError,
  BrokerErrorCode,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerPosition,
  type ExecutionReport,
  type ExecutionReportListener,
  type PlaceOrderAck,
} from '../../../src/brokers/types.ts';
import type { AdapterFactory, ConnectionContext } from '../../../src/execution/types.ts';

/**
 * A broker double for the dispatcher tests: a real local HTTP server (its own small REST
 * protocol, documented here) that outlives the server processes placing orders through it, so
 * the tests can count what reached "the broker" across a dispatcher's death.
 *
 *   POST   /v1/orders                       place (idempotent on client_order_id; every call counted)
 *   GET    /v1/orders/:clientOrderId        the order, or 404
 *   DELETE /v1/orders/:clientOrderId        cancel a working order (404 unknown)
 *   GET    /v1/orders/:clientOrderId/executions   its execution reports, in order
 *   GET    /v1/orders?status=open           working orders
 *   GET    /v1/positions, GET /v1/account
 *   GET    /v1/events?after=<seq>           reports after a sequence number (the adapter polls)
 * Market orders fill at once at the symbol's price; limit orders rest until cancelled. While
 * `down` every call answers 503. Requests must carry `authorization: Bearer <token>`.
 */
interface DoubleOrder {
  clientOrderId: string;
  brokerOrderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  orderType: BrokerOrder['orderType'];
  timeInForce: BrokerOrder['timeInForce'];
  quantity: string;
  limitPrice: string | null;
  status: BrokerOrder['status'];
  filledQuantity: string;
  avgFillPrice: string | null;
}
interface Wire<T> {
  seq: number;
  report: T;
}
type WireReport = Omit<ExecutionReport, 'tsEvent'> & { tsEvent: string };

export interface BrokerDouble {
  readonly url: string;
  /** POST /v1/orders calls per client order id (what the dispatchers sent). */
  readonly placeCalls: Map<string, number>;
  readonly cancelCalls: Map<string, number>;
  readonly orders: Map<string, DoubleOrder>;
  down: boolean;
  /** Delay before answering a placement (a kill can land while it is in flight). */
  placeDelayMs: number;
  setPrice(symbol: string, price: string): void;
  close(): Promise<void>;
}

export async function startBrokerDouble(): Promise<BrokerDouble> {
  const orders = new Map<string, DoubleOrder>();
  const events: Wire<WireReport>[] = [];
  const prices = new Map<string, string>();
  const placeCalls = new Map<string, number>();
  const cancelCalls = new Map<string, number>();
  const positions = new Map<string, number>();
  let seq = 0;
  let brokerSeq = 0;
  const emit = (o: DoubleOrder, kind: ExecutionReport['kind'], extra: Partial<WireReport> = {}) => {
    seq++;
    events.push({
      seq,
      report: {
        kind,
        executionId: `X${seq}`,
        clientOrderId: o.clientOrderId,
        brokerOrderId: o.brokerOrderId,
        symbol: o.symbol,
        side: o.side,
        tsEvent: new Date().toISOString(),
        cumQty: o.filledQuantity,
        leavesQty: String(Number(o.quantity) - Number(o.filledQuantity)),
        avgPx: o.avgFillPrice,
        ...extra,
      },
    });
  };
  const self: BrokerDouble = {
    url: '',
    placeCalls,
    cancelCalls,
    orders,
    down: false,
    placeDelayMs: 0,
    setPrice: (s, p) => prices.set(s, p),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const view = (o: DoubleOrder) => o;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (self.down) return send(503, { code: 'unavailable', message: 'maintenance' });
    if (req.headers.authorization !== 'Bearer test-token')
      return send(401, { code: 'unauthorized', message: 'bad token' });
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean);
    let body: Record<string, string> = {};
    if (req.method === 'POST') {
      let raw = '';
      for await (const c of req) raw += c;
      body = JSON.parse(raw || '{}');
    }
    if (req.method === 'POST' && url.pathname === '/v1/orders') {
      const id = body.client_order_id!;
      placeCalls.set(id, (placeCalls.get(id) ?? 0) + 1);
      if (self.placeDelayMs > 0) await new Promise((r) => setTimeout(r, self.placeDelayMs));
      const existing = orders.get(id);
      if (existing) return send(200, view(existing));
      const o: DoubleOrder = {
        clientOrderId: id,
        brokerOrderId: `B${++brokerSeq}`,
        symbol: body.symbol!,
        side: body.side as 'buy' | 'sell',
        orderType: body.type as DoubleOrder['orderType'],
        timeInForce: body.time_in_force as DoubleOrder['timeInForce'],
        quantity: body.qty!,
        limitPrice: body.limit_price ?? null,
        status: 'new',
        filledQuantity: '0',
        avgFillPrice: null,
      };
      orders.set(id, o);
      emit(o, 'accepted');
      const px = prices.get(o.symbol);
      if (o.orderType === 'market' && px) {
        o.status = 'filled';
        o.filledQuantity = o.quantity;
        o.avgFillPrice = px;
        const signed = (o.side === 'buy' ? 1 : -1) * Number(o.quantity);
        positions.set(o.symbol, (positions.get(o.symbol) ?? 0) + signed);
        emit(o, 'fill', { lastQty: o.quantity, lastPx: px, fee: '0', liquidity: 'taker' });
      }
      return send(200, view(o));
    }
    if (req.method === 'GET' && url.pathname === '/v1/orders')
      return send(
        200,
        [...orders.values()].filter((o) => o.status === 'new' || o.status === 'partially_filled'),
      );
    if (req.method === 'GET' && url.pathname === '/v1/positions')
      return send(
        200,
        [...positions]
          .filter(([, q]) => q !== 0)
          .map(([symbol, q]) => ({ symbol, quantity: String(q), avgCost: '0' })),
      );
    if (req.method === 'GET' && url.pathname === '/v1/account')
      return send(200, {
        id: 'ACC1',
        currency: 'USD',
        cash: '100000',
        buying_power: '100000',
        equity: '100000',
      });
    if (req.method === 'GET' && url.pathname === '/v1/events') {
      const after = Number(url.searchParams.get('after') ?? '0');
      return send(
        200,
        events.filter((e) => e.seq > after),
      );
    }
    if (parts[0] === 'v1' && parts[1] === 'orders' && parts[2]) {
      const o = orders.get(decodeURIComponent(parts[2]));
      if (req.method === 'DELETE') {
        cancelCalls.set(parts[2], (cancelCalls.get(parts[2]) ?? 0) + 1);
        if (!o) return send(404, { code: 'not_found', message: 'no such order' });
        if (o.status === 'new' || o.status === 'partially_filled') {
          o.status = 'cancelled';
          emit(o, 'cancelled');
        }
        return send(204);
      }
      if (!o) return send(404, { code: 'not_found', message: 'no such order' });
      if (parts[3] === 'executions')
        return send(
          200,
          events.filter((e) => e.report.clientOrderId === o.clientOrderId).map((e) => e.report),
        );
      return send(200, view(o));
    }
    send(404, { code: 'not_found', message: 'no route' });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(self, { url: `http://127.0.0.1:${port}` });
}

const toReport = (w: WireReport): ExecutionReport => ({ ...w, tsEvent: new Date(w.tsEvent) });

/**
 * The adapter speaking the double's protocol, built from a ConnectionContext like every live
 * adapter: its base URL from the endpoints, its token from the credential source, every call
 * through the connection's call policy (timeouts, read retries, the circuit breaker).
 */
export class BrokerDoubleAdapter implements BrokerAdapter {
  readonly name: string;
  readonly capabilities = { nativeBrackets: false };
  readonly #ctx: ConnectionContext;
  readonly #listeners = new Set<ExecutionReportListener>();
  #after = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(ctx: ConnectionContext) {
    this.#ctx = ctx;
    this.name = ctx.provider;
  }

  async #call<T>(operation: string, kind: 'read' | 'write', method: string, path: string, body?: unknown) {
    return this.#ctx.policy.call(operation, kind, async (signal) => {
      const token = await this.#ctx.credentials.accessToken();
      const res = await fetch(`${this.#ctx.endpoints.apiBaseUrl}${path}`, {
        method,
        signal,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (res.status === 404) return null as T;
      if (!res.ok) {
        const code =
          res.status >= 500
            ? BrokerErrorCode.UNAVAILABLE
            : res.status === 401
              ? BrokerErrorCode.AUTH
              : res.status === 422
                ? BrokerErrorCode.REJECTED
                : BrokerErrorCode.INVALID_REQUEST;
        throw new BrokerError(code, `double answered ${res.status}`, { context: { httpStatus: res.status } });
      }
      return (text ? JSON.parse(text) : null) as T;
    });
  }

  async placeOrder(req: BrokerOrderRequest): Promise<PlaceOrderAck> {
    const o = await this.#call<DoubleOrder>('placeOrder', 'write', 'POST', '/v1/orders', {
      client_order_id: req.clientOrderId,
      symbol: req.symbol,
      side: req.side,
      type: req.orderType,
      time_in_force: req.timeInForce,
      qty: req.quantity,
      ...(req.limitPrice && { limit_price: req.limitPrice }),
    });
    return { clientOrderId: o.clientOrderId, brokerOrderId: o.brokerOrderId, status: o.status };
  }

  async cancelOrder(clientOrderId: string): Promise<void> {
    const r = await this.#call<unknown>(
      'cancelOrder',
      'write',
      'DELETE',
      `/v1/orders/${encodeURIComponent(clientOrderId)}`,
    );
    if (r === null)
      throw new BrokerError(BrokerErrorCode.NOT_FOUND, 'no such order', { operation: 'cancelOrder' });
  }

  async getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null> {
    const o = await this.#call<DoubleOrder | null>(
      'getOrder',
      'read',
      'GET',
      `/v1/orders/${encodeURIComponent(clientOrderId)}`,
    );
    return o ? { ...o, rejectReason: null } : null;
  }

  async getExecutions(clientOrderId: string): Promise<ExecutionReport[]> {
    const r = await this.#call<WireReport[] | null>(
      'getExecutions',
      'read',
      'GET',
      `/v1/orders/${encodeURIComponent(clientOrderId)}/executions`,
    );
    return (r ?? []).map(toReport);
  }

  async listOpenOrders(): Promise<BrokerOrder[]> {
    const r = await this.#call<DoubleOrder[]>('listOpenOrders', 'read', 'GET', '/v1/orders?status=open');
    return r.map((o) => ({ ...o, rejectReason: null }));
  }

  async listPositions(): Promise<BrokerPosition[]> {
    return this.#call<BrokerPosition[]>('listPositions', 'read', 'GET', '/v1/positions');
  }

  async getAccount(): Promise<BrokerAccount> {
    const a = await this.#call<Record<string, string>>('getAccount', 'read', 'GET', '/v1/account');
    return {
      accountId: a.id!,
      currency: a.currency!,
      cash: a.cash!,
      buyingPower: a.buying_power!,
      equity: a.equity!,
      brokerStatus: 'ACTIVE',
    };
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Polls the report feed from its start (reports are idempotent by execution id). */
  async connect(): Promise<void> {
    if (this.#timer || this.#closed) return;
    const poll = async () => {
      try {
        const events = await fetch(`${this.#ctx.endpoints.apiBaseUrl}/v1/events?after=${this.#after}`, {
          headers: { authorization: `Bearer ${await this.#ctx.credentials.accessToken()}` },
        });
        if (events.ok) {
          for (const e of (await events.json()) as Wire<WireReport>[]) {
            this.#after = Math.max(this.#after, e.seq);
            for (const l of this.#listeners) l(toReport(e.report));
          }
        }
      } catch {
        // The next poll retries.
      }
      if (!this.#closed) this.#timer = setTimeout(() => void poll(), 50);
    };
    this.#timer = setTimeout(() => void poll(), 0);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#listeners.clear();
  }
}

export const brokerDoubleFactory: AdapterFactory = (ctx) => new BrokerDoubleAdapter(ctx);

/** Resolvers for the double: its URL as the endpoint, a fixed token as the credential. */
export const brokerDoubleResolvers = (apiBaseUrl: string) => ({
  credentialsFor: () => ({
    accessToken: async () => 'test-token',
    refreshAccessToken: async () => 'test-token',
    apiKey: async () => ({ apiKey: 'k', apiSecret: 's' }),
  }),
  endpointsFor: () => ({ apiBaseUrl }),
});
