/**
 * A local Binance Spot REST venue for tests (https://developers.binance.com/docs/binance-spot-api-docs/rest-api),
 * enough of it for CCXT's `binance` class to trade against over real HTTP:
 *
 *   GET  /api/v3/ping, /api/v3/time, /api/v3/exchangeInfo, /api/v3/ticker/24hr, /api/v3/ticker/price
 *   GET  /api/v3/account                           (SIGNED)
 *   POST /api/v3/order   DELETE /api/v3/order   GET /api/v3/order (SIGNED)
 *   GET  /api/v3/openOrders, /api/v3/allOrders, /api/v3/myTrades (SIGNED)
 *
 * As documented: SIGNED endpoints need `X-MBX-APIKEY` and `signature` = hex HMAC-SHA256 of
 * totalParams (the query string concatenated with the form body) under the secret, plus a
 * `timestamp` within `recvWindow` (default 5000 ms); errors are `{code, msg}` with Binance's
 * codes (-1022 bad signature, -2014/-2015 key, -2010 new order rejected (insufficient balance,
 * duplicate order), -2011 unknown order on cancel, -2013 order does not exist, -1013 filter
 * failure, -1003 too many requests with HTTP 429 + Retry-After, 418 after ignoring 429s).
 * `newClientOrderId` is unique among *open* orders only (Binance's documented rule).
 *
 * Matching: a market order, or a marketable limit order, fills at the last price (taker); a
 * resting limit order fills at its own price (maker) when a print crosses it (`trade`) or when
 * the test fills it (`fill`). Commission: 0.1 % of the asset received. Stop orders (STOP_LOSS,
 * STOP_LOSS_LIMIT) wait untriggered until a print reaches their stop price.
 *
 * One file: the fake speaks the whole Binance Spot protocol (signed REST, order book bookkeeping,
 * balances), which share one state; its HTTP plumbing is in fake-http.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Dec, dec, decMin, ZERO } from '@aegis/shared/accounting/decimal';
import { closeServer, hmacMatches, listenLoopback, readBody } from './fake-http.ts';
import { SpotWallet } from './spot-wallet.ts';

export interface FakeBinanceSymbol {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly tickSize: string;
  readonly stepSize: string;
  readonly minQty: string;
  readonly minNotional: string;
  readonly lastPrice: string;
}

export const DEFAULT_SYMBOLS: readonly FakeBinanceSymbol[] = [
  {
    symbol: 'BTCUSDT',
    base: 'BTC',
    quote: 'USDT',
    tickSize: '0.01',
    stepSize: '0.00001',
    minQty: '0.00001',
    minNotional: '5',
    lastPrice: '60000',
  },
  {
    symbol: 'ETHUSDT',
    base: 'ETH',
    quote: 'USDT',
    tickSize: '0.01',
    stepSize: '0.0001',
    minQty: '0.0001',
    minNotional: '5',
    lastPrice: '3000',
  },
];

type Status = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'REJECTED';

interface VenueOrder {
  readonly orderId: number;
  readonly apiKey: string;
  readonly symbol: string;
  readonly clientOrderId: string;
  readonly side: 'BUY' | 'SELL';
  readonly type: string;
  readonly timeInForce: string;
  readonly price: Dec;
  readonly stopPrice: Dec;
  readonly origQty: Dec;
  executed: Dec;
  quoteQty: Dec;
  status: Status;
  triggered: boolean;
  readonly time: number;
  updateTime: number;
  /** Quote locked for a buy, base for a sell (released as it fills or on cancel). */
  locked: Dec;
}

interface VenueTrade {
  readonly id: number;
  readonly orderId: number;
  readonly apiKey: string;
  readonly symbol: string;
  readonly price: Dec;
  readonly qty: Dec;
  readonly commission: Dec;
  readonly commissionAsset: string;
  readonly time: number;
  readonly isBuyer: boolean;
  readonly isMaker: boolean;
}

interface Account {
  readonly secret: string;
  readonly balances: SpotWallet;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly apiKey: string | null;
}

type Fault =
  | { kind: 'status'; status: number; body: unknown; retryAfterS?: number }
  | { kind: 'delay'; ms: number }
  /** The request is processed, then the connection is dropped before the response. */
  | { kind: 'drop' };

const COMMISSION = dec('0.001');
const fmt = (d: Dec) => d.toFixed(8);

export class FakeBinance {
  readonly requests: RecordedRequest[] = [];
  readonly #symbols = new Map<string, FakeBinanceSymbol>();
  readonly #last = new Map<string, Dec>();
  readonly #accounts = new Map<string, Account>();
  readonly #orders: VenueOrder[] = [];
  readonly #trades: VenueTrade[] = [];
  /** Faults for the next requests matching a path (or any path: '*'), consumed in order. */
  readonly #faults: { path: string; fault: Fault }[] = [];
  #nextOrderId = 1000;
  #nextTradeId = 5000;
  #server: Server | null = null;
  url = '';

  constructor(symbols: readonly FakeBinanceSymbol[] = DEFAULT_SYMBOLS) {
    for (const s of symbols) {
      this.#symbols.set(s.symbol, s);
      this.#last.set(s.symbol, dec(s.lastPrice));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Test controls
  // -------------------------------------------------------------------------------------------

  addAccount(apiKey: string, secret: string, balances: Record<string, string>): void {
    this.#accounts.set(apiKey, { secret, balances: new SpotWallet(balances) });
  }

  balance(apiKey: string, asset: string): { free: string; locked: string } {
    const b = this.#accounts.get(apiKey)?.balances.holdings.get(asset);
    return { free: b ? b.free.toFixed() : '0', locked: b ? b.locked.toFixed() : '0' };
  }

  /** Orders at the venue for a client order id (all of them: ids repeat once closed). */
  ordersByClientId(
    clientOrderId: string,
  ): readonly { orderId: number; status: Status; executedQty: string }[] {
    return this.#orders
      .filter((o) => o.clientOrderId === clientOrderId)
      .map((o) => ({ orderId: o.orderId, status: o.status, executedQty: o.executed.toFixed() }));
  }

  /** The next `count` requests to `path` ('*' for any) answer with this HTTP status and body. */
  failNext(path: string, status: number, body: unknown, count = 1, retryAfterS?: number): void {
    for (let i = 0; i < count; i++)
      this.#faults.push({
        path,
        fault: { kind: 'status', status, body, ...(retryAfterS !== undefined && { retryAfterS }) },
      });
  }

  /** The next `count` requests to `path` are answered after `ms`. */
  delayNext(path: string, ms: number, count = 1): void {
    for (let i = 0; i < count; i++) this.#faults.push({ path, fault: { kind: 'delay', ms } });
  }

  /** The next request to `path` is carried out, but its response is lost (socket destroyed). */
  dropNext(path: string): void {
    this.#faults.push({ path, fault: { kind: 'drop' } });
  }

  /** A print at `price` for up to `qty` (default: unlimited): stops trigger, crossed limits fill. */
  trade(symbol: string, price: string, qty?: string): void {
    const px = dec(price);
    this.#last.set(symbol, px);
    let left: Dec | null = qty === undefined ? null : dec(qty);
    for (const o of this.#open(symbol)) {
      if (left?.lte(0)) break;
      if (!o.triggered) {
        const hit = o.side === 'SELL' ? px.lte(o.stopPrice) : px.gte(o.stopPrice);
        if (!hit) continue;
        o.triggered = true;
        o.updateTime = Date.now();
      }
      const isMarket = o.type === 'STOP_LOSS' || o.type === 'MARKET';
      const crosses = isMarket || (o.side === 'BUY' ? px.lte(o.price) : px.gte(o.price));
      if (!crosses) continue;
      const leaves = o.origQty.minus(o.executed);
      const q = left === null ? leaves : decMin(leaves, left);
      this.#fill(o, q, isMarket ? px : o.price, !isMarket);
      if (left !== null) left = left.minus(q);
    }
  }

  /** Fills `qty` of an open order at its limit price (a partial fill when less than it leaves). */
  fill(clientOrderId: string, qty: string): void {
    const o = this.#orders.find((x) => x.clientOrderId === clientOrderId && isOpen(x.status));
    if (!o) throw new Error(`no open order ${clientOrderId}`);
    this.#fill(o, dec(qty), o.price.gt(0) ? o.price : (this.#last.get(o.symbol) ?? ZERO), true);
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      void this.#serve(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { code: -1000, msg: String(err) });
      });
    });
    const port = await listenLoopback(this.#server);
    this.url = `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    await closeServer(this.#server);
  }

  // -------------------------------------------------------------------------------------------
  // HTTP
  // -------------------------------------------------------------------------------------------

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const query = url.search.startsWith('?') ? url.search.slice(1) : '';
    const params: Record<string, string> = {};
    for (const part of [query, body]) for (const [k, v] of new URLSearchParams(part)) params[k] = v;
    const method = req.method ?? 'GET';
    const apiKeyHeader = req.headers['x-mbx-apikey'];
    const apiKey = typeof apiKeyHeader === 'string' ? apiKeyHeader : null;
    this.requests.push({ method, path: url.pathname, params, apiKey });

    const idx = this.#faults.findIndex((f) => f.path === '*' || f.path === url.pathname);
    const fault = idx >= 0 ? this.#faults.splice(idx, 1)[0]?.fault : undefined;
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = {};
      if (fault.retryAfterS !== undefined) headers['retry-after'] = String(fault.retryAfterS);
      return send(res, fault.status, fault.body, headers);
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));

    const out = this.#route(method, url.pathname, params, apiKey, query, body);
    if (fault?.kind === 'drop') {
      res.socket?.destroy();
      return;
    }
    send(res, out.status, out.body);
  }

  #route(
    method: string,
    path: string,
    p: Record<string, string>,
    apiKey: string | null,
    query: string,
    body: string,
  ): { status: number; body: unknown } {
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /api/v3/ping':
        return ok({});
      case 'GET /api/v3/time':
        return ok({ serverTime: Date.now() });
      case 'GET /api/v3/exchangeInfo':
        return ok(this.#exchangeInfo());
      case 'GET /api/v3/ticker/24hr':
        return this.#tickers(p);
      case 'GET /api/v3/ticker/price':
        return ok([...this.#last].map(([symbol, px]) => ({ symbol, price: fmt(px) })));
    }
    const signed = new Set([
      'GET /api/v3/account',
      'POST /api/v3/order',
      'DELETE /api/v3/order',
      'GET /api/v3/order',
      'GET /api/v3/openOrders',
      'GET /api/v3/allOrders',
      'GET /api/v3/myTrades',
    ]);
    if (!signed.has(route)) return { status: 404, body: { code: -1100, msg: `no endpoint ${route}` } };
    const auth = this.#authenticate(apiKey, p, query, body);
    if ('error' in auth) return auth.error;
    const key = auth.apiKey;
    switch (route) {
      case 'GET /api/v3/account':
        return ok(this.#account(key));
      case 'POST /api/v3/order':
        return this.#newOrder(key, p);
      case 'DELETE /api/v3/order':
        return this.#cancel(key, p);
      case 'GET /api/v3/order': {
        const o = this.#findOrder(key, p);
        return o ? ok(orderJson(o)) : err(400, -2013, 'Order does not exist.');
      }
      case 'GET /api/v3/openOrders':
        return ok(
          this.#orders
            .filter((o) => o.apiKey === key && isOpen(o.status) && (!p.symbol || o.symbol === p.symbol))
            .map(orderJson),
        );
      case 'GET /api/v3/allOrders': {
        if (!p.symbol)
          return err(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
        return ok(this.#orders.filter((o) => o.apiKey === key && o.symbol === p.symbol).map(orderJson));
      }
      default: {
        // GET /api/v3/myTrades
        if (!p.symbol)
          return err(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
        const orderId = p.orderId === undefined ? null : Number(p.orderId);
        const since = p.startTime === undefined ? null : Number(p.startTime);
        return ok(
          this.#trades
            .filter(
              (t) =>
                t.apiKey === key &&
                t.symbol === p.symbol &&
                (orderId === null || t.orderId === orderId) &&
                (since === null || t.time >= since),
            )
            .map((t) => ({
              symbol: t.symbol,
              id: t.id,
              orderId: t.orderId,
              orderListId: -1,
              price: fmt(t.price),
              qty: fmt(t.qty),
              quoteQty: fmt(t.price.times(t.qty)),
              commission: fmt(t.commission),
              commissionAsset: t.commissionAsset,
              time: t.time,
              isBuyer: t.isBuyer,
              isMaker: t.isMaker,
              isBestMatch: true,
            })),
        );
      }
    }
  }

  /** SIGNED (TRADE / USER_DATA) endpoint security, as documented. */
  #authenticate(
    apiKey: string | null,
    p: Record<string, string>,
    query: string,
    body: string,
  ): { apiKey: string } | { error: { status: number; body: unknown } } {
    if (!apiKey) return { error: err(401, -2014, 'API-key format invalid.') };
    const account = this.#accounts.get(apiKey);
    if (!account) return { error: err(401, -2015, 'Invalid API-key, IP, or permissions for action.') };
    const signature = p.signature;
    if (!signature)
      return {
        error: err(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."),
      };
    // totalParams = query string + request body, with the signature parameter itself taken out.
    const total = query + body;
    const payload = total.replace(/&?signature=[0-9a-fA-F]*/, '');
    if (!hmacMatches(account.secret, payload, signature, 'hex'))
      return { error: err(400, -1022, 'Signature for this request is not valid.') };
    const ts = Number(p.timestamp);
    const recvWindow = p.recvWindow === undefined ? 5000 : Number(p.recvWindow);
    if (!Number.isFinite(ts))
      return {
        error: err(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."),
      };
    const now = Date.now();
    if (ts > now + 1000 || now - ts > recvWindow)
      return { error: err(400, -1021, 'Timestamp for this request is outside of the recvWindow.') };
    return { apiKey };
  }

  #exchangeInfo(): unknown {
    return {
      timezone: 'UTC',
      serverTime: Date.now(),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
        { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
      ],
      exchangeFilters: [],
      symbols: [...this.#symbols.values()].map((s) => ({
        symbol: s.symbol,
        status: 'TRADING',
        baseAsset: s.base,
        baseAssetPrecision: 8,
        quoteAsset: s.quote,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: [
          'LIMIT',
          'LIMIT_MAKER',
          'MARKET',
          'STOP_LOSS',
          'STOP_LOSS_LIMIT',
          'TAKE_PROFIT',
          'TAKE_PROFIT_LIMIT',
        ],
        icebergAllowed: true,
        ocoAllowed: true,
        otoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          {
            filterType: 'PRICE_FILTER',
            minPrice: s.tickSize,
            maxPrice: '1000000.00000000',
            tickSize: s.tickSize,
          },
          { filterType: 'LOT_SIZE', minQty: s.minQty, maxQty: '9000.00000000', stepSize: s.stepSize },
          {
            filterType: 'NOTIONAL',
            minNotional: s.minNotional,
            applyMinToMarket: true,
            maxNotional: '9000000.00000000',
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
          {
            filterType: 'MARKET_LOT_SIZE',
            minQty: '0.00000000',
            maxQty: '100.00000000',
            stepSize: '0.00000000',
          },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
        defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
        allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      })),
    };
  }

  #tickers(p: Record<string, string>): { status: number; body: unknown } {
    let wanted = [...this.#symbols.keys()];
    if (p.symbols) wanted = JSON.parse(p.symbols) as string[];
    else if (p.symbol) wanted = [p.symbol];
    const now = Date.now();
    const rows = wanted.map((symbol) => {
      const last = this.#last.get(symbol);
      if (!last) return null;
      return {
        symbol,
        priceChange: '0.00000000',
        priceChangePercent: '0.000',
        weightedAvgPrice: fmt(last),
        prevClosePrice: fmt(last),
        lastPrice: fmt(last),
        lastQty: '0.00100000',
        bidPrice: fmt(last),
        bidQty: '1.00000000',
        askPrice: fmt(last),
        askQty: '1.00000000',
        openPrice: fmt(last),
        highPrice: fmt(last),
        lowPrice: fmt(last),
        volume: '0.00000000',
        quoteVolume: '0.00000000',
        openTime: now - 86_400_000,
        closeTime: now,
        firstId: 0,
        lastId: 0,
        count: 0,
      };
    });
    if (rows.some((r) => r === null)) return err(400, -1121, 'Invalid symbol.');
    return ok(p.symbol ? rows[0] : rows);
  }

  #account(key: string): unknown {
    const a = this.#accounts.get(key) as Account;
    return {
      makerCommission: 10,
      takerCommission: 10,
      buyerCommission: 0,
      sellerCommission: 0,
      commissionRates: {
        maker: '0.00100000',
        taker: '0.00100000',
        buyer: '0.00000000',
        seller: '0.00000000',
      },
      canTrade: true,
      canWithdraw: true,
      canDeposit: true,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      updateTime: Date.now(),
      accountType: 'SPOT',
      balances: [...a.balances.holdings].map(([asset, b]) => ({
        asset,
        free: fmt(b.free),
        locked: fmt(b.locked),
      })),
      permissions: ['SPOT'],
      uid: 354937868,
    };
  }

  #newOrder(key: string, p: Record<string, string>): { status: number; body: unknown } {
    const s = this.#symbols.get(p.symbol ?? '');
    if (!s) return err(400, -1121, 'Invalid symbol.');
    const side = p.side;
    if (side !== 'BUY' && side !== 'SELL')
      return err(400, -1102, "Mandatory parameter 'side' was not sent, was empty/null, or malformed.");
    const type = p.type ?? '';
    if (!['LIMIT', 'MARKET', 'STOP_LOSS', 'STOP_LOSS_LIMIT'].includes(type))
      return err(400, -1116, 'Invalid orderType.');
    const isLimit = type === 'LIMIT' || type === 'STOP_LOSS_LIMIT';
    const isStop = type === 'STOP_LOSS' || type === 'STOP_LOSS_LIMIT';
    if (isLimit && (!p.price || !p.timeInForce))
      return err(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
    if (isStop && !p.stopPrice)
      return err(400, -1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.");
    if (!p.quantity)
      return err(400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.");
    const qty = dec(p.quantity);
    const price = isLimit ? dec(p.price as string) : ZERO;
    const stopPrice = isStop ? dec(p.stopPrice as string) : ZERO;
    if (qty.lt(dec(s.minQty)) || !qty.mod(dec(s.stepSize)).isZero())
      return err(400, -1013, 'Filter failure: LOT_SIZE');
    if (isLimit && !price.mod(dec(s.tickSize)).isZero())
      return err(400, -1013, 'Filter failure: PRICE_FILTER');
    const last = this.#last.get(s.symbol) as Dec;
    const refPx = isLimit ? price : last;
    if (qty.times(refPx).lt(dec(s.minNotional))) return err(400, -1013, 'Filter failure: NOTIONAL');
    const clientOrderId = p.newClientOrderId ?? `web_${this.#nextOrderId}`;
    if (!/^[.A-Z:/a-z0-9_-]{1,36}$/.test(clientOrderId))
      return err(400, -1100, "Illegal characters found in parameter 'newClientOrderId'.");
    if (this.#orders.some((o) => o.apiKey === key && o.clientOrderId === clientOrderId && isOpen(o.status)))
      return err(400, -2010, 'Duplicate order sent.');
    // Funds: a buy reserves quote at its limit (or the last price), a sell reserves the base.
    const asset = side === 'BUY' ? s.quote : s.base;
    const need = side === 'BUY' ? qty.times(refPx) : qty;
    if (!(this.#accounts.get(key) as Account).balances.lock(asset, need))
      return err(400, -2010, 'Account has insufficient balance for requested action.');
    const now = Date.now();
    const o: VenueOrder = {
      orderId: ++this.#nextOrderId,
      apiKey: key,
      symbol: s.symbol,
      clientOrderId,
      side,
      type,
      timeInForce: isLimit ? (p.timeInForce as string) : 'GTC',
      price,
      stopPrice,
      origQty: qty,
      executed: ZERO,
      quoteQty: ZERO,
      status: 'NEW',
      triggered: !isStop,
      time: now,
      updateTime: now,
      locked: need,
    };
    this.#orders.push(o);
    const fillsBefore = this.#trades.length;
    if (o.triggered) {
      const marketable = type === 'MARKET' || (side === 'BUY' ? price.gte(last) : price.lte(last));
      if (marketable) this.#fill(o, qty, last, false);
      if (isOpen(o.status) && (o.timeInForce === 'IOC' || o.timeInForce === 'FOK' || type === 'MARKET')) {
        this.#release(o);
        o.status = 'EXPIRED';
      }
    }
    const fills = this.#trades.slice(fillsBefore).map((t) => ({
      price: fmt(t.price),
      qty: fmt(t.qty),
      commission: fmt(t.commission),
      commissionAsset: t.commissionAsset,
      tradeId: t.id,
    }));
    const resp = p.newOrderRespType ?? (type === 'MARKET' || type === 'LIMIT' ? 'FULL' : 'ACK');
    if (resp === 'ACK')
      return ok({ symbol: o.symbol, orderId: o.orderId, orderListId: -1, clientOrderId, transactTime: now });
    const full = {
      symbol: o.symbol,
      orderId: o.orderId,
      orderListId: -1,
      clientOrderId,
      transactTime: now,
      ...orderState(o),
      origQuoteOrderQty: '0.00000000',
      workingTime: now,
      selfTradePreventionMode: 'NONE',
    };
    return ok(resp === 'FULL' ? { ...full, fills } : full);
  }

  #cancel(key: string, p: Record<string, string>): { status: number; body: unknown } {
    const o = this.#findOrder(key, p);
    if (!o || !isOpen(o.status)) return err(400, -2011, 'Unknown order sent.');
    this.#release(o);
    o.status = 'CANCELED';
    o.updateTime = Date.now();
    return ok({
      symbol: o.symbol,
      origClientOrderId: o.clientOrderId,
      orderId: o.orderId,
      orderListId: -1,
      clientOrderId: `cancel_${o.orderId}`,
      transactTime: o.updateTime,
      ...orderState(o),
      selfTradePreventionMode: 'NONE',
    });
  }

  /** By orderId, else by origClientOrderId (the open one first, else the latest). */
  #findOrder(key: string, p: Record<string, string>): VenueOrder | undefined {
    const mine = this.#orders.filter((o) => o.apiKey === key && o.symbol === p.symbol);
    if (p.orderId !== undefined) return mine.find((o) => o.orderId === Number(p.orderId));
    const id = p.origClientOrderId;
    if (id === undefined) return undefined;
    const same = mine.filter((o) => o.clientOrderId === id);
    return same.find((o) => isOpen(o.status)) ?? same.at(-1);
  }

  #open(symbol: string): VenueOrder[] {
    return this.#orders.filter((o) => o.symbol === symbol && isOpen(o.status));
  }

  #fill(o: VenueOrder, qty: Dec, px: Dec, maker: boolean): void {
    const q = decMin(qty, o.origQty.minus(o.executed));
    if (q.lte(0)) return;
    const s = this.#symbols.get(o.symbol) as FakeBinanceSymbol;
    const notional = q.times(px);
    const settled = (this.#accounts.get(o.apiKey) as Account).balances.settleFill({
      side: o.side === 'BUY' ? 'buy' : 'sell',
      base: s.base,
      quote: s.quote,
      qty: q,
      price: px,
      // Locked at the order's reference price; the part not spent (price improvement) is freed.
      reserved: o.type === 'LIMIT' || o.type === 'STOP_LOSS_LIMIT' ? q.times(o.price) : notional,
      orderLocked: o.locked,
      feeRate: COMMISSION,
    });
    o.locked = o.locked.minus(settled.released);
    o.executed = o.executed.plus(q);
    o.quoteQty = o.quoteQty.plus(notional);
    o.status = o.executed.gte(o.origQty) ? 'FILLED' : 'PARTIALLY_FILLED';
    o.updateTime = Date.now();
    if (o.status === 'FILLED') this.#release(o);
    this.#trades.push({
      id: ++this.#nextTradeId,
      orderId: o.orderId,
      apiKey: o.apiKey,
      symbol: o.symbol,
      price: px,
      qty: q,
      commission: settled.fee,
      commissionAsset: settled.feeAsset,
      time: o.updateTime,
      isBuyer: o.side === 'BUY',
      isMaker: maker,
    });
  }

  /** Frees what the order still holds locked. */
  #release(o: VenueOrder): void {
    if (o.locked.lte(0)) return;
    const s = this.#symbols.get(o.symbol) as FakeBinanceSymbol;
    (this.#accounts.get(o.apiKey) as Account).balances.unlock(o.side === 'BUY' ? s.quote : s.base, o.locked);
    o.locked = ZERO;
  }
}

function isOpen(s: Status): boolean {
  return s === 'NEW' || s === 'PARTIALLY_FILLED';
}

/** The order's price, quantities, status and terms, as every order response states them. */
function orderState(o: VenueOrder) {
  return {
    price: fmt(o.price),
    origQty: fmt(o.origQty),
    executedQty: fmt(o.executed),
    cummulativeQuoteQty: fmt(o.quoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
  };
}

function orderJson(o: VenueOrder): unknown {
  return {
    symbol: o.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    ...orderState(o),
    stopPrice: fmt(o.stopPrice),
    icebergQty: '0.00000000',
    time: o.time,
    updateTime: o.updateTime,
    isWorking: o.triggered,
    workingTime: o.triggered ? o.time : -1,
    origQuoteOrderQty: '0.00000000',
    selfTradePreventionMode: 'NONE',
  };
}

function ok(body: unknown): { status: number; body: unknown } {
  return { status: 200, body };
}

function err(status: number, code: number, msg: string): { status: number; body: unknown } {
  return { status, body: { code, msg } };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/html' : 'application/json;charset=UTF-8',
    'x-mbx-used-weight-1m': '1',
    ...headers,
  });
  res.end(text);
}
