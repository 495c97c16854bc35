/**
 * A local Binance Spot market-data venue for the engine's feed tests: REST and WebSocket, in the
 * documented formats (https://developers.binance.com/docs/binance-spot-api-docs/rest-api and
 * …/web-socket-streams), enough for CCXT's `binance` and `pro.binance` classes and for raw
 * clients:
 *
 *   GET /api/v3/ping, /api/v3/time, /api/v3/exchangeInfo (PRICE_FILTER, LOT_SIZE, NOTIONAL)
 *   GET /api/v3/depth?symbol&limit            {lastUpdateId, bids, asks}
 *   GET /api/v3/trades?symbol&limit           recent trades
 *   GET /api/v3/aggTrades?symbol&startTime&endTime&fromId&limit (each trade is its own agg trade)
 *   GET /api/v3/ticker/bookTicker, /api/v3/ticker/24hr
 *   WS  /ws, /ws/<anything> (raw streams, SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS by message)
 *       /ws/<stream> (one raw stream), /stream?streams=a/b (combined: {stream, data})
 *   streams: <symbol>@depth, <symbol>@depth@100ms (diff depth, U/u), <symbol>@trade
 *
 * Errors are Binance's `{code, msg}`: -1121 invalid symbol (400), -1003 too many requests (429 with
 * Retry-After). The book is kept in integer price ticks (no float keys); every depth event moves
 * `lastUpdateId` by the number of updates it carries, so U/u chain as Binance documents
 * (U = previous u + 1).
 *
 * Test controls: push depth diffs and trades, lose a depth event (an update-id gap), send a stale
 * event (out of order), send raw text (malformed), drop every socket, a burst of N trades through
 * the WebSocket (respecting the socket's buffer), REST faults, and a deterministic market (a
 * seeded random walk of the book with trades at N messages/s).
 *
 * Over 400 lines on purpose: one fake venue whose REST and WebSocket sides share one market state
 * and one set of message formats.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { Xoshiro128 } from '../../src/random/seeded-random.ts';
import { drainSockets, paced } from './socket-pacing.ts';

export interface FakeBinanceSymbolSpec {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Price tick as a decimal string (2 decimals here: prices are kept in ticks of 0.01). */
  readonly tickSize: string;
  readonly stepSize: string;
  /** Initial mid in ticks (0.01). */
  readonly midTicks: number;
}

export const FAKE_BINANCE_SYMBOLS: readonly FakeBinanceSymbolSpec[] = [
  {
    symbol: 'BTCUSDT',
    base: 'BTC',
    quote: 'USDT',
    tickSize: '0.01',
    stepSize: '0.00001',
    midTicks: 6_000_000,
  },
  { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', stepSize: '0.0001', midTicks: 300_000 },
  { symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', tickSize: '0.01', stepSize: '0.001', midTicks: 15_000 },
];

const PRICE_DP = 2;
const QTY_DP = 5;
const TRADES_KEPT = 200_000;

export interface FakeTrade {
  readonly id: number;
  readonly priceTicks: number;
  readonly qty: number;
  readonly time: number;
  readonly buyerIsMaker: boolean;
}

interface SymbolState {
  readonly spec: FakeBinanceSymbolSpec;
  /** price ticks → qty */
  readonly bids: Map<number, number>;
  readonly asks: Map<number, number>;
  lastUpdateId: number;
  readonly trades: FakeTrade[];
  nextTradeId: number;
}

interface Fault {
  readonly path: string;
  readonly status: number;
  readonly body: unknown;
  readonly retryAfterS?: number;
}

export interface RecordedRequest {
  readonly path: string;
  readonly query: Record<string, string>;
}

export const priceString = (ticks: number): string => (ticks / 10 ** PRICE_DP).toFixed(PRICE_DP);
export const qtyString = (qty: number): string => qty.toFixed(QTY_DP);

export class FakeBinanceVenue {
  readonly requests: RecordedRequest[] = [];
  readonly #symbols = new Map<string, SymbolState>();
  readonly #faults: Fault[] = [];
  readonly #sockets = new Set<WebSocket>();
  /** Streams each socket listens to, and whether it gets the combined `{stream, data}` wrapper. */
  readonly #subs = new Map<WebSocket, { streams: Set<string>; combined: boolean }>();
  readonly #markets: (() => void)[] = [];
  #server: Server | null = null;
  #wss: WebSocketServer | null = null;
  /** Event time offset (ms) added to every WS event and trade time: a venue clock ahead of ours. */
  clockOffsetMs = 0;
  url = '';
  wsUrl = '';
  /** Control messages (SUBSCRIBE …) received, in order. */
  readonly controlMessages: { method: string; params: unknown; id: unknown }[] = [];
  connectionsOpened = 0;

  constructor(symbols: readonly FakeBinanceSymbolSpec[] = FAKE_BINANCE_SYMBOLS) {
    for (const spec of symbols) {
      const s: SymbolState = {
        spec,
        bids: new Map(),
        asks: new Map(),
        lastUpdateId: 1000,
        trades: [],
        nextTradeId: 1,
      };
      // Ten levels a side around the mid, one tick apart from mid ± 1.
      for (let i = 1; i <= 10; i++) {
        s.bids.set(spec.midTicks - i, i);
        s.asks.set(spec.midTicks + i, i);
      }
      this.#symbols.set(spec.symbol, s);
    }
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => this.#http(req, res));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => this.#connection(ws, req));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    this.#server = server;
    this.#wss = wss;
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/ws`;
    return this;
  }

  async close(): Promise<void> {
    for (const stop of this.#markets.splice(0)) stop();
    for (const ws of this.#sockets) ws.terminate();
    await new Promise<void>((resolve) => this.#wss?.close(() => resolve()) ?? resolve());
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  // -------------------------------------------------------------------------------------------
  // Test controls
  // -------------------------------------------------------------------------------------------

  /** Requests served on `path` so far (faulted ones included). */
  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  /** Sockets currently subscribed to `stream` (`btcusdt@trade`, `btcusdt@depth@100ms`). */
  subscribers(stream: string): number {
    let n = 0;
    for (const sub of this.#subs.values()) if (sub.streams.has(stream)) n++;
    return n;
  }

  /** The next `count` requests to `path` ('*' for any) answer with this status and body. */
  failNext(path: string, status: number, body: unknown, count = 1, retryAfterS?: number): void {
    for (let i = 0; i < count; i++)
      this.#faults.push({ path, status, body, ...(retryAfterS !== undefined && { retryAfterS }) });
  }

  /** The book as sorted [priceTicks, qty] pairs, best first. */
  book(symbol: string): { bids: [number, number][]; asks: [number, number][]; lastUpdateId: number } {
    const s = this.#state(symbol);
    return {
      bids: [...s.bids].sort((a, b) => b[0] - a[0]),
      asks: [...s.asks].sort((a, b) => a[0] - b[0]),
      lastUpdateId: s.lastUpdateId,
    };
  }

  trades(symbol: string): readonly FakeTrade[] {
    return this.#state(symbol).trades;
  }

  /**
   * Applies level changes ([priceTicks, qty], qty 0 removes) as one depth event and sends it to
   * the depth subscribers, unless `lose` (the event is applied but never sent: a gap).
   */
  depthUpdate(
    symbol: string,
    bids: readonly (readonly [number, number])[],
    asks: readonly (readonly [number, number])[],
    opts: { lose?: boolean } = {},
  ): void {
    const s = this.#state(symbol);
    const n = Math.max(1, bids.length + asks.length);
    const U = s.lastUpdateId + 1;
    s.lastUpdateId += n;
    for (const [p, q] of bids) q === 0 ? s.bids.delete(p) : s.bids.set(p, q);
    for (const [p, q] of asks) q === 0 ? s.asks.delete(p) : s.asks.set(p, q);
    if (opts.lose) return;
    this.#depthEvent(s, U, s.lastUpdateId, bids, asks);
  }

  /** Re-sends an event whose ids are already behind the book (u ≤ lastUpdateId): out of order. */
  staleDepthUpdate(symbol: string, bids: readonly (readonly [number, number])[]): void {
    const s = this.#state(symbol);
    this.#depthEvent(s, s.lastUpdateId - 5, s.lastUpdateId - 4, bids, []);
  }

  /** A trade print; `buyerIsMaker` true = the seller was the aggressor. */
  trade(symbol: string, priceTicks: number, qty: number, buyerIsMaker: boolean): FakeTrade {
    const s = this.#state(symbol);
    const t: FakeTrade = { id: s.nextTradeId++, priceTicks, qty, time: this.#now(), buyerIsMaker };
    s.trades.push(t);
    if (s.trades.length > TRADES_KEPT) s.trades.splice(0, s.trades.length - TRADES_KEPT);
    this.#send(`${symbol.toLowerCase()}@trade`, this.#tradeJson(s, t));
    return t;
  }

  /** A trade recorded for REST only (no WebSocket event): what a poller must discover. */
  tradeQuietly(symbol: string, priceTicks: number, qty: number, buyerIsMaker: boolean): FakeTrade {
    const s = this.#state(symbol);
    const t: FakeTrade = { id: s.nextTradeId++, priceTicks, qty, time: this.#now(), buyerIsMaker };
    s.trades.push(t);
    return t;
  }

  /** Raw text to every socket (subscribed or not): malformed-message tests. */
  sendRaw(text: string): void {
    for (const ws of this.#sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  /** Closes every socket abruptly (TCP reset): the client sees a dropped connection. */
  dropConnections(): void {
    for (const ws of this.#sockets) ws.terminate();
  }

  /**
   * `n` trades sent through the WebSocket as fast as the sockets take them (pausing while a
   * socket's unsent buffer is past a high-water mark). Resolves once every trade is written.
   */
  async burst(symbol: string, n: number): Promise<void> {
    const s = this.#state(symbol);
    const stream = `${symbol.toLowerCase()}@trade`;
    const mid = this.#mid(s);
    for (let i = 0; i < n; i++) {
      const t: FakeTrade = {
        id: s.nextTradeId++,
        priceTicks: mid + (i % 7) - 3,
        qty: (10 + (i % 13)) / 10_000,
        time: this.#now(),
        buyerIsMaker: i % 2 === 0,
      };
      s.trades.push(t);
      this.#send(stream, this.#tradeJson(s, t));
      if (i % 256 === 255) await this.#drain();
    }
    if (s.trades.length > TRADES_KEPT) s.trades.splice(0, s.trades.length - TRADES_KEPT);
    await this.#drain();
  }

  /**
   * A deterministic market on `symbol`: every tick of `1000 / msgsPerSec` ms (batched per 10 ms)
   * either moves a level of the book (a depth event) or prints a trade at the touch, drawn from a
   * seeded PRNG: the same seed gives the same sequence of messages. Returns a stop function.
   */
  market(symbol: string, opts: { msgsPerSec: number; seed: number; tradeShare?: number }): () => void {
    const s = this.#state(symbol);
    const rng = new Xoshiro128(opts.seed);
    const tradeShare = opts.tradeShare ?? 0.3;
    const stop = paced(opts.msgsPerSec, () => this.#marketStep(s, rng, tradeShare));
    this.#markets.push(stop);
    return stop;
  }

  /** One deterministic market message (exposed for benches that want messages without timers). */
  marketStep(symbol: string, rng: Xoshiro128, tradeShare = 0.3): void {
    this.#marketStep(this.#state(symbol), rng, tradeShare);
  }

  // -------------------------------------------------------------------------------------------
  // Message formats (also used by the benchmark to build raw messages)
  // -------------------------------------------------------------------------------------------

  #tradeJson(s: SymbolState, t: FakeTrade): string {
    // https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#trade-streams
    return `{"e":"trade","E":${t.time},"s":"${s.spec.symbol}","t":${t.id},"p":"${priceString(t.priceTicks)}","q":"${qtyString(t.qty)}","T":${t.time},"m":${t.buyerIsMaker},"M":true}`;
  }

  #depthEvent(
    s: SymbolState,
    U: number,
    u: number,
    bids: readonly (readonly [number, number])[],
    asks: readonly (readonly [number, number])[],
  ): void {
    const lv = (l: readonly (readonly [number, number])[]) =>
      l.map(([p, q]) => `["${priceString(p)}","${qtyString(q)}"]`).join(',');
    // https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#diff-depth-stream
    const json = `{"e":"depthUpdate","E":${this.#now()},"s":"${s.spec.symbol}","U":${U},"u":${u},"b":[${lv(bids)}],"a":[${lv(asks)}]}`;
    const lower = s.spec.symbol.toLowerCase();
    this.#send(`${lower}@depth`, json);
    this.#send(`${lower}@depth@100ms`, json);
  }

  #marketStep(s: SymbolState, rng: Xoshiro128, tradeShare: number): void {
    const bestBid = this.#best(s.bids, 1);
    const bestAsk = this.#best(s.asks, -1);
    if (rng.next() < tradeShare && bestBid > 0 && bestAsk > 0) {
      const buy = rng.next() < 0.5;
      const px = buy ? bestAsk : bestBid;
      this.trade(s.spec.symbol, px, (10 + Math.floor(rng.next() * 100)) / 10_000, !buy);
      return;
    }
    const bid = rng.next() < 0.5;
    const mid = this.#mid(s);
    const dist = 1 + Math.floor(rng.next() * 10);
    const px = bid ? mid - dist : mid + dist;
    // A level at the touch may go (qty 0); deeper ones are resized.
    const qty = rng.next() < 0.15 ? 0 : (1 + Math.floor(rng.next() * 50)) / 10;
    const book = bid ? s.bids : s.asks;
    if (qty === 0 && book.size <= 2) return;
    this.depthUpdate(s.spec.symbol, bid ? [[px, qty]] : [], bid ? [] : [[px, qty]]);
  }

  #best(side: Map<number, number>, dir: 1 | -1): number {
    let best = 0;
    for (const p of side.keys()) if (best === 0 || (dir === 1 ? p > best : p < best)) best = p;
    return best;
  }

  #mid(s: SymbolState): number {
    const b = this.#best(s.bids, 1);
    const a = this.#best(s.asks, -1);
    return b > 0 && a > 0 ? Math.round((a + b) / 2) : s.spec.midTicks;
  }

  #now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  #state(symbol: string): SymbolState {
    const s = this.#symbols.get(symbol);
    if (!s) throw new Error(`fake binance: no symbol ${symbol}`);
    return s;
  }

  // -------------------------------------------------------------------------------------------
  // WebSocket
  // -------------------------------------------------------------------------------------------

  #connection(ws: WebSocket, req: IncomingMessage): void {
    this.connectionsOpened++;
    const u = new URL(req.url ?? '/', 'http://x');
    const streams = new Set<string>();
    let combined = false;
    if (u.pathname === '/stream') {
      combined = true;
      for (const st of (u.searchParams.get('streams') ?? '').split('/')) if (st) streams.add(st);
    } else {
      // /ws/<stream> subscribes to that stream; CCXT connects to /ws/<index> and SUBSCRIBEs.
      const tail = u.pathname.replace(/^\/(stream\/)?ws\/?/, '');
      if (tail.includes('@')) streams.add(tail);
    }
    this.#sockets.add(ws);
    this.#subs.set(ws, { streams, combined });
    ws.on('close', () => {
      this.#sockets.delete(ws);
      this.#subs.delete(ws);
    });
    ws.on('error', () => undefined);
    ws.on('message', (data) => this.#control(ws, data.toString()));
  }

  #control(ws: WebSocket, text: string): void {
    let msg: { method?: unknown; params?: unknown; id?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      // Binance: {"code": 2, "msg": "Invalid request: …"} (an error object on the live stream).
      ws.send(JSON.stringify({ error: { code: 2, msg: 'Invalid JSON' }, id: null }));
      return;
    }
    this.controlMessages.push({ method: String(msg.method), params: msg.params, id: msg.id });
    const sub = this.#subs.get(ws);
    if (!sub) return;
    const params = Array.isArray(msg.params) ? msg.params.map(String) : [];
    switch (msg.method) {
      case 'SUBSCRIBE':
        for (const p of params) sub.streams.add(p);
        ws.send(JSON.stringify({ result: null, id: msg.id }));
        return;
      case 'UNSUBSCRIBE':
        for (const p of params) sub.streams.delete(p);
        ws.send(JSON.stringify({ result: null, id: msg.id }));
        return;
      case 'LIST_SUBSCRIPTIONS':
        ws.send(JSON.stringify({ result: [...sub.streams], id: msg.id }));
        return;
      default:
        ws.send(JSON.stringify({ error: { code: 1, msg: 'Unknown method' }, id: msg.id ?? null }));
    }
  }

  #send(stream: string, json: string): void {
    for (const [ws, sub] of this.#subs) {
      if (!sub.streams.has(stream) || ws.readyState !== ws.OPEN) continue;
      ws.send(sub.combined ? `{"stream":"${stream}","data":${json}}` : json);
    }
  }

  #drain(): Promise<void> {
    return drainSockets(this.#sockets);
  }

  // -------------------------------------------------------------------------------------------
  // REST
  // -------------------------------------------------------------------------------------------

  // Returns whatever the route returned (nothing useful): each route ends its response.
  #http(req: IncomingMessage, res: ServerResponse): unknown {
    const u = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(u.searchParams);
    this.requests.push({ path: u.pathname, query });
    const fi = this.#faults.findIndex((f) => f.path === u.pathname || f.path === '*');
    if (fi >= 0) {
      const [f] = this.#faults.splice(fi, 1);
      if (f) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (f.retryAfterS !== undefined) headers['retry-after'] = String(f.retryAfterS);
        res.writeHead(f.status, headers).end(JSON.stringify(f.body));
        return;
      }
    }
    const ok = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const badSymbol = (): void => {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: -1121, msg: 'Invalid symbol.' }));
    };
    const sym = query.symbol ? this.#symbols.get(query.symbol) : undefined;
    const limit = (dflt: number, max: number) => Math.min(max, Number(query.limit ?? dflt) || dflt);
    switch (u.pathname) {
      case '/api/v3/ping':
        return ok({});
      case '/api/v3/time':
        return ok({ serverTime: this.#now() });
      case '/api/v3/exchangeInfo':
        return ok(this.#exchangeInfo());
      case '/api/v3/depth': {
        if (!sym) return badSymbol();
        const b = this.book(sym.spec.symbol);
        const n = limit(100, 5000);
        const lv = (l: [number, number][]) => l.slice(0, n).map(([p, q]) => [priceString(p), qtyString(q)]);
        return ok({ lastUpdateId: sym.lastUpdateId, bids: lv(b.bids), asks: lv(b.asks) });
      }
      case '/api/v3/trades': {
        if (!sym) return badSymbol();
        const n = limit(500, 1000);
        return ok(
          sym.trades.slice(-n).map((t) => ({
            id: t.id,
            price: priceString(t.priceTicks),
            qty: qtyString(t.qty),
            quoteQty: ((t.priceTicks / 100) * t.qty).toFixed(8),
            time: t.time,
            isBuyerMaker: t.buyerIsMaker,
            isBestMatch: true,
          })),
        );
      }
      case '/api/v3/aggTrades': {
        if (!sym) return badSymbol();
        const n = limit(500, 1000);
        const start = query.startTime !== undefined ? Number(query.startTime) : null;
        const end = query.endTime !== undefined ? Number(query.endTime) : null;
        const fromId = query.fromId !== undefined ? Number(query.fromId) : null;
        let rows = sym.trades.filter(
          (t) =>
            (start === null || t.time >= start) &&
            (end === null || t.time <= end) &&
            (fromId === null || t.id >= fromId),
        );
        // Without a window Binance returns the most recent; with one, the earliest in it.
        rows = start === null && fromId === null ? rows.slice(-n) : rows.slice(0, n);
        return ok(
          rows.map((t) => ({
            a: t.id,
            p: priceString(t.priceTicks),
            q: qtyString(t.qty),
            f: t.id,
            l: t.id,
            T: t.time,
            m: t.buyerIsMaker,
            M: true,
          })),
        );
      }
      case '/api/v3/ticker/bookTicker': {
        const rows = this.#selected(query).map((s) => {
          const b = this.book(s.spec.symbol);
          const [bb, ba] = [b.bids[0], b.asks[0]];
          return {
            symbol: s.spec.symbol,
            bidPrice: priceString(bb?.[0] ?? 0),
            bidQty: qtyString(bb?.[1] ?? 0),
            askPrice: priceString(ba?.[0] ?? 0),
            askQty: qtyString(ba?.[1] ?? 0),
          };
        });
        if (query.symbol && rows.length === 0) return badSymbol();
        return ok(query.symbol ? rows[0] : rows);
      }
      case '/api/v3/ticker/24hr': {
        const rows = this.#selected(query).map((s) => this.#ticker24(s));
        if (query.symbol && rows.length === 0) return badSymbol();
        return ok(query.symbol ? rows[0] : rows);
      }
      default:
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: -1000, msg: `fake binance: no ${u.pathname}` }));
    }
  }

  #selected(query: Record<string, string>): SymbolState[] {
    if (query.symbol) {
      const s = this.#symbols.get(query.symbol);
      return s ? [s] : [];
    }
    if (query.symbols) {
      const wanted = JSON.parse(query.symbols) as string[];
      return wanted.flatMap((w) => this.#symbols.get(w) ?? []);
    }
    return [...this.#symbols.values()];
  }

  #ticker24(s: SymbolState): unknown {
    const b = this.book(s.spec.symbol);
    const last = s.trades.at(-1);
    const lastPx = last?.priceTicks ?? this.#mid(s);
    const now = this.#now();
    return {
      symbol: s.spec.symbol,
      priceChange: '0.00',
      priceChangePercent: '0.000',
      weightedAvgPrice: priceString(lastPx),
      prevClosePrice: priceString(lastPx),
      lastPrice: priceString(lastPx),
      lastQty: qtyString(last?.qty ?? 0),
      bidPrice: priceString(b.bids[0]?.[0] ?? 0),
      bidQty: qtyString(b.bids[0]?.[1] ?? 0),
      askPrice: priceString(b.asks[0]?.[0] ?? 0),
      askQty: qtyString(b.asks[0]?.[1] ?? 0),
      openPrice: priceString(lastPx),
      highPrice: priceString(lastPx),
      lowPrice: priceString(lastPx),
      volume: '0.00000',
      quoteVolume: '0.00',
      openTime: now - 86_400_000,
      closeTime: now,
      firstId: s.trades[0]?.id ?? -1,
      lastId: last?.id ?? -1,
      count: s.trades.length,
    };
  }

  #exchangeInfo(): unknown {
    return {
      timezone: 'UTC',
      serverTime: this.#now(),
      rateLimits: [{ rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 }],
      exchangeFilters: [],
      symbols: [...this.#symbols.values()].map(({ spec }) => ({
        symbol: spec.symbol,
        status: 'TRADING',
        baseAsset: spec.base,
        baseAssetPrecision: 8,
        quoteAsset: spec.quote,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
        icebergAllowed: true,
        ocoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          {
            filterType: 'PRICE_FILTER',
            minPrice: spec.tickSize,
            maxPrice: '1000000.00',
            tickSize: spec.tickSize,
          },
          { filterType: 'LOT_SIZE', minQty: spec.stepSize, maxQty: '9000.00000', stepSize: spec.stepSize },
          {
            filterType: 'NOTIONAL',
            minNotional: '5',
            applyMinToMarket: true,
            maxNotional: '9000000',
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
      })),
    };
  }
}
