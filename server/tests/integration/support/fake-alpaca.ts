/**
 * A local Alpaca Trading API v2 for tests: a real HTTP server and a real WebSocket server
 * (`/stream`) speaking the documented requests and responses, so the adapter under test is the
 * production code over real sockets.
 *
 * ```ts
 * const alpaca = await startFakeAlpaca({ authorize: (a) => a.kind === 'bearer' && a.token === 't1' });
 * alpaca.url        // REST base: http://127.0.0.1:<port>   (ProviderEndpoints.apiBaseUrl)
 * alpaca.streamUrl  // ws://127.0.0.1:<port>/stream         (ProviderEndpoints.streamUrl)
 * alpaca.setPrice('AAPL', '100')      // market orders fill at it; resting orders fill when it crosses
 * alpaca.partialFill(clientOrderId, '3')   // a fill of 3 at the current price (or `price`)
 * alpaca.orderRequests                // every POST /v2/orders body received, in order
 * alpaca.failNext({ method: 'GET', path: '/v2/account', status: 429, headers: { 'retry-after': '1' } })
 * alpaca.delayNext({ path: '/v2/orders', ms: 10_000 })     // the next matching call answers late
 * alpaca.setBuyingPower('100')        // a buy over it: 403 insufficient buying power
 * alpaca.dropStreams()                // closes every stream socket (the client reconnects)
 * alpaca.muteStream(true)             // events are not sent (missed); activities keep them
 * await alpaca.close()
 * ```
 *
 * Endpoints: GET /v2/account, GET /v2/positions, POST /v2/orders (simple, `bracket`, `oto`;
 * duplicate client_order_id → 422 "client_order_id must be unique"), GET /v2/orders
 * (status, nested, symbols, limit), GET /v2/orders/{id}?nested, GET
 * /v2/orders:by_client_order_id, DELETE /v2/orders/{id} (204; 422 when not cancelable),
 * GET /v2/account/activities/FILL (after, until, direction, page_size, page_token).
 * Auth: `Authorization: Bearer <token>` or APCA-API-KEY-ID / APCA-API-SECRET-KEY, checked by
 * `authorize` (default: anything non-empty); 401 otherwise. The stream accepts
 * `{action:"auth",key,secret}`, `{action:"authenticate",data:{key_id,secret_key}}` and
 * `{action:"authenticate",data:{oauth_token}}`, then `{action:"listen",data:{streams:[…]}}`,
 * and sends trade_updates in binary frames as the paper endpoint does (`textFrames` for text).
 *
 * Brackets: the legs are `held` at the entry's quantity until the entry fills completely, then
 * `new` (a `new` event each); a leg's fill cancels the other leg (OCO); an entry cancelled with
 * nothing filled cancels its legs; one cancelled after a partial fill leaves the legs working
 * for the filled quantity.
 *
 * One file: the fake speaks the whole Alpaca protocol (REST, the trade_updates stream, order and
 * position bookkeeping, brackets and mleg orders), which share one state; its HTTP plumbing is in
 * fake-http.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import {
  type FaultRule as BaseFaultRule,
  closeServer,
  Faults,
  listenLoopback,
  readBody,
} from './fake-http.ts';

export type AlpacaAuthAttempt =
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'key'; readonly keyId: string; readonly secret: string };

export interface FakeAlpacaOptions {
  readonly port?: number;
  /** May answer asynchronously (e.g. introspection at a test authorization server). */
  readonly authorize?: (attempt: AlpacaAuthAttempt) => boolean | Promise<boolean>;
  readonly accountNumber?: string;
  readonly cash?: string;
  /** Default: binary frames, as wss://paper-api.alpaca.markets/stream sends them. */
  readonly textFrames?: boolean;
}

export interface FaultRule extends BaseFaultRule {
  /** With `delayMs`: the call is carried out at once and only its response is late (a lost answer). */
  readonly lateResponse?: boolean;
}

export interface FakeOrder {
  id: string;
  client_order_id: string;
  created_at: string;
  updated_at: string;
  submitted_at: string;
  filled_at: string | null;
  expired_at: string | null;
  canceled_at: string | null;
  failed_at: string | null;
  replaced_at: null;
  replaced_by: null;
  replaces: null;
  asset_id: string;
  symbol: string;
  asset_class: 'us_equity' | 'us_option' | '';
  notional: null;
  qty: string;
  filled_qty: string;
  filled_avg_price: string | null;
  order_class: 'simple' | 'bracket' | 'oto' | 'mleg';
  order_type: string;
  type: string;
  side: 'buy' | 'sell';
  time_in_force: string;
  limit_price: string | null;
  stop_price: string | null;
  status: string;
  extended_hours: boolean;
  legs: FakeOrder[] | null;
  trail_percent: null;
  trail_price: null;
  hwm: null;
  position_intent: string;
  /** An mleg leg: its contracts per combo unit. */
  ratio_qty?: string;
}

interface Activity {
  id: string;
  account_id: string;
  activity_type: 'FILL';
  transaction_time: string;
  type: 'fill' | 'partial_fill';
  price: string;
  qty: string;
  side: 'buy' | 'sell';
  symbol: string;
  leaves_qty: string;
  order_id: string;
  cum_qty: string;
  order_status: string;
}

const OPEN = new Set(['new', 'accepted', 'pending_new', 'partially_filled', 'held']);

export interface FakeAlpaca {
  readonly url: string;
  readonly streamUrl: string;
  readonly accountId: string;
  readonly accountNumber: string;
  /** Every POST /v2/orders body, in arrival order (duplicates and refusals included). */
  readonly orderRequests: Record<string, unknown>[];
  /** Every HTTP request: method, path, query and which auth it carried. */
  readonly requests: { method: string; path: string; query: string; auth: AlpacaAuthAttempt | null }[];
  /** Orders by Alpaca id (legs included). */
  readonly orders: Map<string, FakeOrder>;
  readonly activities: Activity[];
  /** Trade updates sent on the stream (or suppressed while muted: `sent: false`). */
  readonly events: { event: string; orderId: string; sent: boolean }[];
  setPrice(symbol: string, price: string): void;
  partialFill(clientOrderIdOrId: string, qty: string, price?: string): void;
  /** Rejects a working order on Alpaca's side (a `rejected` event). */
  rejectOrder(clientOrderIdOrId: string): void;
  /** Fills every leg of a working mleg order at once, leg i at `legPrices[i]` (all-or-none). */
  fillCombo(clientOrderIdOrId: string, legPrices: readonly string[]): void;
  expireOrder(clientOrderIdOrId: string): void;
  setBuyingPower(amount: string | null): void;
  failNext(rule: FaultRule): void;
  delayNext(rule: FaultRule & { ms: number }): void;
  dropStreams(): void;
  muteStream(muted: boolean): void;
  /** Stream sockets authorized and listening to trade_updates. */
  readonly listeners: number;
  orderByClientId(clientOrderId: string): FakeOrder | undefined;
  close(): Promise<void>;
}

export async function startFakeAlpaca(opts: FakeAlpacaOptions = {}): Promise<FakeAlpaca> {
  const authorize =
    opts.authorize ?? ((a) => (a.kind === 'bearer' ? a.token.length > 0 : a.keyId.length > 0));
  const accountId = randomUUID();
  const accountNumber = opts.accountNumber ?? 'PA3FAKE0001';
  const orders = new Map<string, FakeOrder>();
  const byClientId = new Map<string, FakeOrder>();
  const parentOf = new Map<string, FakeOrder>();
  /** mleg legs (listed only nested in their order, never OCO). */
  const mlegLegs = new Set<string>();
  const prices = new Map<string, Dec>();
  const positions = new Map<string, { qty: Dec; cost: Dec }>();
  const activities: Activity[] = [];
  const events: FakeAlpaca['events'] = [];
  const orderRequests: Record<string, unknown>[] = [];
  const requests: FakeAlpaca['requests'] = [];
  const faults = new Faults<FaultRule>();
  const sockets = new Set<WebSocket>();
  const listening = new Set<WebSocket>();
  let cash = dec(opts.cash ?? '100000');
  let buyingPower: Dec | null = null;
  let muted = false;
  let clockMs = Date.now();

  // Strictly increasing event times (µs-looking ISO), so every fill has its own instant.
  const now = () => {
    clockMs = Math.max(clockMs + 1, Date.now());
    return new Date(clockMs).toISOString().replace('Z', '123Z');
  };

  const send = (event: string, o: FakeOrder, extra: Record<string, unknown> = {}) => {
    const msg = {
      stream: 'trade_updates',
      data: { event, execution_id: randomUUID(), order: view(o, true), timestamp: o.updated_at, ...extra },
    };
    events.push({ event, orderId: o.id, sent: !muted });
    if (muted) return;
    const text = JSON.stringify(msg);
    for (const ws of listening) ws.send(opts.textFrames ? text : Buffer.from(text));
  };

  const view = (o: FakeOrder, nested: boolean): FakeOrder => ({
    ...o,
    legs: nested && o.legs ? o.legs.map((l) => ({ ...l })) : null,
  });

  const position = (symbol: string) => positions.get(symbol) ?? { qty: ZERO, cost: ZERO };

  const fill = (o: FakeOrder, qty: Dec, price: Dec) => {
    const filled = dec(o.filled_qty);
    const q = qty.gt(dec(o.qty).minus(filled)) ? dec(o.qty).minus(filled) : qty;
    if (!q.gt(0)) return;
    const cum = filled.plus(q);
    const prevNotional = o.filled_avg_price ? filled.times(dec(o.filled_avg_price)) : ZERO;
    o.filled_qty = decStr(cum);
    o.filled_avg_price = decStr(prevNotional.plus(q.times(price)).div(cum).toDecimalPlaces(9));
    const done = cum.eq(dec(o.qty));
    o.status = done ? 'filled' : 'partially_filled';
    o.updated_at = now();
    if (done) o.filled_at = o.updated_at;
    const signed = o.side === 'buy' ? q : q.neg();
    const p = position(o.symbol);
    const nextQty = p.qty.plus(signed);
    // Average entry: grows with same-side fills, kept when reducing, reset when flipping.
    const sameSide = p.qty.isZero() || p.qty.isNeg() === signed.isNeg();
    const cost = sameSide
      ? p.cost.plus(signed.times(price))
      : nextQty.isZero()
        ? ZERO
        : p.cost.div(p.qty).times(nextQty);
    positions.set(o.symbol, { qty: nextQty, cost });
    cash = o.side === 'buy' ? cash.minus(q.times(price)) : cash.plus(q.times(price));
    activities.push({
      id: `${o.updated_at.replace(/[-:TZ.]/g, '').slice(0, 17)}::${randomUUID()}`,
      account_id: accountId,
      activity_type: 'FILL',
      transaction_time: o.updated_at,
      type: done ? 'fill' : 'partial_fill',
      price: decStr(price),
      qty: decStr(q),
      side: o.side,
      symbol: o.symbol,
      leaves_qty: decStr(dec(o.qty).minus(cum)),
      order_id: o.id,
      cum_qty: decStr(cum),
      order_status: o.status,
    });
    send(done ? 'fill' : 'partial_fill', o, {
      price: decStr(price),
      qty: decStr(q),
      position_qty: decStr(nextQty),
    });
    afterFill(o);
  };

  const end = (o: FakeOrder, status: 'canceled' | 'expired' | 'rejected') => {
    if (!OPEN.has(o.status)) return;
    o.status = status;
    o.updated_at = now();
    if (status === 'canceled') o.canceled_at = o.updated_at;
    if (status === 'expired') o.expired_at = o.updated_at;
    if (status === 'rejected') o.failed_at = o.updated_at;
    send(status, o);
    if (o.legs) {
      const filled = dec(o.filled_qty);
      for (const leg of o.legs) {
        if (filled.isZero()) end(leg, status === 'rejected' ? 'rejected' : 'canceled');
        else activateLeg(leg, filled);
      }
    }
  };

  const activateLeg = (leg: FakeOrder, qty: Dec) => {
    if (leg.status !== 'held') return;
    leg.qty = decStr(qty);
    leg.status = 'new';
    leg.updated_at = now();
    send('new', leg);
  };

  const afterFill = (o: FakeOrder) => {
    if (o.legs && o.status === 'filled') for (const leg of o.legs) activateLeg(leg, dec(o.qty));
    const parent = parentOf.get(o.id);
    if (parent && o.status === 'filled')
      for (const sibling of parent.legs ?? []) if (sibling !== o) end(sibling, 'canceled');
    // A fill may move the market for nothing here; but a filled entry's legs may now trade.
    if (o.legs && o.status === 'filled') for (const leg of o.legs) work(leg);
  };

  /** Fills what the current price allows. */
  const work = (o: FakeOrder) => {
    if (!(o.status === 'new' || o.status === 'partially_filled')) return;
    if (o.order_class === 'mleg') return; // all legs at once or none (fillCombo)
    const px = prices.get(o.symbol);
    if (!px) return;
    const limit = o.limit_price ? dec(o.limit_price) : null;
    const stop = o.stop_price ? dec(o.stop_price) : null;
    const buy = o.side === 'buy';
    if (stop && !(buy ? px.gte(stop) : px.lte(stop))) return;
    if (limit && !(buy ? px.lte(limit) : px.gte(limit))) return;
    fill(o, dec(o.qty).minus(dec(o.filled_qty)), px);
  };

  const arrive = (o: FakeOrder) => {
    if (o.order_class === 'mleg') {
      // The legs work as one order: accepted together, filled together (fillCombo).
      for (const leg of o.legs ?? []) {
        leg.status = 'new';
        leg.updated_at = now();
        send('new', leg);
      }
      o.status = 'new';
      o.updated_at = now();
      send('new', o);
      return;
    }
    o.status = 'new';
    o.updated_at = now();
    send('new', o);
    work(o);
    if (o.type === 'market' && OPEN.has(o.status) && (o.time_in_force === 'ioc' || o.time_in_force === 'fok'))
      end(o, 'canceled');
  };

  const find = (idOrClientId: string) => orders.get(idOrClientId) ?? byClientId.get(idOrClientId);

  const newOrder = (
    fields: Partial<FakeOrder> & Pick<FakeOrder, 'symbol' | 'qty' | 'side' | 'type'>,
  ): FakeOrder => {
    const ts = now();
    const o: FakeOrder = {
      id: randomUUID(),
      client_order_id: randomUUID(),
      created_at: ts,
      updated_at: ts,
      submitted_at: ts,
      filled_at: null,
      expired_at: null,
      canceled_at: null,
      failed_at: null,
      replaced_at: null,
      replaced_by: null,
      replaces: null,
      asset_id: randomUUID(),
      asset_class: 'us_equity',
      notional: null,
      filled_qty: '0',
      filled_avg_price: null,
      order_class: 'simple',
      order_type: fields.type,
      time_in_force: 'day',
      limit_price: null,
      stop_price: null,
      status: 'accepted',
      extended_hours: false,
      legs: null,
      trail_percent: null,
      trail_price: null,
      hwm: null,
      position_intent: fields.side === 'buy' ? 'buy_to_open' : 'sell_to_close',
      ...fields,
    };
    orders.set(o.id, o);
    return o;
  };

  // ---------------------------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------------------------

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, code: number, message: string) =>
    json(res, status, { code, message });

  const authOf = (req: IncomingMessage): AlpacaAuthAttempt | null => {
    const h = req.headers.authorization;
    if (h?.startsWith('Bearer ')) return { kind: 'bearer', token: h.slice(7) };
    const keyId = req.headers['apca-api-key-id'];
    const secret = req.headers['apca-api-secret-key'];
    if (typeof keyId === 'string' && typeof secret === 'string') return { kind: 'key', keyId, secret };
    return null;
  };

  const placeOrder = (res: ServerResponse, raw: string) => {
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return error(res, 400, 40010000, 'request body format is invalid');
    }
    orderRequests.push(b);
    if (b.order_class === 'mleg') return placeMleg(res, b);
    const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : null);
    const symbol = str('symbol');
    const qty = str('qty');
    const side = str('side');
    const type = str('type');
    const tif = str('time_in_force');
    const clientId = str('client_order_id') ?? randomUUID();
    if (!symbol || !qty || !/^\d+(\.\d+)?$/.test(qty) || !dec(qty).gt(0))
      return error(res, 422, 40010001, 'qty must be > 0');
    if (side !== 'buy' && side !== 'sell') return error(res, 422, 40010001, 'invalid side');
    if (!type || !['market', 'limit', 'stop', 'stop_limit'].includes(type))
      return error(res, 422, 40010001, 'invalid order type');
    if (!tif || !['day', 'gtc', 'ioc', 'fok', 'opg', 'cls'].includes(tif))
      return error(res, 422, 40010001, 'invalid time_in_force');
    const limit = str('limit_price');
    const stop = str('stop_price');
    if ((type === 'limit' || type === 'stop_limit') && !limit)
      return error(res, 422, 40010001, 'limit_price is required');
    if ((type === 'stop' || type === 'stop_limit') && !stop)
      return error(res, 422, 40010001, 'stop_price is required');
    if (type === 'market' && limit)
      return error(res, 422, 40010001, 'market orders must not have limit_price');
    if (byClientId.has(clientId)) return error(res, 422, 40010001, 'client_order_id must be unique');
    const orderClass = str('order_class') ?? 'simple';
    const tp = b.take_profit as { limit_price?: string } | undefined;
    const sl = b.stop_loss as { stop_price?: string; limit_price?: string } | undefined;
    if (orderClass === 'bracket' && !(tp?.limit_price && sl?.stop_price))
      return error(
        res,
        422,
        40010001,
        'bracket orders require take_profit.limit_price and stop_loss.stop_price',
      );
    if (orderClass === 'oto' && !(tp?.limit_price || sl?.stop_price))
      return error(res, 422, 40010001, 'oto orders require take_profit or stop_loss');
    if (side === 'buy' && buyingPower !== null) {
      const px = limit ? dec(limit) : (prices.get(symbol) ?? ZERO);
      if (dec(qty).times(px).gt(buyingPower)) return error(res, 403, 40310000, 'insufficient buying power');
    }
    const o = newOrder({
      client_order_id: clientId,
      symbol,
      qty,
      side,
      type,
      order_type: type,
      time_in_force: tif,
      limit_price: limit,
      stop_price: stop,
      order_class: orderClass === 'bracket' || orderClass === 'oto' ? orderClass : 'simple',
    });
    byClientId.set(clientId, o);
    if (o.order_class !== 'simple') {
      const exit = side === 'buy' ? 'sell' : 'buy';
      o.legs = [];
      const legFields = {
        symbol,
        qty,
        side: exit,
        time_in_force: 'gtc',
        order_class: o.order_class,
        status: 'held',
      } as const;
      if (tp?.limit_price)
        o.legs.push(
          newOrder({ ...legFields, type: 'limit', order_type: 'limit', limit_price: tp.limit_price }),
        );
      if (sl?.stop_price)
        o.legs.push(newOrder({ ...legFields, type: 'stop', order_type: 'stop', stop_price: sl.stop_price }));
      for (const l of o.legs) parentOf.set(l.id, o);
    }
    json(res, 200, view(o, true));
    // The order reaches the "exchange" after the response, as Alpaca's accepted → new.
    res.on('finish', () => setImmediate(() => arrive(o)));
  };

  /**
   * A multi-leg options order (Orders page, `order_class: mleg`): top-level qty (combo units),
   * type market | limit with a signed net limit_price (positive a debit, negative a credit),
   * time_in_force day, 2–4 legs of { symbol (OCC), ratio_qty, side, position_intent? }.
   */
  const placeMleg = (res: ServerResponse, b: Record<string, unknown>) => {
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    const qty = str(b.qty);
    const type = str(b.type);
    const limit = str(b.limit_price);
    const clientId = str(b.client_order_id) ?? randomUUID();
    if (!qty || !/^\d+$/.test(qty) || !dec(qty).gt(0))
      return error(res, 422, 40010001, 'qty must be a positive whole number');
    if (type !== 'market' && type !== 'limit') return error(res, 422, 40010001, 'invalid order type');
    if (str(b.time_in_force) !== 'day')
      return error(res, 422, 40010001, 'options orders only accept time_in_force day');
    if (type === 'limit' && (!limit || !/^-?\d+(\.\d+)?$/.test(limit)))
      return error(res, 422, 40010001, 'limit_price is required');
    if (type === 'market' && limit !== null)
      return error(res, 422, 40010001, 'market orders must not have limit_price');
    if (b.symbol !== undefined || b.side !== undefined)
      return error(res, 422, 40010001, 'mleg orders take symbol and side on their legs');
    const legs = Array.isArray(b.legs) ? (b.legs as Record<string, unknown>[]) : null;
    if (!legs || legs.length < 2 || legs.length > 4)
      return error(res, 422, 40010001, 'mleg orders require 2 to 4 legs');
    for (const l of legs) {
      const symbol = str(l?.symbol);
      const ratio = str(l?.ratio_qty);
      if (!symbol || !/^[A-Z]{1,6}\d{6}[CP]\d{8}$/.test(symbol))
        return error(res, 422, 40010001, `leg symbol ${String(l?.symbol)} is not an option contract`);
      if (!ratio || !/^[1-9]\d*$/.test(ratio)) return error(res, 422, 40010001, 'leg ratio_qty is invalid');
      if (l.side !== 'buy' && l.side !== 'sell') return error(res, 422, 40010001, 'leg side is invalid');
      if (
        l.position_intent !== undefined &&
        !['buy_to_open', 'buy_to_close', 'sell_to_open', 'sell_to_close'].includes(String(l.position_intent))
      )
        return error(res, 422, 40010001, 'leg position_intent is invalid');
    }
    if (new Set(legs.map((l) => l.symbol)).size !== legs.length)
      return error(res, 422, 40010001, 'mleg legs must be distinct contracts');
    if (byClientId.has(clientId)) return error(res, 422, 40010001, 'client_order_id must be unique');
    const o = newOrder({
      client_order_id: clientId,
      symbol: '',
      asset_class: '',
      qty,
      side: 'buy',
      type,
      order_type: type,
      limit_price: limit,
      order_class: 'mleg',
      position_intent: '',
    });
    byClientId.set(clientId, o);
    o.legs = legs.map((l) => {
      const leg = newOrder({
        symbol: l.symbol as string,
        asset_class: 'us_option',
        qty: decStr(dec(qty).times(dec(l.ratio_qty as string))),
        side: l.side as 'buy' | 'sell',
        type,
        order_type: type,
        order_class: 'mleg',
        ratio_qty: l.ratio_qty as string,
        position_intent: str(l.position_intent) ?? (l.side === 'buy' ? 'buy_to_open' : 'sell_to_open'),
      });
      mlegLegs.add(leg.id);
      return leg;
    });
    json(res, 200, view(o, true));
    res.on('finish', () => setImmediate(() => arrive(o)));
  };

  const listOrders = (res: ServerResponse, q: URLSearchParams) => {
    const status = q.get('status') ?? 'open';
    const nested = q.get('nested') === 'true';
    const symbols = q.get('symbols')?.split(',');
    const limit = Number(q.get('limit') ?? '50');
    const isOpen = (o: FakeOrder) => OPEN.has(o.status);
    const match = (o: FakeOrder) =>
      status === 'all' ||
      (status === 'open' ? isOpen(o) || (nested && (o.legs ?? []).some(isOpen)) : !isOpen(o));
    const top = [...orders.values()].filter((o) => !(nested && (parentOf.has(o.id) || mlegLegs.has(o.id))));
    const list = top
      .filter((o) => match(o) && (!symbols || symbols.includes(o.symbol)))
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .slice(0, Math.min(500, limit))
      .map((o) => view(o, nested));
    json(res, 200, list);
  };

  const listActivities = (res: ServerResponse, q: URLSearchParams) => {
    const after = q.get('after');
    const until = q.get('until');
    const desc = q.get('direction') !== 'asc';
    const size = Math.min(100, Number(q.get('page_size') ?? '100'));
    let list = activities.filter(
      (a) =>
        (!after || Date.parse(a.transaction_time) > Date.parse(after)) &&
        (!until || Date.parse(a.transaction_time) < Date.parse(until)),
    );
    if (desc) list = [...list].reverse();
    const token = q.get('page_token');
    if (token) {
      const i = list.findIndex((a) => a.id === token);
      list = i < 0 ? [] : list.slice(i + 1);
    }
    json(res, 200, list.slice(0, size));
  };

  const route = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    q: URLSearchParams,
    body: string,
  ) => {
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/v2/account') {
      let equity = cash;
      for (const [s, p] of positions) equity = equity.plus(p.qty.times(prices.get(s) ?? ZERO));
      return json(res, 200, {
        id: accountId,
        account_number: accountNumber,
        status: 'ACTIVE',
        crypto_status: 'ACTIVE',
        currency: 'USD',
        cash: decStr(cash),
        buying_power: decStr(buyingPower ?? cash),
        regt_buying_power: decStr(buyingPower ?? cash),
        non_marginable_buying_power: decStr(buyingPower ?? cash),
        portfolio_value: decStr(equity),
        equity: decStr(equity),
        last_equity: decStr(equity),
        multiplier: '1',
        shorting_enabled: true,
        trading_blocked: false,
        transfers_blocked: false,
        account_blocked: false,
        created_at: '2026-01-02T15:04:05.000000Z',
      });
    }
    if (method === 'GET' && path === '/v2/positions') {
      return json(
        res,
        200,
        [...positions]
          .filter(([, p]) => !p.qty.isZero())
          .map(([symbol, p]) => {
            const px = prices.get(symbol) ?? ZERO;
            return {
              asset_id: randomUUID(),
              symbol,
              exchange: 'NASDAQ',
              asset_class: 'us_equity',
              asset_marginable: true,
              avg_entry_price: decStr(p.cost.div(p.qty).toDecimalPlaces(9)),
              qty: decStr(p.qty),
              side: p.qty.isNeg() ? 'short' : 'long',
              market_value: decStr(p.qty.times(px)),
              cost_basis: decStr(p.cost),
              unrealized_pl: decStr(p.qty.times(px).minus(p.cost)),
              current_price: decStr(px),
              qty_available: decStr(p.qty),
            };
          }),
      );
    }
    if (method === 'POST' && path === '/v2/orders') return placeOrder(res, body);
    if (method === 'GET' && path === '/v2/orders') return listOrders(res, q);
    if (method === 'GET' && path === '/v2/orders:by_client_order_id') {
      const o = byClientId.get(q.get('client_order_id') ?? '');
      return o ? json(res, 200, view(o, false)) : error(res, 404, 40410000, 'order not found');
    }
    const m = /^\/v2\/orders\/([^/]+)$/.exec(path);
    if (m) {
      const o = orders.get(decodeURIComponent(m[1] as string));
      if (!o) return error(res, 404, 40410000, 'order not found');
      if (method === 'GET') return json(res, 200, view(o, q.get('nested') === 'true'));
      if (method === 'DELETE') {
        if (!OPEN.has(o.status)) return error(res, 422, 42210000, 'order is not cancelable');
        json(res, 204, undefined);
        res.on('finish', () => setImmediate(() => end(o, 'canceled')));
        return;
      }
    }
    if (method === 'GET' && path === '/v2/account/activities/FILL') return listActivities(res, q);
    return error(res, 404, 40410000, 'endpoint not found');
  };

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    const auth = authOf(req);
    requests.push({ method: req.method ?? 'GET', path: u.pathname, query: u.search, auth });
    const go = async () => {
      // The body is read first: a client that gives up (a timeout) must not lose the request.
      const body = await readBody(req);
      const fault = faults.take(req.method ?? 'GET', u.pathname);
      if (fault?.delayMs && fault.lateResponse) {
        // Carried out now, answered late: the caller times out on a call that took effect.
        const ms = fault.delayMs;
        const endNow = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
        res.end = ((...a: unknown[]) => {
          setTimeout(() => endNow(...a), ms);
          return res;
        }) as typeof res.end;
      }
      // A late answer still does the work: the client that gave up cannot know it was done.
      else if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.status)
        return json(
          res,
          fault.status,
          fault.body ?? { code: fault.status * 100000, message: 'injected' },
          fault.headers,
        );
      if (!auth || !(await authorize(auth))) return error(res, 401, 40110000, 'request is not authorized');
      await route(req, res, u.pathname, u.searchParams, body);
    };
    go().catch((err: unknown) => {
      if (!res.headersSent) error(res, 500, 50010000, err instanceof Error ? err.message : 'internal error');
    });
  });

  // ---------------------------------------------------------------------------------------------
  // Stream
  // ---------------------------------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://fake').pathname !== '/stream') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      let authed = false;
      const reply = (m: unknown) => {
        const text = JSON.stringify(m);
        ws.send(opts.textFrames ? text : Buffer.from(text));
      };
      ws.on('close', () => {
        sockets.delete(ws);
        listening.delete(ws);
      });
      // Messages are handled one at a time, in order (authorization may answer asynchronously).
      let inbox: Promise<void> = Promise.resolve();
      ws.on('message', (raw) => {
        inbox = inbox.then(() => onMessage(raw)).catch(() => {});
      });
      const onMessage = async (raw: RawData) => {
        let m: { action?: string; key?: string; secret?: string; data?: Record<string, unknown> };
        try {
          m = JSON.parse(raw.toString());
        } catch {
          return;
        }
        if (m.action === 'auth' || m.action === 'authenticate') {
          const d = m.data ?? {};
          const attempt: AlpacaAuthAttempt | null =
            typeof d.oauth_token === 'string'
              ? { kind: 'bearer', token: d.oauth_token }
              : m.action === 'auth' && m.key && m.secret
                ? { kind: 'key', keyId: m.key, secret: m.secret }
                : typeof d.key_id === 'string' && typeof d.secret_key === 'string'
                  ? { kind: 'key', keyId: d.key_id, secret: d.secret_key }
                  : null;
          authed = attempt !== null && (await authorize(attempt));
          reply({
            stream: 'authorization',
            data: { status: authed ? 'authorized' : 'unauthorized', action: 'authenticate' },
          });
          return;
        }
        if (m.action === 'listen') {
          if (!authed) {
            reply({ stream: 'authorization', data: { status: 'unauthorized', action: 'listen' } });
            return;
          }
          const streams = Array.isArray(m.data?.streams) ? (m.data.streams as string[]) : [];
          if (streams.includes('trade_updates')) listening.add(ws);
          else listening.delete(ws);
          reply({ stream: 'listening', data: { streams: streams.filter((s) => s === 'trade_updates') } });
        }
      };
    });
  });

  const port = await listenLoopback(server, opts.port);

  return {
    url: `http://127.0.0.1:${port}`,
    streamUrl: `ws://127.0.0.1:${port}/stream`,
    accountId,
    accountNumber,
    orderRequests,
    requests,
    orders,
    activities,
    events,
    get listeners() {
      return listening.size;
    },
    setPrice(symbol, price) {
      prices.set(symbol, dec(price));
      for (const o of [...orders.values()]) if (o.symbol === symbol) work(o);
    },
    partialFill(idOrClientId, qty, price) {
      const o = find(idOrClientId);
      if (!o || !OPEN.has(o.status) || o.status === 'held')
        throw new Error(`fake alpaca: ${idOrClientId} is not working`);
      const px = price ? dec(price) : prices.get(o.symbol);
      if (!px) throw new Error(`fake alpaca: no price for ${o.symbol}`);
      fill(o, dec(qty), px);
    },
    rejectOrder(idOrClientId) {
      const o = find(idOrClientId);
      if (o) end(o, 'rejected');
    },
    fillCombo(idOrClientId, legPrices) {
      const o = find(idOrClientId);
      if (o?.order_class !== 'mleg' || o.status !== 'new')
        throw new Error(`fake alpaca: ${idOrClientId} is not a working mleg order`);
      const legs = o.legs ?? [];
      if (legPrices.length !== legs.length) throw new Error('fake alpaca: one price per leg');
      let net = ZERO;
      legs.forEach((leg, i) => {
        const px = dec(legPrices[i] as string);
        const ratio = dec(leg.ratio_qty ?? '1');
        net = leg.side === 'buy' ? net.plus(px.times(ratio)) : net.minus(px.times(ratio));
        fill(leg, dec(leg.qty), px);
      });
      o.filled_qty = o.qty;
      o.filled_avg_price = decStr(net);
      o.status = 'filled';
      o.updated_at = now();
      o.filled_at = o.updated_at;
      send('fill', o, { price: decStr(net), qty: o.qty });
    },
    expireOrder(idOrClientId) {
      const o = find(idOrClientId);
      if (o) end(o, 'expired');
    },
    setBuyingPower(amount) {
      buyingPower = amount === null ? null : dec(amount);
    },
    failNext(rule) {
      faults.arm(rule);
    },
    delayNext(rule) {
      faults.arm({ ...rule, delayMs: rule.ms });
    },
    dropStreams() {
      for (const ws of sockets) ws.terminate();
    },
    muteStream(m) {
      muted = m;
    },
    orderByClientId: (id) => byClientId.get(id),
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}
