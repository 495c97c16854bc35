import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { Xoshiro128 } from '../../src/random/seeded-random.ts';

/**
 * A local Alpaca market data stream (v2 stocks) for the engine's feed tests, speaking the
 * documented protocol (docs.alpaca.markets "Real-time Stock Data", "WebSocket Stream"):
 *
 *   ws://127.0.0.1:<port>/v2/<feed>      (any feed name: iex, sip, test)
 *   → [{"T":"success","msg":"connected"}] on connect
 *   ← {"action":"auth","key","secret"}   → [{"T":"success","msg":"authenticated"}]
 *                                          or [{"T":"error","code":402,"msg":"auth failed"}] and close
 *   ← {"action":"subscribe"|"unsubscribe","trades":[…],"quotes":[…],"bars":[…]}
 *                                        → [{"T":"subscription","trades","quotes","bars",…}]
 *   data before auth                     → 401 not authenticated; a second connection beyond
 *                                          `maxConnections` → 406 connection limit exceeded and close;
 *                                          no auth within `authTimeoutMs` → 404 auth timeout and close
 *   data frames are JSON arrays batching messages; a client gets the trades and quotes of the
 *   symbols it subscribed (`*` = all), as Alpaca filters them.
 *
 * Test controls: push batches of trades/quotes (`push`), raw text (malformed), an error message,
 * drop every socket, a burst of N messages paced to the socket's buffer, and a deterministic
 * market (seeded random walk: quotes and trades for given symbols at N messages/s) that other
 * end-to-end tests can stream from.
 */
export interface FakeAlpacaStreamOptions {
  readonly keyId: string;
  readonly secretKey: string;
  /** Connections per key at once (Alpaca's default subscription allows 1). */
  readonly maxConnections?: number;
  readonly authTimeoutMs?: number;
}

export interface AlpacaTradeMessage {
  readonly T: 't';
  readonly S: string;
  readonly i: number;
  readonly x: string;
  readonly p: number;
  readonly s: number;
  readonly t: string;
  readonly c: readonly string[];
  readonly z: string;
}

export interface AlpacaQuoteMessage {
  readonly T: 'q';
  readonly S: string;
  readonly bx: string;
  readonly bp: number;
  readonly bs: number;
  readonly ax: string;
  readonly ap: number;
  readonly as: number;
  readonly t: string;
  readonly c: readonly string[];
  readonly z: string;
}

interface Client {
  readonly ws: WebSocket;
  authenticated: boolean;
  readonly trades: Set<string>;
  readonly quotes: Set<string>;
  readonly bars: Set<string>;
}

/** Pause a burst while a socket has this much unsent (the burst paces to the client's reads). */
const SOCKET_HIGH_WATER = 4 * 1024 * 1024;

/** RFC 3339 with nanoseconds, as Alpaca dates messages: ms from the clock, the rest from `ns`. */
export function alpacaTime(ms: number, subMsNs = 0): string {
  const iso = new Date(ms).toISOString(); // 2021-02-22T15:51:44.208Z
  return `${iso.slice(0, 23)}${String(Math.max(0, Math.min(999_999, subMsNs))).padStart(6, '0')}Z`;
}

export class FakeAlpacaStream {
  readonly #o: Required<FakeAlpacaStreamOptions>;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #clients = new Set<Client>();
  #tradeId = 1;
  #market: { stop: () => void } | null = null;
  url = '';
  /** Every JSON frame clients sent, in order (the tests check auth and subscribe messages). */
  readonly received: Record<string, unknown>[] = [];
  authOk = 0;
  authFailed = 0;
  connectionsTotal = 0;
  refusedForLimit = 0;

  private constructor(options: FakeAlpacaStreamOptions) {
    this.#o = { maxConnections: 1, authTimeoutMs: 10_000, ...options };
    this.#http = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    this.#wss = new WebSocketServer({ server: this.#http, path: undefined });
    this.#wss.on('connection', (ws, req) => this.#onConnection(ws, req.url ?? ''));
  }

  static async start(options: FakeAlpacaStreamOptions): Promise<FakeAlpacaStream> {
    const s = new FakeAlpacaStream(options);
    await new Promise<void>((resolve) => s.#http.listen(0, '127.0.0.1', resolve));
    const port = (s.#http.address() as AddressInfo).port;
    s.url = `ws://127.0.0.1:${port}/v2/test`;
    return s;
  }

  /** ws://…/v2/<feed> for another feed name. */
  urlFor(feed: string): string {
    return this.url.replace(/\/test$/, `/${feed}`);
  }

  /** Sockets open now. */
  get connections(): number {
    return this.#clients.size;
  }

  /** What the newest authenticated client is subscribed to. */
  subscriptions(): { trades: string[]; quotes: string[] } {
    let last: Client | undefined;
    for (const c of this.#clients) if (c.authenticated) last = c;
    return { trades: [...(last?.trades ?? [])].sort(), quotes: [...(last?.quotes ?? [])].sort() };
  }

  /** True once some authenticated client has trades and quotes of every symbol. */
  subscribed(symbols: readonly string[]): boolean {
    for (const c of this.#clients)
      if (c.authenticated && symbols.every((s) => c.trades.has(s) && c.quotes.has(s))) return true;
    return false;
  }

  trade(S: string, p: number, s: number, tMs = Date.now(), subMsNs = 0): AlpacaTradeMessage {
    return { T: 't', S, i: this.#tradeId++, x: 'V', p, s, t: alpacaTime(tMs, subMsNs), c: ['@'], z: 'C' };
  }

  quote(
    S: string,
    bp: number,
    bs: number,
    ap: number,
    as: number,
    tMs = Date.now(),
    subMsNs = 0,
  ): AlpacaQuoteMessage {
    return { T: 'q', S, bx: 'V', bp, bs, ax: 'V', ap, as, t: alpacaTime(tMs, subMsNs), c: ['R'], z: 'C' };
  }

  /** One frame (a JSON array) of messages to every authenticated client, filtered by its subscriptions. */
  push(messages: readonly object[]): void {
    for (const c of this.#clients) {
      if (!c.authenticated) continue;
      const mine = messages.filter((m) => wants(c, m as Record<string, unknown>));
      if (mine.length > 0) c.ws.send(JSON.stringify(mine));
    }
  }

  /** Raw text to every authenticated client (malformed frames). */
  sendRaw(text: string): void {
    for (const c of this.#clients) if (c.authenticated) c.ws.send(text);
  }

  /** An Alpaca error message to every client; `close` then ends their connections as Alpaca does. */
  sendError(code: number, msg: string, close = true): void {
    for (const c of this.#clients) {
      c.ws.send(JSON.stringify([{ T: 'error', code, msg }]));
      if (close) c.ws.close();
    }
  }

  /** Ends every connection abruptly (no close frame), as a network loss would. */
  dropAll(): void {
    for (const c of this.#clients) c.ws.terminate();
  }

  /**
   * `n` messages for `symbol`, `perFrame` to a frame (a quote then trades around it, times
   * increasing by 1 µs), paced to the socket's buffer. Resolves when every frame is handed to the
   * sockets.
   */
  async burst(symbol: string, n: number, perFrame = 1): Promise<void> {
    const base = Date.now();
    let sent = 0;
    let price = 100;
    while (sent < n) {
      if (this.#bufferedMax() > SOCKET_HIGH_WATER) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const frame: object[] = [];
      for (let k = 0; k < perFrame && sent < n; k++, sent++) {
        const tMs = base + Math.floor(sent / 1000);
        const ns = (sent % 1000) * 1000;
        if (sent % 2 === 0) {
          price = 100 + (sent % 200) * 0.01;
          frame.push(this.quote(symbol, price - 0.01, 3, price + 0.01, 4, tMs, ns));
        } else frame.push(this.trade(symbol, price + 0.01, 10, tMs, ns));
      }
      this.push(frame);
      if (sent % 1024 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  /**
   * A deterministic market: every tick of `1000 / msgsPerSec` ms (in batches so high rates work),
   * each symbol's mid takes a seeded random-walk step; a quote is sent, and one message in four is
   * a trade at the bid or the ask. Returns a stop function (also stopped by `close`).
   */
  startMarket(options: {
    readonly symbols: readonly string[];
    readonly msgsPerSec: number;
    readonly seed?: number;
    readonly startPrice?: number;
  }): () => void {
    this.#market?.stop();
    const rng = new Xoshiro128(options.seed ?? 1);
    const cents = new Map(options.symbols.map((s) => [s, Math.round((options.startPrice ?? 100) * 100)]));
    const intervalMs = 10;
    const perInterval = Math.max(1, Math.round((options.msgsPerSec * intervalMs) / 1000));
    let k = 0;
    const timer = setInterval(() => {
      const now = Date.now();
      const frame: object[] = [];
      for (let i = 0; i < perInterval; i++, k++) {
        const sym = options.symbols[k % options.symbols.length] as string;
        let mid = cents.get(sym) as number;
        mid = Math.max(100, mid + (rng.int(3) - 1));
        cents.set(sym, mid);
        const bid = (mid - 1) / 100;
        const ask = (mid + 1) / 100;
        const ns = (i * 997) % 1_000_000;
        if (k % 4 === 3) {
          const buy = rng.int(2) === 1;
          frame.push(this.trade(sym, buy ? ask : bid, 1 + rng.int(100), now, ns));
        } else frame.push(this.quote(sym, bid, 1 + rng.int(9), ask, 1 + rng.int(9), now, ns));
      }
      this.push(frame);
    }, intervalMs);
    const stop = () => clearInterval(timer);
    this.#market = { stop };
    return stop;
  }

  async close(): Promise<void> {
    this.#market?.stop();
    for (const c of this.#clients) c.ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #bufferedMax(): number {
    let max = 0;
    for (const c of this.#clients) max = Math.max(max, c.ws.bufferedAmount);
    return max;
  }

  #onConnection(ws: WebSocket, path: string): void {
    this.connectionsTotal++;
    if (!/^\/v2\/[a-z_]+$/.test(path)) {
      ws.close(1008, 'unknown path');
      return;
    }
    const client: Client = {
      ws,
      authenticated: false,
      trades: new Set(),
      quotes: new Set(),
      bars: new Set(),
    };
    const send = (m: Record<string, unknown>) => ws.send(JSON.stringify([m]));
    const fail = (code: number, msg: string) => {
      send({ T: 'error', code, msg });
      ws.close();
    };
    this.#clients.add(client);
    ws.on('close', () => this.#clients.delete(client));
    ws.on('error', () => this.#clients.delete(client));
    send({ T: 'success', msg: 'connected' });
    const authTimer = setTimeout(() => {
      if (!client.authenticated) fail(404, 'auth timeout');
    }, this.#o.authTimeoutMs);
    ws.on('close', () => clearTimeout(authTimer));

    ws.on('message', (data) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        send({ T: 'error', code: 400, msg: 'invalid syntax' });
        return;
      }
      this.received.push(m);
      if (m.action === 'auth') {
        if (client.authenticated) return send({ T: 'error', code: 403, msg: 'already authenticated' });
        if (m.key !== this.#o.keyId || m.secret !== this.#o.secretKey) {
          this.authFailed++;
          return fail(402, 'auth failed');
        }
        const others = [...this.#clients].filter((c) => c !== client && c.authenticated).length;
        if (others >= this.#o.maxConnections) {
          this.refusedForLimit++;
          return fail(406, 'connection limit exceeded');
        }
        this.authOk++;
        client.authenticated = true;
        clearTimeout(authTimer);
        return send({ T: 'success', msg: 'authenticated' });
      }
      if (m.action === 'subscribe' || m.action === 'unsubscribe') {
        if (!client.authenticated) return send({ T: 'error', code: 401, msg: 'not authenticated' });
        const add = m.action === 'subscribe';
        for (const [key, set] of [
          ['trades', client.trades],
          ['quotes', client.quotes],
          ['bars', client.bars],
        ] as const) {
          const list = m[key];
          if (list === undefined) continue;
          if (!Array.isArray(list) || !list.every((s) => typeof s === 'string'))
            return send({ T: 'error', code: 400, msg: 'invalid syntax' });
          for (const s of list) add ? set.add(s) : set.delete(s);
        }
        return send({
          T: 'subscription',
          trades: [...client.trades],
          quotes: [...client.quotes],
          bars: [...client.bars],
          updatedBars: [],
          dailyBars: [],
          statuses: [],
          lulds: [],
          corrections: [...client.trades],
          cancelErrors: [...client.trades],
        });
      }
      send({ T: 'error', code: 400, msg: 'invalid syntax' });
    });
  }
}

function wants(c: Client, m: Record<string, unknown>): boolean {
  const s = m.S;
  if (typeof s !== 'string') return true;
  if (m.T === 't' || m.T === 'c' || m.T === 'x') return c.trades.has(s) || c.trades.has('*');
  if (m.T === 'q') return c.quotes.has(s) || c.quotes.has('*');
  return true;
}
