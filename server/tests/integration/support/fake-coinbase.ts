/**
 * A local Coinbase Advanced Trade API for tests: a real HTTP server and a real WebSocket server
 * speaking the documented v3 brokerage requests and responses and the `user` channel, so the
 * adapter under test is the production code over real sockets.
 *
 * ```ts
 * const cb = await startFakeCoinbase({ keys: { [keyName]: publicKeyPem }, tokens: ['tok-2'] });
 * cb.url / cb.streamUrl            // ProviderEndpoints.apiBaseUrl / streamUrl
 * cb.setPrice('BTC-USD', '50000')  // market orders fill at it; resting limits fill when it crosses
 * cb.fill(clientOrderId, '0.2')    // a partial fill of 0.2 at the current price (or `price`)
 * cb.fail({ path: '/api/v3/brokerage/accounts', status: 429 })   // the next matching call fails
 * cb.fail({ path: '/api/v3/brokerage/orders', delayMs: 1_000 })  // processed, answered late
 * cb.rejectNext('INSUFFICIENT_FUND')                            // next Create Order: success:false
 * cb.dropStreams() / cb.muteStream(true)                        // a lost connection / lost messages
 * cb.hideNewFills() / cb.showFills()                            // List Fills lagging the order status
 * ```
 *
 * Endpoints: GET /api/v3/brokerage/accounts (limit, cursor, retail_portfolio_id), GET
 * /api/v3/brokerage/portfolios/{uuid} (breakdown), POST /api/v3/brokerage/orders (client_order_id
 * deduplicated: a known one returns the existing order, as Coinbase does), POST
 * /api/v3/brokerage/orders/batch_cancel, GET /api/v3/brokerage/orders/historical/{order_id},
 * GET /api/v3/brokerage/orders/historical/batch (order_status, limit, cursor; newest first), GET
 * /api/v3/brokerage/orders/historical/fills (order_ids, limit, cursor).
 *
 * Auth: `Authorization: Bearer <token>`. A JWT is verified as CDP does it: `kid` names a key in
 * `keys`, the ES256/EdDSA signature checks with its public key, `iss` "cdp", `sub` = `kid`,
 * `nbf`/`exp` bracket now, and `uri` = "<METHOD> <Host header><path>". Anything else must be one
 * of `tokens` (OAuth access tokens). 401 `{error:"UNAUTHENTICATED"}` otherwise. The WebSocket
 * accepts `{type:"subscribe",channel:"user"|"heartbeats",jwt}` with a valid JWT (no `uri`).
 *
 * One file: the fake speaks the whole Coinbase protocol (JWT-checked REST, the user channel, order
 * and balance bookkeeping), which share one state; its HTTP plumbing is in fake-http.ts.
 */
import { createPublicKey, type KeyObject, randomUUID, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  type FaultRule as BaseFaultRule,
  closeServer,
  Faults,
  listenLoopback,
  readBody,
} from './fake-http.ts';

export interface FakeCoinbaseOptions {
  /** CDP key name → public key (PEM or KeyObject). */
  readonly keys?: Readonly<Record<string, string | KeyObject>>;
  /** OAuth access tokens accepted as bearer tokens. */
  readonly tokens?: readonly string[];
  readonly cash?: string;
  /** Taker fee rate charged per fill (commission = size × price × rate). Default 0.006. */
  readonly feeRate?: string;
}

/** A scripted fault; with `delayMs` the request is processed, then answered this late (a lost response). */
export type FaultRule = BaseFaultRule;

export interface FakeCbOrder {
  order_id: string;
  client_order_id: string;
  product_id: string;
  side: 'BUY' | 'SELL';
  status: string;
  order_configuration: Record<string, Record<string, unknown>>;
  kind: 'market' | 'limit' | 'stop_limit';
  size: Dec;
  limit: Dec | null;
  filled: Dec;
  notional: Dec;
  fees: Dec;
  fills: number;
  created_time: string;
  last_fill_time: string | null;
  cancel_message: string;
  reject_reason: string;
  reject_message: string;
  time_in_force: string;
}

export interface FakeCbFill {
  entry_id: string;
  trade_id: string;
  order_id: string;
  trade_time: string;
  trade_type: string;
  price: string;
  size: string;
  commission: string;
  product_id: string;
  sequence_timestamp: string;
  liquidity_indicator: string;
  size_in_quote: boolean;
  user_id: string;
  side: 'BUY' | 'SELL';
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly auth: 'jwt' | 'bearer' | 'refused';
  readonly body: unknown;
}

export interface FakeCoinbase {
  readonly url: string;
  readonly streamUrl: string;
  readonly portfolioId: string;
  readonly requests: RecordedRequest[];
  readonly orders: Map<string, FakeCbOrder>;
  readonly fills: FakeCbFill[];
  /** Orders actually created (a deduplicated retry creates none). */
  readonly created: number;
  /** Subscriptions accepted on the user channel so far. */
  readonly subscriptions: number;
  setPrice(product: string, price: string): void;
  setBalance(currency: string, amount: string): void;
  fill(clientOrderId: string, size: string, price?: string): void;
  /** Ends an order as Coinbase would on its own (EXPIRED, or CANCELLED by the exchange). */
  end(clientOrderId: string, status: 'EXPIRED' | 'CANCELLED'): void;
  fail(rule: FaultRule): void;
  rejectNext(reason: string, message?: string): void;
  dropStreams(): void;
  muteStream(muted: boolean): void;
  /** List Fills shows only the fills made so far (a lagging fills index) until `showFills()`. */
  hideNewFills(): void;
  showFills(): void;
  close(): Promise<void>;
}

const API = '/api/v3/brokerage';
const USER_ID = '3333-333333-3333333';

export async function startFakeCoinbase(opts: FakeCoinbaseOptions = {}): Promise<FakeCoinbase> {
  const keys = new Map<string, KeyObject>();
  for (const [name, k] of Object.entries(opts.keys ?? {}))
    keys.set(name, typeof k === 'string' ? createPublicKey(k) : k);
  const tokens = new Set(opts.tokens ?? []);
  const feeRate = dec(opts.feeRate ?? '0.006');
  const portfolioId = randomUUID();
  const accountIds = new Map<string, string>();
  const balances = new Map<string, Dec>([['USD', dec(opts.cash ?? '100000')]]);
  const cost = new Map<string, { qty: Dec; cost: Dec }>();
  const orders = new Map<string, FakeCbOrder>();
  const byClientId = new Map<string, FakeCbOrder>();
  const fills: FakeCbFill[] = [];
  const prices = new Map<string, Dec>();
  const requests: RecordedRequest[] = [];
  const faults = new Faults();
  const rejects: { reason: string; message: string }[] = [];
  const sockets = new Set<WebSocket>();
  let created = 0;
  let subscriptions = 0;
  let muted = false;
  let visibleFills: number | null = null;
  let tradeSeq = 0;
  let seq = 0;

  const now = () => new Date().toISOString();
  const accountId = (cur: string) => {
    let id = accountIds.get(cur);
    if (!id) {
      id = randomUUID();
      accountIds.set(cur, id);
    }
    return id;
  };
  const [baseOf, quoteOf] = [
    (p: string) => p.split('-')[0] as string,
    (p: string) => p.split('-')[1] ?? 'USD',
  ];
  const isOpen = (o: FakeCbOrder) => o.status === 'OPEN' || o.status === 'PENDING';

  // -------------------------------------------------------------------------------------------
  // Auth
  // -------------------------------------------------------------------------------------------

  function verifyJwt(token: string, uri: string | null): boolean {
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    try {
      const [h, c, s] = parts as [string, string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
      const key = keys.get(header.kid);
      if (!key || typeof header.nonce !== 'string' || header.nonce.length === 0) return false;
      const input = Buffer.from(`${h}.${c}`);
      const sig = Buffer.from(s, 'base64url');
      const ok =
        header.alg === 'ES256'
          ? verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig)
          : header.alg === 'EdDSA'
            ? verify(null, input, key, sig)
            : false;
      const t = Math.floor(Date.now() / 1000);
      return (
        ok &&
        claims.iss === 'cdp' &&
        claims.sub === header.kid &&
        typeof claims.nbf === 'number' &&
        claims.nbf <= t + 5 &&
        typeof claims.exp === 'number' &&
        claims.exp > t &&
        claims.exp - claims.nbf <= 120 &&
        (uri === null ? true : claims.uri === uri)
      );
    } catch {
      return false;
    }
  }

  function authenticate(req: IncomingMessage, path: string): 'jwt' | 'bearer' | 'refused' {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return 'refused';
    const token = m[1] as string;
    if (token.split('.').length === 3 && verifyJwt(token, `${req.method} ${req.headers.host}${path}`))
      return 'jwt';
    return tokens.has(token) ? 'bearer' : 'refused';
  }

  // -------------------------------------------------------------------------------------------
  // Exchange
  // -------------------------------------------------------------------------------------------

  function held(cur: string): Dec {
    let h = ZERO;
    for (const o of orders.values()) {
      if (!isOpen(o) || o.kind === 'market') continue;
      const left = o.size.minus(o.filled);
      if (o.side === 'BUY' && quoteOf(o.product_id) === cur) h = h.plus(left.times(o.limit ?? ZERO));
      if (o.side === 'SELL' && baseOf(o.product_id) === cur) h = h.plus(left);
    }
    return h;
  }

  function publicOrder(o: FakeCbOrder) {
    return {
      order_id: o.order_id,
      product_id: o.product_id,
      user_id: USER_ID,
      order_configuration: o.order_configuration,
      side: o.side,
      client_order_id: o.client_order_id,
      status: o.status,
      time_in_force: o.time_in_force,
      created_time: o.created_time,
      completion_percentage: decStr(
        o.size.isZero() ? ZERO : o.filled.div(o.size).times(100).toDecimalPlaces(2),
      ),
      filled_size: decStr(o.filled),
      average_filled_price: o.filled.gt(0) ? decStr(o.notional.div(o.filled).toDecimalPlaces(8)) : '0',
      fee: '',
      number_of_fills: String(o.fills),
      filled_value: decStr(o.notional),
      pending_cancel: false,
      size_in_quote: false,
      total_fees: decStr(o.fees),
      size_inclusive_of_fees: false,
      total_value_after_fees: decStr(o.side === 'BUY' ? o.notional.plus(o.fees) : o.notional.minus(o.fees)),
      trigger_status: 'INVALID_ORDER_TYPE',
      order_type: o.kind.toUpperCase(),
      reject_reason: o.reject_reason,
      settled: o.status === 'FILLED',
      product_type: 'SPOT',
      reject_message: o.reject_message,
      cancel_message: o.cancel_message,
      order_placement_source: 'RETAIL_ADVANCED',
      outstanding_hold_amount: '0',
      is_liquidation: false,
      last_fill_time: o.last_fill_time,
      leverage: '',
      margin_type: '',
      retail_portfolio_id: portfolioId,
    };
  }

  function streamOrder(o: FakeCbOrder) {
    return {
      avg_price: o.filled.gt(0) ? decStr(o.notional.div(o.filled).toDecimalPlaces(8)) : '0',
      cancel_reason: o.status === 'CANCELLED' ? o.cancel_message : '',
      client_order_id: o.client_order_id,
      completion_percentage: '0',
      contract_expiry_type: 'UNKNOWN_CONTRACT_EXPIRY_TYPE',
      cumulative_quantity: decStr(o.filled),
      filled_value: decStr(o.notional),
      leaves_quantity: decStr(isOpen(o) ? o.size.minus(o.filled) : ZERO),
      limit_price: o.limit ? decStr(o.limit) : '0',
      number_of_fills: String(o.fills),
      order_id: o.order_id,
      order_side: o.side,
      order_type: o.kind === 'market' ? 'Market' : o.kind === 'limit' ? 'Limit' : 'StopLimit',
      outstanding_hold_amount: '0',
      post_only: 'false',
      product_id: o.product_id,
      product_type: 'SPOT',
      reject_reason: o.reject_reason,
      retail_portfolio_id: portfolioId,
      risk_managed_by: 'UNKNOWN_RISK_MANAGEMENT_TYPE',
      status: o.status,
      stop_price: '0',
      time_in_force: o.time_in_force,
      total_fees: decStr(o.fees),
      total_value_after_fees: decStr(o.notional),
      trigger_status: 'INVALID_ORDER_TYPE',
      creation_time: o.created_time,
      end_time: '0001-01-01T00:00:00Z',
      start_time: '0001-01-01T00:00:00Z',
    };
  }

  function push(type: 'snapshot' | 'update', list: FakeCbOrder[], only?: WebSocket): void {
    if (muted && type === 'update') return;
    for (const ws of only ? [only] : sockets) {
      if ((ws as WebSocket & { user?: boolean }).user !== true) continue;
      ws.send(
        JSON.stringify({
          channel: 'user',
          client_id: '',
          timestamp: now(),
          sequence_num: seq++,
          events: [{ type, orders: list.map(streamOrder), positions: { perpetual_futures_positions: [] } }],
        }),
      );
    }
  }

  function applyFill(o: FakeCbOrder, size: Dec, price: Dec, liquidity: 'MAKER' | 'TAKER'): void {
    const base = baseOf(o.product_id);
    const quote = quoteOf(o.product_id);
    const notional = size.times(price);
    const commission = notional.times(feeRate).toDecimalPlaces(8);
    const sign = o.side === 'BUY' ? 1 : -1;
    balances.set(base, (balances.get(base) ?? ZERO).plus(size.times(sign)));
    balances.set(quote, (balances.get(quote) ?? ZERO).minus(notional.times(sign)).minus(commission));
    const c = cost.get(base) ?? { qty: ZERO, cost: ZERO };
    if (o.side === 'BUY') cost.set(base, { qty: c.qty.plus(size), cost: c.cost.plus(notional) });
    else if (c.qty.gt(0))
      cost.set(base, { qty: c.qty.minus(size), cost: c.cost.minus(c.cost.div(c.qty).times(size)) });
    o.filled = o.filled.plus(size);
    o.notional = o.notional.plus(notional);
    o.fees = o.fees.plus(commission);
    o.fills++;
    const t = now();
    o.last_fill_time = t;
    tradeSeq++;
    fills.push({
      entry_id: randomUUID(),
      trade_id: `trade-${String(tradeSeq).padStart(6, '0')}`,
      order_id: o.order_id,
      trade_time: t,
      trade_type: 'FILL',
      price: decStr(price),
      size: decStr(size),
      commission: decStr(commission),
      product_id: o.product_id,
      sequence_timestamp: t,
      liquidity_indicator: liquidity,
      size_in_quote: false,
      user_id: USER_ID,
      side: o.side,
    });
    if (o.filled.gte(o.size)) o.status = 'FILLED';
  }

  function matchResting(product: string): void {
    const px = prices.get(product);
    if (!px) return;
    for (const o of orders.values()) {
      if (o.product_id !== product || o.status !== 'OPEN' || o.kind !== 'limit' || !o.limit) continue;
      const marketable = o.side === 'BUY' ? px.lte(o.limit) : px.gte(o.limit);
      if (!marketable) continue;
      applyFill(o, o.size.minus(o.filled), o.limit, 'MAKER');
      push('update', [o]);
    }
  }

  function createOrder(body: Record<string, unknown>): { status: number; body: unknown } {
    const clientOrderId = String(body.client_order_id ?? '');
    const productId = String(body.product_id ?? '');
    const side = body.side === 'BUY' || body.side === 'SELL' ? body.side : null;
    const cfg = (body.order_configuration ?? {}) as Record<string, Record<string, unknown>>;
    const key = Object.keys(cfg)[0];
    const fail = (error: string, message: string, preview?: string) => ({
      status: 200,
      body: {
        success: false,
        failure_reason: 'UNKNOWN_FAILURE_REASON',
        order_id: '',
        error_response: {
          error,
          message,
          error_details: message,
          ...(preview && { preview_failure_reason: preview }),
          new_order_failure_reason: error,
        },
        order_configuration: cfg,
      },
    });
    if (!clientOrderId || !productId || !side || !key || Object.keys(cfg).length !== 1)
      return {
        status: 400,
        body: { error: 'INVALID_ARGUMENT', code: 3, message: 'invalid order request', details: [] },
      };
    // Coinbase: a client_order_id it already has returns that order instead of creating another.
    const existing = byClientId.get(clientOrderId);
    if (existing)
      return {
        status: 200,
        body: {
          success: true,
          success_response: {
            order_id: existing.order_id,
            product_id: existing.product_id,
            side: existing.side,
            client_order_id: clientOrderId,
          },
          order_configuration: existing.order_configuration,
        },
      };
    const rejected = rejects.shift();
    if (rejected) return fail(rejected.reason, rejected.message, `PREVIEW_${rejected.reason}`);
    const c = cfg[key] as Record<string, unknown>;
    const size = typeof c.base_size === 'string' ? dec(c.base_size) : null;
    if (!size?.gt(0)) return fail('INVALID_SIZE_PRECISION', 'base_size is required');
    const kind = key.startsWith('market') ? 'market' : key.startsWith('stop_limit') ? 'stop_limit' : 'limit';
    const limit = typeof c.limit_price === 'string' ? dec(c.limit_price) : null;
    if (kind !== 'market' && !limit) return fail('INVALID_LIMIT_PRICE', 'limit_price is required');
    const px = prices.get(productId);
    if (kind === 'market' && !px)
      return fail('INVALID_NO_LIQUIDITY', 'no liquidity', 'PREVIEW_INVALID_NO_LIQUIDITY');
    // Funds: a buy needs its notional (and fee) in quote currency, a sell its base size.
    const base = baseOf(productId);
    const quote = quoteOf(productId);
    if (side === 'BUY') {
      const need = size.times(kind === 'market' ? (px as Dec) : (limit as Dec)).times(feeRate.plus(1));
      if ((balances.get(quote) ?? ZERO).minus(held(quote)).lt(need))
        return fail(
          'INSUFFICIENT_FUND',
          'Insufficient balance in source account',
          'PREVIEW_INSUFFICIENT_FUND',
        );
    } else if ((balances.get(base) ?? ZERO).minus(held(base)).lt(size))
      return fail('INSUFFICIENT_FUND', 'Insufficient balance in source account', 'PREVIEW_INSUFFICIENT_FUND');
    created++;
    const o: FakeCbOrder = {
      order_id: randomUUID(),
      client_order_id: clientOrderId,
      product_id: productId,
      side,
      status: 'OPEN',
      order_configuration: cfg,
      kind,
      size,
      limit,
      filled: ZERO,
      notional: ZERO,
      fees: ZERO,
      fills: 0,
      created_time: now(),
      last_fill_time: null,
      cancel_message: '',
      reject_reason: '',
      reject_message: '',
      time_in_force: key.endsWith('gtc')
        ? 'GOOD_UNTIL_CANCELLED'
        : key.endsWith('gtd')
          ? 'GOOD_UNTIL_DATE_TIME'
          : key.endsWith('fok')
            ? 'FILL_OR_KILL'
            : 'IMMEDIATE_OR_CANCEL',
    };
    orders.set(o.order_id, o);
    byClientId.set(clientOrderId, o);
    // Answered first, then the order works (the stream reports it after the response).
    setImmediate(() => {
      push('update', [o]);
      if (kind === 'market' && px) {
        applyFill(o, size, px, 'TAKER');
        push('update', [o]);
      } else matchResting(productId);
    });
    return {
      status: 200,
      body: {
        success: true,
        success_response: {
          order_id: o.order_id,
          product_id: productId,
          side,
          client_order_id: clientOrderId,
        },
        order_configuration: cfg,
      },
    };
  }

  function cancel(ids: string[]) {
    return {
      results: ids.map((id) => {
        const o = orders.get(id);
        if (!o) return { success: false, failure_reason: 'UNKNOWN_CANCEL_ORDER', order_id: id };
        if (!isOpen(o))
          return { success: false, failure_reason: 'COMMANDER_REJECTED_CANCEL_ORDER', order_id: id };
        o.status = 'CANCELLED';
        o.cancel_message = 'User requested cancel';
        setImmediate(() => push('update', [o]));
        return { success: true, failure_reason: 'UNKNOWN_CANCEL_FAILURE_REASON', order_id: id };
      }),
    };
  }

  function page<T>(list: T[], q: URLSearchParams): { items: T[]; has_next: boolean; cursor: string } {
    const limit = Math.max(1, Number(q.get('limit') ?? '100') || 100);
    const start = Number(q.get('cursor') || '0') || 0;
    const items = list.slice(start, start + limit);
    const next = start + limit < list.length;
    return { items, has_next: next, cursor: next ? String(start + limit) : '' };
  }

  function accountsBody(q: URLSearchParams) {
    const pid = q.get('retail_portfolio_id');
    if (pid && pid !== portfolioId) return { accounts: [], has_next: false, cursor: '', size: 0 };
    const list = [...balances.keys()].sort().map((cur) => {
      const h = held(cur);
      const total = balances.get(cur) ?? ZERO;
      return {
        uuid: accountId(cur),
        name: `${cur} Wallet`,
        currency: cur,
        available_balance: { value: decStr(total.minus(h)), currency: cur },
        default: cur === 'USD',
        active: true,
        created_at: '2024-01-01T00:00:00Z',
        updated_at: now(),
        deleted_at: null,
        type: cur === 'USD' ? 'ACCOUNT_TYPE_FIAT' : 'ACCOUNT_TYPE_CRYPTO',
        ready: true,
        hold: { value: decStr(h), currency: cur },
        retail_portfolio_id: portfolioId,
      };
    });
    const p = page(list, q);
    return { accounts: p.items, has_next: p.has_next, cursor: p.cursor, size: p.items.length };
  }

  function breakdownBody() {
    let crypto = ZERO;
    const spot = [...balances.entries()].map(([cur, qty]) => {
      const px = cur === 'USD' ? dec(1) : (prices.get(`${cur}-USD`) ?? ZERO);
      const fiat = qty.times(px);
      if (cur !== 'USD') crypto = crypto.plus(fiat);
      const c = cost.get(cur);
      return {
        asset: cur,
        account_uuid: accountId(cur),
        total_balance_fiat: Number(decStr(fiat)),
        total_balance_crypto: Number(decStr(qty)),
        available_to_trade_fiat: Number(decStr(fiat)),
        allocation: 0,
        cost_basis: { value: c ? decStr(c.cost) : '0', currency: 'USD' },
        asset_img_url: '',
        is_cash: cur === 'USD',
        average_entry_price: {
          value: c?.qty.gt(0) ? decStr(c.cost.div(c.qty).toDecimalPlaces(8)) : '0',
          currency: 'USD',
        },
      };
    });
    const cash = balances.get('USD') ?? ZERO;
    const usd = (v: Dec) => ({ value: decStr(v), currency: 'USD' });
    return {
      breakdown: {
        portfolio: { name: 'Default', uuid: portfolioId, type: 'DEFAULT', deleted: false },
        portfolio_balances: {
          total_balance: usd(cash.plus(crypto)),
          total_futures_balance: usd(ZERO),
          total_cash_equivalent_balance: usd(cash),
          total_crypto_balance: usd(crypto),
        },
        spot_positions: spot,
        perp_positions: [],
        futures_positions: [],
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // HTTP
  // -------------------------------------------------------------------------------------------

  async function route(
    method: string,
    path: string,
    q: URLSearchParams,
    body: unknown,
  ): Promise<{ status: number; body: unknown }> {
    if (method === 'GET' && path === `${API}/accounts`) return { status: 200, body: accountsBody(q) };
    if (method === 'GET' && path === `${API}/portfolios/${portfolioId}`)
      return { status: 200, body: breakdownBody() };
    if (method === 'POST' && path === `${API}/orders`)
      return createOrder((body ?? {}) as Record<string, unknown>);
    if (method === 'POST' && path === `${API}/orders/batch_cancel`) {
      const ids = (body as { order_ids?: unknown })?.order_ids;
      if (!Array.isArray(ids))
        return { status: 400, body: { error: 'INVALID_ARGUMENT', message: 'order_ids required' } };
      return { status: 200, body: cancel(ids.map(String)) };
    }
    if (method === 'GET' && path === `${API}/orders/historical/batch`) {
      const statuses = q.getAll('order_status');
      const list = [...orders.values()]
        .filter((o) => statuses.length === 0 || statuses.includes(o.status))
        .reverse()
        .map(publicOrder);
      const p = page(list, q);
      return {
        status: 200,
        body: { orders: p.items, sequence: '0', has_next: p.has_next, cursor: p.cursor },
      };
    }
    if (method === 'GET' && path === `${API}/orders/historical/fills`) {
      const ids = q.getAll('order_ids');
      const list = fills
        .slice(0, visibleFills ?? fills.length)
        .filter((f) => ids.length === 0 || ids.includes(f.order_id));
      const p = page(list, q);
      return { status: 200, body: { fills: p.items, cursor: p.cursor } };
    }
    const m = /^\/api\/v3\/brokerage\/orders\/historical\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) {
      const o = orders.get(decodeURIComponent(m[1] as string));
      if (!o)
        return {
          status: 404,
          body: { error: 'NOT_FOUND', code: 5, message: 'order not found', details: [] },
        };
      return { status: 200, body: { order: publicOrder(o) } };
    }
    return { status: 404, body: { error: 'NOT_FOUND', code: 5, message: `no route ${method} ${path}` } };
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const text = await readBody(req);
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const auth = authenticate(req, url.pathname);
      requests.push({ method, path: url.pathname, query: url.searchParams, auth, body });
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(payload));
      };
      if (auth === 'refused') {
        send(401, { error: 'UNAUTHENTICATED', code: 16, message: 'Unauthorized', details: [] });
        return;
      }
      const rule = faults.take(method, url.pathname);
      if (rule?.status !== undefined) {
        if (rule.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
        send(rule.status, rule.body ?? defaultErrorBody(rule.status), rule.headers);
        return;
      }
      const out = await route(method, url.pathname, url.searchParams, body);
      if (rule?.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
      send(out.status, out.body, rule?.headers);
    })();
  });

  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws: WebSocket & { user?: boolean }) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (raw) => {
      let msg: { type?: string; channel?: string; jwt?: string };
      try {
        msg = JSON.parse(String(raw));
      } catch {
        return;
      }
      if (msg.type !== 'subscribe' || !msg.channel) return;
      if (msg.channel === 'user' && !verifyJwt(msg.jwt ?? '', null)) {
        ws.send(JSON.stringify({ type: 'error', message: 'authentication failure' }));
        return;
      }
      if (msg.channel === 'user') {
        ws.user = true;
        subscriptions++;
      }
      ws.send(
        JSON.stringify({
          channel: 'subscriptions',
          client_id: '',
          timestamp: now(),
          sequence_num: seq++,
          events: [{ subscriptions: { [msg.channel]: [] } }],
        }),
      );
      if (msg.channel === 'user')
        push(
          'snapshot',
          [...orders.values()].filter((o) => isOpen(o)),
          ws,
        );
    });
  });

  const port = await listenLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    streamUrl: `ws://127.0.0.1:${port}`,
    portfolioId,
    requests,
    orders,
    fills,
    get created() {
      return created;
    },
    get subscriptions() {
      return subscriptions;
    },
    setPrice(product, price) {
      prices.set(product, dec(price));
      matchResting(product);
    },
    setBalance(currency, amount) {
      balances.set(currency, dec(amount));
    },
    fill(clientOrderId, size, price) {
      const o = byClientId.get(clientOrderId);
      if (!o || !isOpen(o)) throw new Error(`fake coinbase: no open order ${clientOrderId}`);
      const px = price ? dec(price) : (o.limit ?? prices.get(o.product_id));
      if (!px) throw new Error('fake coinbase: no price');
      applyFill(o, dec(size), px, 'MAKER');
      push('update', [o]);
    },
    end(clientOrderId, status) {
      const o = byClientId.get(clientOrderId);
      if (!o || !isOpen(o)) throw new Error(`fake coinbase: no open order ${clientOrderId}`);
      o.status = status;
      if (status === 'CANCELLED') o.cancel_message = 'Cancelled by the exchange';
      push('update', [o]);
    },
    fail(rule) {
      faults.arm(rule);
    },
    rejectNext(reason, message = 'Insufficient balance in source account') {
      rejects.push({ reason, message });
    },
    dropStreams() {
      for (const ws of sockets) ws.terminate();
    },
    muteStream(m) {
      muted = m;
    },
    hideNewFills() {
      visibleFills = fills.length;
    },
    showFills() {
      visibleFills = null;
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}

function defaultErrorBody(status: number): unknown {
  if (status === 429)
    return { error: 'RATE_LIMIT_EXCEEDED', code: 8, message: 'Too many requests', details: [] };
  if (status >= 500) return { error: 'INTERNAL', code: 13, message: 'Internal server error', details: [] };
  return { error: 'UNKNOWN', code: 2, message: `status ${status}`, details: [] };
}
