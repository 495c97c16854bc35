import { AppError, ErrorCode } from '@aegis/shared/errors';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { FEED_BATCH, yieldToEventLoop } from '../feed.ts';
import type { TickSink } from '../tick.ts';
import { COINBASE_VENUE, CoinbaseDecoder } from './coinbase-decode.ts';
import { Backoff, connectLoop } from './reconnect.ts';
import type { VenueFeed, VenueFeedContext, VenueFeedStats } from './venue-feed.ts';

/**
 * Coinbase Advanced Trade market data over WebSocket: heartbeats, level2 and market_trades for
 * the configured products, decoded once at intake (coinbase-decode.ts) into the BookSink and the
 * tick sink.
 *
 * Transport: the `ws` package rather than Node's global WebSocket, because `ws` gives the flow
 * control a feed needs — `pause()`/`resume()` stop reading the TCP socket when the engine falls
 * behind, so Coinbase's send buffer absorbs a burst instead of this process's heap — plus
 * `terminate()` for a dead peer and the same library on the test server. The WHATWG WebSocket in
 * Node has no way to stop delivery.
 *
 * Life of a connection (one `session`, run again by `connectLoop` with capped exponential backoff
 * and jitter): connect → subscribe heartbeats, level2, market_trades (one channel per message, as
 * Coinbase requires; a fresh JWT on each when a provider is given: they live two minutes) →
 * frames are queued as they arrive and decoded in batches of at most FEED_BATCH ticks, with a
 * flush and the sink's backpressure awaited between batches → a close, an error or no frame for
 * `heartbeatTimeoutMs` (heartbeats come every second) ends it: the books of its products are
 * cleared (no stale depth is ever published) and the loop reconnects and resubscribes. A sequence
 * gap is handled inside the session: the decoder clears the books and this feed unsubscribes and
 * resubscribes level2 for them, which makes Coinbase send fresh snapshots.
 */
const optionsSchema = z.object({
  url: z
    .string()
    .regex(/^wss?:\/\/\S+$/, 'a ws:// or wss:// URL')
    .default('wss://advanced-trade-ws.coinbase.com'),
  productIds: z
    .array(z.string().regex(/^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$/, 'a Coinbase product id (BTC-USD)'))
    .min(1),
  heartbeatTimeoutMs: z.number().int().min(50).default(5000),
  /** A level2 resubscription that brought no snapshot is sent again after this long. */
  resyncTimeoutMs: z.number().int().min(50).default(5000),
  /** Frames waiting to be decoded above which the socket stops being read. */
  maxQueuedFrames: z.number().int().min(16).default(8192),
  connectTimeoutMs: z.number().int().min(50).default(10_000),
});

export interface CoinbaseFeedOptions {
  /** Default wss://advanced-trade-ws.coinbase.com. */
  readonly url?: string;
  /** Venue symbols (Coinbase product ids: BTC-USD). */
  readonly productIds: readonly string[];
  readonly ctx: VenueFeedContext;
  /** No frame for this long (heartbeats come every second) = a dead connection. Default 5000. */
  readonly heartbeatTimeoutMs?: number;
  readonly resyncTimeoutMs?: number;
  readonly maxQueuedFrames?: number;
  readonly connectTimeoutMs?: number;
  /**
   * Authenticated use: a fresh Coinbase CDP JWT per subscribe message (the public channels work
   * without one; with one Coinbase gives the connection more headroom). Never logged.
   */
  readonly jwt?: () => string | Promise<string>;
}

/** Counters beyond VenueFeedStats, for /metrics and tests. */
export interface CoinbaseFeedCounters {
  readonly outOfOrder: number;
  readonly heartbeats: number;
  readonly heartbeatTimeouts: number;
  readonly snapshots: number;
  readonly venueErrors: number;
  readonly updatesWithoutBook: number;
  readonly tradeHistorySkipped: number;
  readonly pausedReads: number;
}

export class CoinbaseFeed implements VenueFeed {
  readonly name = 'coinbase';
  readonly venue = COINBASE_VENUE;
  readonly #o: z.infer<typeof optionsSchema>;
  readonly #ctx: VenueFeedContext;
  readonly #jwt: (() => string | Promise<string>) | undefined;
  readonly #decoder: CoinbaseDecoder;
  readonly #backoff: Backoff;
  #abort = new AbortController();
  #running = false;
  #ws: WebSocket | null = null;
  #connected = false;
  #lastMessageAtMs = 0;
  #reconnects = 0;
  #heartbeatTimeouts = 0;
  #pausedReads = 0;
  /** Products resubscribed for a snapshot, and when (resent if none came). */
  readonly #resyncSentAt = new Map<string, number>();
  /** Wakes the session's decode loop (a frame arrived, the socket closed, stop). */
  #wake: (() => void) | null = null;
  /** Ends a backpressure wait on stop() (frames arriving must not end it). */
  #stopWake: (() => void) | null = null;

  constructor(options: CoinbaseFeedOptions) {
    const parsed = optionsSchema.safeParse({
      url: options.url,
      productIds: [...options.productIds],
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      resyncTimeoutMs: options.resyncTimeoutMs,
      maxQueuedFrames: options.maxQueuedFrames,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    if (!parsed.success) {
      throw new AppError(
        ErrorCode.BAD_INPUT,
        `coinbase feed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    this.#o = parsed.data;
    this.#ctx = options.ctx;
    this.#jwt = options.jwt;
    this.#backoff = new Backoff(options.ctx.backoff ?? {});
    this.#decoder = new CoinbaseDecoder({
      symbolTable: options.ctx.symbolTable,
      malformed: options.ctx.malformed,
      books: options.ctx.books,
      maxFutureSkewMs: options.ctx.maxFutureSkewMs,
      source: 'coinbase',
      onResync: (products, reason) => this.#resync(products, reason),
    });
    // Intern every product now: ids exist before the first tick, and a full table fails loudly.
    for (const p of this.#o.productIds) {
      if (this.#decoder.symbolIdOf(p) < 0) {
        throw new AppError(ErrorCode.BAD_INPUT, `coinbase feed: symbol table refused ${p}`);
      }
    }
  }

  get ticksIn(): number {
    return this.#decoder.ticksIn;
  }
  get ticksDropped(): number {
    return this.#decoder.ticksDropped;
  }

  position(): null {
    return null;
  }

  async commit(): Promise<void> {}

  stop(): void {
    this.#abort.abort();
    this.#ws?.close(1000, 'feed stopped');
    this.#wake?.();
    this.#stopWake?.();
  }

  stats(): VenueFeedStats {
    const d = this.#decoder;
    return {
      venue: this.venue,
      feed: this.name,
      transport: 'ws',
      connected: this.#connected,
      messagesIn: d.messages,
      malformed: d.malformedCount,
      gaps: d.gaps,
      resyncs: d.resyncs,
      reconnects: this.#reconnects,
      checksumFailures: 0, // Advanced Trade's level2 carries no checksum
      clockSkewMs: d.clockSkewMs,
      skewed: d.skewed,
      lastMessageAtMs: this.#lastMessageAtMs,
    };
  }

  counters(): CoinbaseFeedCounters {
    const d = this.#decoder;
    return {
      outOfOrder: d.outOfOrder,
      heartbeats: d.heartbeats,
      heartbeatTimeouts: this.#heartbeatTimeouts,
      snapshots: d.snapshots,
      venueErrors: d.venueErrors,
      updatesWithoutBook: d.updatesWithoutBook,
      tradeHistorySkipped: d.tradeHistorySkipped,
      pausedReads: this.#pausedReads,
    };
  }

  async run(sink: TickSink): Promise<void> {
    if (this.#running) throw new AppError(ErrorCode.CONFLICT, 'coinbase feed: already running');
    this.#running = true;
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
    const log = this.#ctx.log;
    try {
      await connectLoop((reconnect) => this.#session(reconnect, sink), {
        backoff: this.#backoff,
        signal: this.#abort.signal,
        onRetry: ({ reconnect, delayMs, error }) => {
          this.#reconnects = reconnect;
          log.warn(
            { feed: this.name, reconnect, delayMs, err: error instanceof Error ? error.message : undefined },
            'coinbase feed: connection lost, reconnecting',
          );
        },
      });
    } finally {
      this.#running = false;
      this.#connected = false;
    }
  }

  /** One connection, from connect to close. Resolves when it is over (never on stop alone: it closes first). */
  async #session(reconnect: number, sink: TickSink): Promise<void> {
    const { url, productIds, heartbeatTimeoutMs, maxQueuedFrames, connectTimeoutMs } = this.#o;
    const log = this.#ctx.log;
    this.#decoder.resetConnection();
    this.#resyncSentAt.clear();
    const ws = new WebSocket(url, { handshakeTimeout: connectTimeoutMs, perMessageDeflate: false });
    this.#ws = ws;
    const queue: string[] = [];
    let head = 0;
    let closed = false;
    let paused = false;
    let lastFrameAt = Date.now();
    let error: Error | null = null;
    const wake = () => {
      const w = this.#wake;
      this.#wake = null;
      w?.();
    };
    ws.on('open', () => {
      this.#connected = true;
      log.info({ feed: this.name, url, reconnect, products: productIds.length }, 'coinbase feed: connected');
      lastFrameAt = Date.now();
      this.#subscribeAll(ws).catch((err: unknown) => {
        // A JWT provider that fails is a connection that cannot subscribe: start again.
        log.error({ err: (err as Error).message }, 'coinbase feed: subscribe failed');
        ws.terminate();
      });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      lastFrameAt = Date.now();
      this.#lastMessageAtMs = lastFrameAt;
      queue.push(isBinary ? data.toString('utf8') : String(data));
      if (!paused && queue.length - head >= maxQueuedFrames) {
        // The engine is behind: stop reading the socket; TCP pushes back on Coinbase.
        paused = true;
        this.#pausedReads++;
        ws.pause();
      }
      wake();
    });
    ws.on('error', (err) => {
      error = err;
    });
    ws.on('close', () => {
      closed = true;
      wake();
    });
    const watchdog = setInterval(
      () => {
        // Silence while we are the ones not reading is not the venue's fault.
        if (paused || queue.length > head || closed) return;
        if (Date.now() - lastFrameAt > heartbeatTimeoutMs) {
          this.#heartbeatTimeouts++;
          log.warn(
            { feed: this.name, heartbeatTimeoutMs },
            'coinbase feed: no message in time, reconnecting',
          );
          ws.terminate();
        }
      },
      Math.max(10, heartbeatTimeoutMs >> 2),
    );
    const snapshotsAtStart = this.#decoder.snapshots;
    let healthy = false;
    let venueErrorsSeen = this.#decoder.venueErrors;
    try {
      for (;;) {
        if (this.#abort.signal.aborted) break;
        if (head === queue.length) {
          if (closed) break;
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          continue;
        }
        let ticks = 0;
        while (head < queue.length && ticks < FEED_BATCH) {
          ticks += this.#decoder.onMessage(queue[head] as string, sink);
          queue[head++] = ''; // let the frame go before the batch ends
        }
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        } else if (head > 65_536) {
          // A consumer that only just keeps up never empties the queue: drop the spent slots.
          queue.splice(0, head);
          head = 0;
        }
        if (this.#decoder.venueErrors !== venueErrorsSeen) {
          // Coinbase refused something (a product id, a subscription): say what, once per batch.
          venueErrorsSeen = this.#decoder.venueErrors;
          log.warn({ feed: this.name, message: this.#decoder.lastVenueError }, 'coinbase feed: venue error');
        }
        sink.flush?.();
        if (!healthy && this.#decoder.snapshots > snapshotsAtStart) {
          // Subscribed and data flowing: the next outage starts from the smallest delay.
          healthy = true;
          this.#backoff.reset();
        }
        this.#checkResyncs();
        if (paused && queue.length - head < maxQueuedFrames >> 1) {
          paused = false;
          ws.resume();
        }
        const full = sink.backpressure?.();
        if (full) {
          // Wait for room — or for stop(): a sink that never makes room must not keep run() alive.
          await new Promise<void>((resolve) => {
            this.#stopWake = resolve;
            full.then(resolve, resolve);
          });
          this.#stopWake = null;
        } else if (head < queue.length) await yieldToEventLoop();
      }
    } finally {
      clearInterval(watchdog);
      this.#connected = false;
      this.#ws = null;
      if (!closed) ws.terminate();
      // Whatever the books held came from this connection: gone with it.
      this.#decoder.clearBooks(productIds);
    }
    if (error !== null && !this.#abort.signal.aborted) throw error;
  }

  async #subscribeAll(ws: WebSocket): Promise<void> {
    const products = this.#o.productIds;
    // Heartbeats first: Coinbase closes quiet channels within 60–90 s without them.
    await this.#request(ws, 'subscribe', 'heartbeats', []);
    await this.#request(ws, 'subscribe', 'level2', products);
    await this.#request(ws, 'subscribe', 'market_trades', products);
  }

  /**
   * One request on `ws` — the socket it was meant for, never a later connection's (a JWT provider
   * may take a while; that socket may be gone by then, and then nothing is sent).
   */
  async #request(
    ws: WebSocket | null,
    type: 'subscribe' | 'unsubscribe',
    channel: string,
    productIds: readonly string[],
  ): Promise<void> {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const msg: Record<string, unknown> = { type, channel };
    if (productIds.length > 0) msg.product_ids = productIds;
    if (this.#jwt) msg.jwt = await this.#jwt();
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  /** The decoder cleared these books: ask Coinbase for fresh snapshots (unsubscribe + subscribe). */
  #resync(products: readonly string[], reason: 'gap' | 'malformed'): void {
    const now = Date.now();
    const due: string[] = [];
    for (const p of products) {
      if (!this.#o.productIds.includes(p)) continue; // not ours: nothing subscribed to redo
      const sent = this.#resyncSentAt.get(p);
      if (sent !== undefined && now - sent < this.#o.resyncTimeoutMs) continue; // one on its way
      this.#resyncSentAt.set(p, now);
      due.push(p);
    }
    if (due.length === 0) return;
    this.#ctx.log.warn(
      { feed: this.name, products: due, reason },
      'coinbase feed: resubscribing level2 for a snapshot',
    );
    const ws = this.#ws;
    void this.#request(ws, 'unsubscribe', 'level2', due)
      .then(() => this.#request(ws, 'subscribe', 'level2', due))
      .catch((err: unknown) => {
        this.#ctx.log.error({ err: (err as Error).message }, 'coinbase feed: resubscribe failed');
        ws?.terminate();
      });
  }

  /** Resyncs whose snapshot arrived are done; ones that brought none in time are sent again. */
  #checkResyncs(): void {
    if (this.#resyncSentAt.size === 0) return;
    const now = Date.now();
    const again: string[] = [];
    for (const [p, at] of this.#resyncSentAt) {
      if (!this.#decoder.awaitingSnapshot(p)) this.#resyncSentAt.delete(p);
      else if (now - at >= this.#o.resyncTimeoutMs) again.push(p);
    }
    if (again.length > 0) this.#resync(again, 'gap');
  }
}
