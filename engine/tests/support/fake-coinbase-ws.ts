/**
 * A local Coinbase Advanced Trade market-data WebSocket (wss://advanced-trade-ws.coinbase.com) for
 * the engine's feed tests, the end-to-end tests and the console's browser tests: a real `ws`
 * server on 127.0.0.1 speaking the documented format
 * (https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels):
 *
 *   client → {type: subscribe|unsubscribe, channel: level2|market_trades|heartbeats,
 *             product_ids: [...], jwt?}            one channel per message
 *   server → {channel, client_id: "", timestamp, sequence_num, events: [...]}
 *             l2_data (a snapshot event per product on subscribe, then update events),
 *             market_trades (a snapshot of recent trades on subscribe, then updates),
 *             heartbeats (every heartbeatIntervalMs), subscriptions (after each request),
 *             {type: "error", message} for a request it cannot read.
 *
 * `sequence_num` counts every message per connection from 0, as Coinbase numbers them. The book
 * is kept in integer price ticks of 0.01 (no float keys) and sent as decimal strings.
 *
 * Test controls: set a book, push level updates and trades, heartbeats; skip sequence numbers (a
 * gap), swap the next two messages (out of order), send raw text (malformed), drop the connection
 * half way through the next snapshot frame, go silent (no heartbeats), shift the server clock
 * (skew), drop every connection, a burst of N messages paced by the socket's buffer, and a
 * deterministic "market maker" (seeded random walk of the book plus trades at N messages/s).
 *
 * Over 400 lines on purpose: one fake server whose subscription protocol, market simulation and
 * message formats share one state.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { Xoshiro128 } from '../../src/random/seeded-random.ts';
import { drainSockets, paced } from './socket-pacing.ts';

export interface FakeCoinbaseOptions {
  /** Port on 127.0.0.1 (0 = any free port). */
  readonly port?: number;
  /** Heartbeats to heartbeats subscribers every this many ms (0 = only when `heartbeat()` is called). */
  readonly heartbeatIntervalMs?: number;
  /** Products with a starting book: mid in ticks of 0.01 and levels per side. */
  readonly products?: readonly FakeProductSpec[];
  readonly seed?: number;
}

export interface FakeProductSpec {
  readonly productId: string;
  /** Mid price in ticks of 0.01 (e.g. 5_000_000 = 50 000.00). */
  readonly midTicks: number;
  readonly levels?: number;
}

export const FAKE_COINBASE_PRODUCTS: readonly FakeProductSpec[] = [
  { productId: 'BTC-USD', midTicks: 5_000_000, levels: 20 },
  { productId: 'ETH-USD', midTicks: 300_000, levels: 20 },
  { productId: 'SOL-USD', midTicks: 15_000, levels: 20 },
];

export type FakeSide = 'bid' | 'offer';
export interface FakeLevel {
  readonly side: FakeSide;
  /** Price as a decimal (2 decimals are kept). */
  readonly price: string | number;
  readonly size: string | number;
}
export interface FakeTradeInput {
  readonly price: string | number;
  readonly size: string | number;
  /** The maker's side, as Coinbase reports it. */
  readonly side: 'BUY' | 'SELL';
}

/** A request the server received, in arrival order. */
export interface FakeRequest {
  readonly connection: number;
  readonly type: string;
  readonly channel: string;
  readonly productIds: readonly string[];
  readonly hasJwt: boolean;
}

interface Conn {
  readonly n: number;
  readonly ws: WebSocket;
  seq: number;
  /** Sequence numbers the next message skips (a lost message). */
  skip: number;
  readonly level2: Set<string>;
  readonly trades: Set<string>;
  heartbeats: boolean;
  silent: boolean;
  /** Cut mid-frame: never written to again (silence() cannot lift it). */
  dead: boolean;
  /** A message held back to be sent after the next one (out of order). */
  swapPending: boolean;
  held: string | null;
}

interface FakeBook {
  readonly bids: Map<number, number>; // price ticks → size
  readonly asks: Map<number, number>;
  recentTrades: { id: number; priceTicks: number; size: number; side: 'BUY' | 'SELL'; time: string }[];
}

export class FakeCoinbaseWs {
  readonly url: string;
  readonly requests: FakeRequest[] = [];
  /** Connections accepted since start. */
  connections = 0;
  /** Messages sent (all connections). */
  sent = 0;
  readonly #wss: WebSocketServer;
  readonly #conns = new Set<Conn>();
  readonly #books = new Map<string, FakeBook>();
  readonly #rng: Xoshiro128;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #heartbeatCounter = 0;
  #tradeId = 1;
  #clockOffsetMs = 0;
  #dropMidSnapshot = false;
  #ignore = 0;
  #stopMarket: (() => void) | null = null;
  readonly #mid = new Map<string, number>();
  readonly #levels = new Map<string, number>();

  private constructor(wss: WebSocketServer, options: FakeCoinbaseOptions) {
    this.#wss = wss;
    const port = (wss.address() as AddressInfo).port;
    this.url = `ws://127.0.0.1:${port}`;
    this.#rng = new Xoshiro128(options.seed ?? 1);
    for (const p of options.products ?? FAKE_COINBASE_PRODUCTS) this.#seedBook(p);
    wss.on('connection', (ws) => this.#accept(ws));
    const every = options.heartbeatIntervalMs ?? 1000;
    if (every > 0) this.#heartbeatTimer = setInterval(() => this.heartbeat(), every);
  }

  static async start(options: FakeCoinbaseOptions = {}): Promise<FakeCoinbaseWs> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new FakeCoinbaseWs(wss, options);
  }

  async close(): Promise<void> {
    this.stopMarketMaker();
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    for (const c of this.#conns) c.ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.#conns.size;
  }

  /** Resolves once `check()` holds (polled every 5 ms); rejects after `timeoutMs` naming `what`. */
  async waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`fake coinbase: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // ---- the book ----------------------------------------------------------------------------

  /** Replaces a product's book (the next snapshot sends it). Levels as [price, size] decimals. */
  setBook(
    productId: string,
    bids: readonly (readonly [string | number, string | number])[],
    asks: readonly (readonly [string | number, string | number])[],
  ): void {
    const b = this.#book(productId);
    b.bids.clear();
    b.asks.clear();
    for (const [p, s] of bids) b.bids.set(toTicks(p), Number(s));
    for (const [p, s] of asks) b.asks.set(toTicks(p), Number(s));
  }

  /** A product's book, best first, as numbers: what a client that kept up must hold. */
  bookOf(productId: string): { bids: [number, number][]; asks: [number, number][] } {
    const b = this.#book(productId);
    const sorted = (m: Map<number, number>, desc: boolean) =>
      [...m.entries()]
        .sort((x, y) => (desc ? y[0] - x[0] : x[0] - y[0]))
        .map(([p, s]) => [p / 100, s] as [number, number]);
    return { bids: sorted(b.bids, true), asks: sorted(b.asks, false) };
  }

  // ---- pushing data ------------------------------------------------------------------------

  /** Applies level changes to the book and sends one l2_data update to level2 subscribers. */
  pushL2(productId: string, levels: readonly FakeLevel[]): void {
    const b = this.#book(productId);
    const time = this.#now();
    const updates = levels.map((l) => {
      const ticks = toTicks(l.price);
      const size = Number(l.size);
      const m = l.side === 'bid' ? b.bids : b.asks;
      if (size === 0) m.delete(ticks);
      else m.set(ticks, size);
      return { side: l.side, event_time: time, price_level: fmtPrice(ticks), new_quantity: fmtSize(size) };
    });
    this.#broadcast('level2', productId, 'l2_data', [{ type: 'update', product_id: productId, updates }]);
  }

  /** Sends one market_trades update (the trades newest first, as Coinbase does). */
  pushTrades(productId: string, trades: readonly FakeTradeInput[]): void {
    const b = this.#book(productId);
    const time = this.#now();
    const rows = trades.map((t) => {
      const row = {
        id: this.#tradeId++,
        priceTicks: toTicks(t.price),
        size: Number(t.size),
        side: t.side,
        time,
      };
      b.recentTrades.push(row);
      return row;
    });
    if (b.recentTrades.length > 50) b.recentTrades = b.recentTrades.slice(-50);
    this.#broadcast('market_trades', productId, 'market_trades', [
      { type: 'update', trades: rows.reverse().map((r) => tradeJson(productId, r)) },
    ]);
  }

  /** One heartbeat to every heartbeats subscriber. */
  heartbeat(): void {
    const counter = ++this.#heartbeatCounter;
    for (const c of this.#conns) {
      if (!c.heartbeats || c.silent) continue;
      this.#send(c, 'heartbeats', [
        { current_time: new Date(this.#nowMs()).toISOString(), heartbeat_counter: counter },
      ]);
    }
  }

  // ---- faults --------------------------------------------------------------------------------

  /** The next message on every connection skips `n` sequence numbers (a lost message). */
  skipSequence(n = 1): void {
    for (const c of this.#conns) c.skip += n;
  }

  /** On every connection, the next message is held and sent after the one following it. */
  swapNextTwo(): void {
    for (const c of this.#conns) c.swapPending = true;
  }

  /** Raw text to every connection (malformed input; it carries no sequence number). */
  sendRaw(text: string): void {
    for (const c of this.#conns) {
      if (c.silent) continue;
      c.ws.send(text);
      this.sent++;
    }
  }

  /** Sends an envelope with any events/fields (shape errors), numbered like any message. */
  sendEnvelope(channel: string, events: unknown, extra: Record<string, unknown> = {}): void {
    for (const c of this.#conns) this.#send(c, channel, events, extra);
  }

  /** The next level2 snapshot frame is cut in half: the first half is sent, then the socket dies. */
  dropMidNextSnapshot(): void {
    this.#dropMidSnapshot = true;
  }

  /** The next `n` subscribe/unsubscribe requests are recorded but neither applied nor answered. */
  ignoreNextRequests(n: number): void {
    this.#ignore += n;
  }

  /** Connections stop receiving anything (heartbeats too) while `on`; the sockets stay open. */
  silence(on: boolean): void {
    for (const c of this.#conns) c.silent = on || c.dead;
  }

  /** The server's clock runs this many ms ahead of the real one (clock-skew tests). */
  setClockOffsetMs(ms: number): void {
    this.#clockOffsetMs = ms;
  }

  /** Terminates every connection (no close handshake: a network drop). */
  dropAll(): void {
    for (const c of this.#conns) c.ws.terminate();
  }

  // ---- volume --------------------------------------------------------------------------------

  /**
   * Sends `n` messages for `productId` as fast as the client reads them (paced by the socket's
   * buffer): alternately an l2 update (one existing level resized, the book never crosses) and a
   * trade. Returns what a client that decodes everything must have seen.
   */
  async burst(productId: string, n: number): Promise<{ l2Messages: number; tradeMessages: number }> {
    const b = this.#book(productId);
    const bidTicks = [...b.bids.keys()];
    const askTicks = [...b.asks.keys()];
    if (bidTicks.length === 0 || askTicks.length === 0) throw new Error('burst needs a two-sided book');
    let l2Messages = 0;
    let tradeMessages = 0;
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) {
        const bid = this.#rng.next() < 0.5;
        const keys = bid ? bidTicks : askTicks;
        const price = keys[this.#rng.int(keys.length)] as number;
        const size = 1 + this.#rng.int(1000) / 100;
        this.pushL2(productId, [{ side: bid ? 'bid' : 'offer', price: fmtPrice(price), size }]);
        l2Messages++;
      } else {
        const price = bidTicks[this.#rng.int(bidTicks.length)] as number;
        this.pushTrades(productId, [
          { price: fmtPrice(price), size: 0.01, side: this.#rng.next() < 0.5 ? 'BUY' : 'SELL' },
        ]);
        tradeMessages++;
      }
      if (i % 256 === 0) await this.#drain();
    }
    await this.#drain();
    return { l2Messages, tradeMessages };
  }

  /**
   * Streams a deterministic market for `products` (default: every product with a book): each
   * step moves the mid by -1, 0 or +1 tick (seeded), resends the levels that changed, and prints
   * a trade at the touch on about one step in three. About `messagesPerSecond` messages in all.
   */
  startMarketMaker(options: {
    messagesPerSecond: number;
    products?: readonly string[];
    seed?: number;
  }): void {
    this.stopMarketMaker();
    const rng = new Xoshiro128(options.seed ?? 7);
    const products = options.products ?? [...this.#books.keys()];
    this.#stopMarket = paced(options.messagesPerSecond, () => {
      const p = products[rng.int(products.length)] as string;
      if (rng.next() < 0.33) this.#mmTrade(p, rng);
      else this.#mmStep(p, rng);
    });
  }

  stopMarketMaker(): void {
    this.#stopMarket?.();
    this.#stopMarket = null;
  }

  // ---- internals -------------------------------------------------------------------------------

  #seedBook(p: FakeProductSpec): void {
    const levels = p.levels ?? 20;
    this.#mid.set(p.productId, p.midTicks);
    this.#levels.set(p.productId, levels);
    const b = this.#book(p.productId);
    for (let i = 1; i <= levels; i++) {
      b.bids.set(p.midTicks - i, 1 + this.#rng.int(500) / 100);
      b.asks.set(p.midTicks + i, 1 + this.#rng.int(500) / 100);
    }
  }

  #mmStep(productId: string, rng: Xoshiro128): void {
    const b = this.#book(productId);
    const levels = this.#levels.get(productId) ?? 20;
    const mid = (this.#mid.get(productId) ?? 10_000) + (rng.int(3) - 1);
    this.#mid.set(productId, mid);
    const changes: FakeLevel[] = [];
    // Levels that left the band (or crossed the new mid) go; the band is refilled.
    for (const [ticks] of b.bids)
      if (ticks >= mid || ticks < mid - levels) changes.push({ side: 'bid', price: ticks, size: 0 });
    for (const [ticks] of b.asks)
      if (ticks <= mid || ticks > mid + levels) changes.push({ side: 'offer', price: ticks, size: 0 });
    for (let i = 1; i <= levels; i++) {
      if (!b.bids.has(mid - i)) changes.push({ side: 'bid', price: mid - i, size: 1 + rng.int(500) / 100 });
      if (!b.asks.has(mid + i)) changes.push({ side: 'offer', price: mid + i, size: 1 + rng.int(500) / 100 });
    }
    const side: FakeSide = rng.next() < 0.5 ? 'bid' : 'offer';
    const at = side === 'bid' ? mid - 1 - rng.int(3) : mid + 1 + rng.int(3);
    changes.push({ side, price: at, size: 1 + rng.int(500) / 100 });
    this.pushL2(
      productId,
      changes.map((c) => ({ ...c, price: fmtPrice(Number(c.price)) })),
    );
  }

  #mmTrade(productId: string, rng: Xoshiro128): void {
    const mid = this.#mid.get(productId) ?? 10_000;
    const makerBuys = rng.next() < 0.5; // a seller hits the bid, or a buyer lifts the offer
    this.pushTrades(productId, [
      {
        price: fmtPrice(makerBuys ? mid - 1 : mid + 1),
        size: (1 + rng.int(100)) / 100,
        side: makerBuys ? 'BUY' : 'SELL',
      },
    ]);
  }

  #book(productId: string): FakeBook {
    let b = this.#books.get(productId);
    if (!b) {
      b = { bids: new Map(), asks: new Map(), recentTrades: [] };
      this.#books.set(productId, b);
    }
    return b;
  }

  #accept(ws: WebSocket): void {
    const c: Conn = {
      n: this.connections++,
      ws,
      seq: 0,
      skip: 0,
      level2: new Set(),
      trades: new Set(),
      heartbeats: false,
      silent: false,
      dead: false,
      swapPending: false,
      held: null,
    };
    this.#conns.add(c);
    ws.on('close', () => this.#conns.delete(c));
    ws.on('error', () => this.#conns.delete(c));
    ws.on('message', (data) => this.#request(c, String(data)));
  }

  #request(c: Conn, text: string): void {
    if (c.dead) return;
    let req: { type?: unknown; channel?: unknown; product_ids?: unknown; jwt?: unknown };
    try {
      req = JSON.parse(text);
    } catch {
      c.ws.send(JSON.stringify({ type: 'error', message: 'failure to parse request' }));
      return;
    }
    const type = req.type;
    const channel = req.channel;
    const products = Array.isArray(req.product_ids) ? req.product_ids.map(String) : [];
    if ((type !== 'subscribe' && type !== 'unsubscribe') || typeof channel !== 'string') {
      c.ws.send(JSON.stringify({ type: 'error', message: 'invalid request' }));
      return;
    }
    this.requests.push({
      connection: c.n,
      type,
      channel,
      productIds: products,
      hasJwt: typeof req.jwt === 'string',
    });
    if (this.#ignore > 0) {
      this.#ignore--;
      return;
    }
    const on = type === 'subscribe';
    if (channel === 'heartbeats') c.heartbeats = on;
    else if (channel === 'level2' || channel === 'market_trades') {
      const set = channel === 'level2' ? c.level2 : c.trades;
      for (const p of products) {
        if (on) set.add(p);
        else set.delete(p);
      }
    } else {
      c.ws.send(JSON.stringify({ type: 'error', message: `unknown channel ${channel}` }));
      return;
    }
    this.#send(c, 'subscriptions', [
      {
        subscriptions: {
          ...(c.heartbeats ? { heartbeats: ['heartbeats'] } : {}),
          ...(c.level2.size ? { level2: [...c.level2] } : {}),
          ...(c.trades.size ? { market_trades: [...c.trades] } : {}),
        },
      },
    ]);
    if (!on) return;
    if (channel === 'level2') for (const p of products) this.#sendSnapshot(c, p);
    if (channel === 'market_trades') {
      for (const p of products) {
        const recent = this.#book(p).recentTrades.slice(-10).reverse();
        this.#send(c, 'market_trades', [{ type: 'snapshot', trades: recent.map((r) => tradeJson(p, r)) }]);
      }
    }
  }

  #sendSnapshot(c: Conn, productId: string): void {
    const b = this.#book(productId);
    const time = this.#now();
    const updates: unknown[] = [];
    for (const [ticks, size] of b.bids)
      updates.push({
        side: 'bid',
        event_time: time,
        price_level: fmtPrice(ticks),
        new_quantity: fmtSize(size),
      });
    for (const [ticks, size] of b.asks)
      updates.push({
        side: 'offer',
        event_time: time,
        price_level: fmtPrice(ticks),
        new_quantity: fmtSize(size),
      });
    const events = [{ type: 'snapshot', product_id: productId, updates }];
    if (this.#dropMidSnapshot) {
      this.#dropMidSnapshot = false;
      const text = this.#envelope(c, 'l2_data', events);
      // The first half as a non-final fragment: the client never sees a whole message. Nothing
      // else may follow on this socket (ws would send it as the continuation of this fragment).
      c.silent = true;
      c.dead = true;
      c.ws.send(text.slice(0, text.length >> 1), { fin: false }, () => c.ws.terminate());
      return;
    }
    this.#send(c, 'l2_data', events);
  }

  #broadcast(
    channel: 'level2' | 'market_trades',
    productId: string,
    wireChannel: string,
    events: unknown[],
  ): void {
    for (const c of this.#conns) {
      const subs = channel === 'level2' ? c.level2 : c.trades;
      if (subs.has(productId)) this.#send(c, wireChannel, events);
    }
  }

  #envelope(c: Conn, channel: string, events: unknown, extra: Record<string, unknown> = {}): string {
    c.seq += c.skip;
    c.skip = 0;
    const seq = c.seq++;
    return JSON.stringify({
      channel,
      client_id: '',
      timestamp: this.#now(),
      sequence_num: seq,
      events,
      ...extra,
    });
  }

  #send(c: Conn, channel: string, events: unknown, extra: Record<string, unknown> = {}): void {
    if (c.silent) return;
    const text = this.#envelope(c, channel, events, extra);
    if (c.swapPending) {
      c.swapPending = false;
      c.held = text;
      return;
    }
    c.ws.send(text);
    this.sent++;
    if (c.held !== null) {
      c.ws.send(c.held);
      c.held = null;
      this.sent++;
    }
  }

  #drain(): Promise<void> {
    return drainSockets([...this.#conns].map((c) => c.ws));
  }

  #nowMs(): number {
    return Date.now() + this.#clockOffsetMs;
  }

  /** RFC 3339 with microseconds, as Coinbase writes its times. */
  #now(): string {
    const iso = new Date(this.#nowMs()).toISOString(); // …ss.mmmZ
    return `${iso.slice(0, 23)}000Z`;
  }
}

function toTicks(p: string | number): number {
  return Math.round(Number(p) * 100);
}

function fmtPrice(ticks: number): string {
  return (ticks / 100).toFixed(2);
}

function fmtSize(size: number): string {
  return String(size);
}

function tradeJson(
  productId: string,
  r: { id: number; priceTicks: number; size: number; side: string; time: string },
) {
  return {
    trade_id: String(r.id),
    product_id: productId,
    price: fmtPrice(r.priceTicks),
    size: fmtSize(r.size),
    side: r.side,
    time: r.time,
  };
}

/**
 * Standalone, for a local demo or a browser test run by hand: a streaming Coinbase on a fixed port.
 *   node engine/tests/support/fake-coinbase-ws.ts [port=8765] [messages per second=200] [seed=7]
 * then ENGINE_FEED=coinbase with the Coinbase URL set to the printed ws:// address.
 */
if (import.meta.main) {
  const [port = '8765', rate = '200', seed = '7'] = process.argv.slice(2);
  const fake = await FakeCoinbaseWs.start({ port: Number(port) });
  fake.startMarketMaker({ messagesPerSecond: Number(rate), seed: Number(seed) });
  process.stdout.write(`fake coinbase: ${fake.url} (${rate} msg/s, seed ${seed})\n`);
  const bye = () => void fake.close().then(() => process.exit(0));
  process.once('SIGINT', bye);
  process.once('SIGTERM', bye);
}
