// Over 400 lines on purpose: one stream connection's whole protocol (credentials, auth,
// subscription, reconnects) around one socket.

import WebSocket from 'ws';
import { z } from 'zod';
import { FEED_BATCH, yieldToEventLoop } from '../feed.ts';
import type { TickSink } from '../tick.ts';
import { type AlpacaControl, AlpacaDecoder } from './alpaca-decode.ts';
import { abortableSleep, Backoff } from './reconnect.ts';
import type { VenueFeed, VenueFeedContext, VenueFeedStats } from './venue-feed.ts';

/**
 * Alpaca's real-time stock data stream (v2: trades and quotes) as an engine venue feed: name
 * `alpaca`, venue `ALPACA`, instrument symbols = tickers (`instrumentSymbolFor('ALPACA', 'AAPL')`).
 *
 * Protocol (docs.alpaca.markets "Real-time Stock Data" / "WebSocket Stream"): connect to
 * wss://stream.data.alpaca.markets/v2/{iex|sip|delayed_sip|test}; the server greets with
 * `[{"T":"success","msg":"connected"}]`; the client sends `{"action":"auth","key","secret"}` and
 * gets `authenticated` or an error; then `{"action":"subscribe","trades":[…],"quotes":[…]}`,
 * confirmed by a `subscription` message listing everything subscribed. Data frames are JSON arrays
 * batching messages (alpaca-decode.ts decodes them).
 *
 * Alpaca's stream accepts API keys only: OAuth access tokens are not accepted on the market data
 * stream (Alpaca restricts it for licensing), so credentials come from an API-key broker
 * connection (feed-credentials.ts) or from configured keys.
 *
 * Errors: 401 not authenticated, 402 auth failed, 408 v2 not enabled, 409 insufficient
 * subscription, 410 invalid subscribe action for the feed — retrying soon cannot help, so the feed
 * waits `authRetryMs` (default 5 min) between tries and logs the refusal ONCE (code and Alpaca's
 * message; never the key or secret) until a connection succeeds again. 406 connection limit
 * exceeded (another process holds the account's one connection), 404 auth timeout, 500, network
 * errors: reconnect with the capped exponential backoff (reconnect.ts). 405 symbol limit: logged
 * once, the connection keeps what Alpaca accepted. 407 slow client: Alpaca dropped data for us — a
 * gap; Alpaca then closes and the feed reconnects.
 *
 * Gaps (see alpaca-decode.ts for what is and is not detectable): every loss of a subscribed
 * connection is a gap window [last message, first message after resubscribing]. At the loss the
 * books of every symbol are cleared (nothing stale is published; trades print without bid/ask
 * until a quote arrives), `gaps` counts it, and the window is logged once resubscribed (`resyncs`
 * counts the resubscriptions). Alpaca replays nothing: ticks inside the window are lost for good.
 *
 * Backpressure: frames are queued as received and decoded by one loop that publishes at most
 * FEED_BATCH ticks per turn, then flushes and awaits `sink.backpressure()`; past
 * `queueHighWater` frames waiting, the socket is paused (TCP pushes back on Alpaca, which drops a
 * client that stays slow: 407, a counted gap). `run()` resolves after `stop()`.
 */
export const ALPACA_STREAM_BASE = 'wss://stream.data.alpaca.markets/v2';

/** The stream URL of an Alpaca data feed (`test` streams fake data around the clock). */
export function alpacaStreamUrl(
  feed: 'iex' | 'sip' | 'delayed_sip' | 'test',
  base = ALPACA_STREAM_BASE,
): string {
  return `${base.replace(/\/+$/, '')}/${feed}`;
}

export const AlpacaFeedOptionsSchema = z.object({
  url: z.url({ protocol: /^wss?$/, error: 'a ws:// or wss:// URL' }).default(alpacaStreamUrl('iex')),
  /** Tickers as Alpaca names them (`AAPL`, `BRK.B`). */
  symbols: z.array(z.string().regex(/^[A-Z0-9][A-Z0-9./-]{0,15}$/, 'an Alpaca ticker')).min(1),
  credentials: z.object({ keyId: z.string().min(1), secretKey: z.string().min(1) }),
  /** No `authenticated` this long after connecting: drop the connection and back off. */
  authTimeoutMs: z.number().int().min(100).default(10_000),
  /** Wait after Alpaca refused the keys or the subscription (401/402/408/409/410). */
  authRetryMs: z.number().int().min(10).default(300_000),
  /** Frames waiting to be decoded beyond which the socket is paused. */
  queueHighWater: z.number().int().min(16).default(4096),
});
export type AlpacaFeedOptions = z.input<typeof AlpacaFeedOptionsSchema> & { readonly ctx: VenueFeedContext };

export interface AlpacaFeedStats extends VenueFeedStats {
  /** Messages whose event time went backwards for their symbol and channel. */
  readonly outOfOrder: number;
  /** Times Alpaca refused the keys or the subscription. */
  readonly authFailures: number;
  /** Trade corrections / cancels Alpaca sent (counted, not applied). */
  readonly corrections: number;
  readonly cancels: number;
  /** Messages of other channels or of tickers not subscribed (skipped). */
  readonly ignored: number;
  /** Length of the latest gap window in ms (disconnect → resubscribed), 0 = none. */
  readonly lastGapMs: number;
}

/** Codes after which retrying within seconds cannot help (docs: stream error codes). */
const REFUSALS = new Set([401, 402, 408, 409, 410]);
const SLOW_CLIENT = 407;
const SYMBOL_LIMIT = 405;

type SessionEnd = 'closed' | 'refused';

export class AlpacaFeed implements VenueFeed {
  readonly name = 'alpaca';
  readonly venue = 'ALPACA';
  readonly #o: z.output<typeof AlpacaFeedOptionsSchema>;
  readonly #ctx: VenueFeedContext;
  readonly #decoder: AlpacaDecoder;
  readonly #backoff: Backoff;
  #control: (c: AlpacaControl) => void = () => {};
  #abort = new AbortController();
  #ws: WebSocket | null = null;
  #wake: (() => void) | null = null;
  #running = false;
  #connected = false;
  #messagesAt = 0;
  #gaps = 0;
  #resyncs = 0;
  #reconnects = 0;
  #authFailures = 0;
  #lastGapMs = 0;
  /** Start (ms) of the gap window still open — lost connection, not yet resubscribed; 0 = none. */
  #gapStartMs = 0;
  /** The error code logged last (a repeated refusal is not logged again until a success). */
  #loggedCode: number | null = null;
  /** A failed connection attempt was logged since the last subscription. */
  #failureLogged = false;

  constructor(options: AlpacaFeedOptions) {
    const { ctx, ...rest } = options;
    this.#o = AlpacaFeedOptionsSchema.parse(rest);
    this.#ctx = ctx;
    this.#decoder = new AlpacaDecoder({
      source: this.name,
      symbolTable: ctx.symbolTable,
      malformed: ctx.malformed,
      books: ctx.books,
      maxFutureSkewMs: ctx.maxFutureSkewMs,
      onControl: (c) => this.#control(c),
      internNewSymbols: false,
    });
    this.#backoff = new Backoff(ctx.backoff ?? {});
  }

  get ticksIn(): number {
    return this.#decoder.ticksIn;
  }

  get ticksDropped(): number {
    return this.#decoder.ticksDropped;
  }

  position(): string | null {
    return null;
  }

  async commit(_position: string): Promise<void> {}

  stop(): void {
    this.#abort.abort();
    this.#ws?.terminate();
    this.#wake?.();
  }

  stats(): AlpacaFeedStats {
    const d = this.#decoder;
    return {
      venue: this.venue,
      feed: this.name,
      transport: 'ws',
      connected: this.#connected,
      messagesIn: d.messagesIn,
      malformed: d.malformed,
      gaps: this.#gaps,
      resyncs: this.#resyncs,
      reconnects: this.#reconnects,
      checksumFailures: 0,
      clockSkewMs: d.clockSkewMs,
      skewed: d.skewed,
      lastMessageAtMs: this.#messagesAt,
      outOfOrder: d.outOfOrder,
      authFailures: this.#authFailures,
      corrections: d.corrections,
      cancels: d.cancels,
      ignored: d.ignored,
      lastGapMs: this.#lastGapMs,
    };
  }

  async run(sink: TickSink): Promise<void> {
    if (this.#running) throw new Error(`${this.name}: run() is already running`);
    this.#running = true;
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
    const signal = this.#abort.signal;
    const symbols = this.#o.symbols.filter((s) => {
      if (this.#decoder.symbolIdOf(s) >= 0) return true;
      this.#ctx.log.error({ feed: this.name, symbol: s }, 'venue feed: symbol table full, symbol dropped');
      return false;
    });
    try {
      if (symbols.length === 0) return;
      while (!signal.aborted) {
        const end = await this.#session(sink, symbols);
        if (signal.aborted) break;
        const delayMs = end === 'refused' ? this.#o.authRetryMs : this.#backoff.next();
        this.#ctx.log.debug({ feed: this.name, delayMs, end }, 'venue feed: reconnecting after a pause');
        await abortableSleep(delayMs, signal);
        if (!signal.aborted) this.#reconnects++;
      }
    } finally {
      sink.flush?.();
      this.#connected = false;
      this.#running = false;
    }
  }

  /** One connection, from connect to close. Never throws. */
  async #session(sink: TickSink, symbols: readonly string[]): Promise<SessionEnd> {
    const log = this.#ctx.log;
    const signal = this.#abort.signal;
    const queue: string[] = [];
    let head = 0;
    let paused = false;
    let closed = false;
    let subscribed = false;
    let end = 'closed' as SessionEnd;
    let closeInfo: { code?: number; reason?: string; error?: string } = {};
    let onAbort = () => {};
    const stopped = new Promise<void>((resolve) => {
      onAbort = resolve;
    });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();

    const ws = new WebSocket(this.#o.url, {
      perMessageDeflate: false,
      handshakeTimeout: this.#o.authTimeoutMs,
    });
    this.#ws = ws;
    const wake = () => {
      const w = this.#wake;
      this.#wake = null;
      w?.();
    };
    const authTimer = setTimeout(() => {
      if (!subscribed) {
        closeInfo = { ...closeInfo, error: 'no authentication/subscription in time' };
        ws.terminate();
      }
    }, this.#o.authTimeoutMs);

    ws.on('message', (data, isBinary) => {
      this.#messagesAt = Date.now();
      queue.push(isBinary ? '' : (data as Buffer).toString('utf8'));
      if (!paused && queue.length - head >= this.#o.queueHighWater) {
        paused = true;
        ws.pause();
      }
      wake();
    });
    ws.on('error', (err) => {
      closeInfo = { ...closeInfo, error: err.message };
    });
    ws.on('close', (code, reason) => {
      closed = true;
      closeInfo = { ...closeInfo, code, reason: reason.toString('utf8').slice(0, 200) };
      wake();
    });

    this.#control = (c) => {
      if (c.kind === 'success' && c.msg === 'connected') {
        // The secret goes to the socket only, never into a log line or an error.
        ws.send(
          JSON.stringify({
            action: 'auth',
            key: this.#o.credentials.keyId,
            secret: this.#o.credentials.secretKey,
          }),
        );
      } else if (c.kind === 'success' && c.msg === 'authenticated') {
        ws.send(JSON.stringify({ action: 'subscribe', trades: symbols, quotes: symbols }));
      } else if (c.kind === 'subscription') {
        if (subscribed) return;
        subscribed = true;
        clearTimeout(authTimer);
        this.#connected = true;
        this.#backoff.reset();
        this.#loggedCode = null;
        this.#failureLogged = false;
        const missing = symbols.filter((s) => !c.trades.includes(s) || !c.quotes.includes(s));
        const gapFromMs = this.#gapStartMs;
        if (gapFromMs > 0) {
          this.#resyncs++;
          this.#gapStartMs = 0;
          this.#lastGapMs = Date.now() - gapFromMs;
          log.warn(
            {
              feed: this.name,
              gapFrom: new Date(gapFromMs).toISOString(),
              gapTo: new Date().toISOString(),
              gapMs: this.#lastGapMs,
            },
            'venue feed: resubscribed after a gap (ticks in the window are lost: Alpaca replays nothing)',
          );
        } else
          log.info({ feed: this.name, url: this.#o.url, symbols: symbols.length }, 'venue feed: streaming');
        if (missing.length > 0)
          log.warn(
            { feed: this.name, missing: missing.slice(0, 20) },
            'venue feed: Alpaca did not subscribe every symbol',
          );
      } else if (c.kind === 'error') this.#onError(c.code, c.msg, ws, () => (end = 'refused'));
    };

    try {
      while (true) {
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
          if (closed || signal.aborted) break;
          if (paused) {
            paused = false;
            ws.resume();
          }
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          continue;
        }
        const before = this.#decoder.ticksIn + this.#decoder.ticksDropped;
        while (
          head < queue.length &&
          this.#decoder.ticksIn + this.#decoder.ticksDropped - before < FEED_BATCH
        ) {
          const raw = queue[head] as string;
          queue[head++] = '';
          if (raw === '') this.#decoder.onMessage('binary frame', sink);
          else this.#decoder.onMessage(raw, sink);
          if (signal.aborted) break;
        }
        if (signal.aborted) break;
        sink.flush?.();
        const pressure = sink.backpressure?.();
        // stop() must end run() even when the sink never makes room again.
        if (pressure) await Promise.race([pressure, stopped]);
        else if (head < queue.length) await yieldToEventLoop();
        // Under sustained load the queue may never drain completely: drop the consumed prefix.
        if (head >= 65_536 && head * 2 >= queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        if (paused && queue.length - head < this.#o.queueHighWater / 4) {
          paused = false;
          ws.resume();
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(authTimer);
      this.#control = () => {};
      this.#ws = null;
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
      sink.flush?.();
    }

    this.#connected = false;
    if (subscribed && !signal.aborted) {
      // The connection carried data and is gone: whatever Alpaca sends until we are back is lost.
      // (A 407 already opened this window and counted it.)
      this.#openGap();
      for (const id of this.#decoder.symbolIds()) this.#ctx.books.clear(id);
      log.warn(
        { feed: this.name, ...closeInfo },
        'venue feed: disconnected (gap; books cleared until the next quotes)',
      );
    } else if (!signal.aborted && end !== 'refused') {
      // An outage is logged when it starts, not on every retry of the backoff.
      if (!this.#failureLogged)
        log.warn({ feed: this.name, ...closeInfo }, 'venue feed: connection failed before subscribing');
      this.#failureLogged = true;
    }
    return end;
  }

  #onError(code: number, msg: string, ws: WebSocket, refused: () => void): void {
    const log = this.#ctx.log;
    const once = this.#loggedCode !== code;
    this.#loggedCode = code;
    if (REFUSALS.has(code)) {
      this.#authFailures++;
      refused();
      if (once)
        log.error(
          { feed: this.name, code, msg: msg.slice(0, 200), retryInMs: this.#o.authRetryMs },
          'venue feed: Alpaca refused the credentials or the subscription; retrying rarely (logged once)',
        );
      ws.close();
      return;
    }
    if (code === SYMBOL_LIMIT) {
      if (once)
        log.error(
          { feed: this.name, code, msg: msg.slice(0, 200) },
          'venue feed: Alpaca symbol limit reached',
        );
      return;
    }
    if (code === SLOW_CLIENT) this.#openGap();
    if (once)
      log.warn(
        { feed: this.name, code, msg: msg.slice(0, 200) },
        'venue feed: Alpaca stream error, reconnecting',
      );
    ws.close();
  }

  /** Opens (and counts) a gap window starting at the last message, unless one is open already. */
  #openGap(): void {
    if (this.#gapStartMs > 0) return;
    this.#gaps++;
    this.#gapStartMs = this.#messagesAt || Date.now();
  }
}
