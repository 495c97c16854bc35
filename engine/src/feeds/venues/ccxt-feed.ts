import { ccxtVenueName, instrumentSymbolFor } from '@aegis/shared/market/instrument-symbols';
import type { Exchange } from 'ccxt';
import { z } from 'zod';
import type { TickSink } from '../tick.ts';
import { buildCcxtExchange, classifyCcxtError, hasExchange } from './ccxt-exchange.ts';
import { runPollLoops } from './ccxt-poll.ts';
import { CcxtRuntime, type CcxtSymbol, LoopState } from './ccxt-runtime.ts';
import { VenueTickEmitter } from './ccxt-tick-emitter.ts';
import { guardMessages, runWatchLoops } from './ccxt-watch.ts';
import { DEFAULT_BACKOFF } from './reconnect.ts';
import type { VenueFeed, VenueFeedContext, VenueFeedStats } from './venue-feed.ts';

/**
 * A venue reached through ccxt as an engine feed (name `ccxt:<exchangeId>`, venue
 * `ccxtVenueName(exchangeId)`, instrument symbols `BINANCE:BTC/USDT`).
 *
 * Transport: `ws` uses ccxt pro's watchOrderBook/watchTrades (ccxt-watch.ts); `poll` uses
 * fetchOrderBook/fetchTrades every `pollMs` (ccxt-poll.ts); `auto` takes the WebSocket where ccxt
 * pro has both watches for the venue, else polls. Markets are loaded first (retried with
 * backoff); a configured symbol the venue does not list is dropped with one log line.
 *
 * Errors (ccxt-runtime.ts): network ones back off and reconnect, rate limits back off longer,
 * sequence breaks count a gap and resync, BadSymbol drops the symbol; everything is counted in
 * `stats()`, nothing escapes `run()`. `run()` resolves after `stop()`, once ccxt's sockets are
 * closed.
 */
export const CcxtFeedOptionsSchema = z.object({
  exchangeId: z.string().regex(/^[a-z0-9]{2,32}$/),
  symbols: z.array(z.string().min(1).max(64)).min(1),
  mode: z.enum(['auto', 'ws', 'poll']).default('auto'),
  pollMs: z.number().int().min(50).default(1_000),
  /** Levels a side copied into the book. */
  depth: z.number().int().min(1).max(5_000).default(100),
  /** ccxt's per-request timeout. */
  requestTimeoutMs: z.number().int().min(100).default(10_000),
  /** ccxt pro's trade cache per symbol; poll mode's trades asked for per request. */
  tradesLimit: z.number().int().min(10).default(20_000),
  urls: z.object({ rest: z.url().optional(), ws: z.url().optional() }).optional(),
  credentials: z
    .object({ apiKey: z.string().min(1), secret: z.string().min(1), password: z.string().optional() })
    .optional(),
});
export type CcxtFeedOptions = z.input<typeof CcxtFeedOptionsSchema> & { readonly ctx: VenueFeedContext };

export interface CcxtFeedStats extends VenueFeedStats {
  readonly networkErrors: number;
  readonly rateLimited: number;
  readonly otherErrors: number;
  readonly droppedSymbols: number;
  /** Trades seen again by a later poll and skipped. */
  readonly duplicates: number;
}

/** Poll mode asks for at most this many trades per request (Binance's maximum). */
const POLL_TRADES_LIMIT = 1_000;

export class CcxtFeed implements VenueFeed {
  readonly name: string;
  readonly venue: string;
  readonly #o: z.output<typeof CcxtFeedOptionsSchema>;
  readonly #ctx: VenueFeedContext;
  readonly #emitter: VenueTickEmitter;
  readonly #rt: CcxtRuntime;
  #transport: 'ws' | 'poll';
  #exchange: Exchange | null = null;
  #running = false;

  constructor(options: CcxtFeedOptions) {
    const { ctx, ...rest } = options;
    this.#o = CcxtFeedOptionsSchema.parse(rest);
    this.#ctx = ctx;
    this.name = `ccxt:${this.#o.exchangeId}`;
    this.venue = ccxtVenueName(this.#o.exchangeId);
    this.#transport = this.#o.mode === 'poll' ? 'poll' : 'ws';
    this.#emitter = new VenueTickEmitter({
      source: this.name,
      malformed: ctx.malformed,
      books: ctx.books,
      maxFutureSkewMs: ctx.maxFutureSkewMs,
    });
    this.#rt = new CcxtRuntime({
      feed: this.name,
      log: ctx.log,
      books: ctx.books,
      emitter: this.#emitter,
      backoff: ctx.backoff ?? DEFAULT_BACKOFF,
    });
  }

  get ticksIn(): number {
    return this.#emitter.ticksIn;
  }

  get ticksDropped(): number {
    return this.#emitter.ticksDropped;
  }

  position(): string | null {
    return null;
  }

  async commit(_position: string): Promise<void> {}

  stop(): void {
    this.#rt.stop();
    // Rejects every pending watch (ExchangeClosedByUser), so the loops see `stopping` at once.
    void this.#exchange?.close().catch(() => undefined);
  }

  stats(): CcxtFeedStats {
    const rt = this.#rt;
    const e = this.#emitter;
    return {
      venue: this.venue,
      feed: this.name,
      transport: this.#transport,
      connected: rt.connected,
      messagesIn: rt.messagesIn,
      malformed: e.malformed,
      gaps: rt.gaps,
      resyncs: rt.resyncs,
      reconnects: rt.reconnects,
      checksumFailures: 0,
      clockSkewMs: e.clockSkewMs,
      skewed: e.skewed,
      lastMessageAtMs: rt.lastMessageAtMs,
      networkErrors: rt.networkErrors,
      rateLimited: rt.rateLimited,
      otherErrors: rt.otherErrors,
      droppedSymbols: rt.droppedSymbols,
      duplicates: rt.duplicates,
    };
  }

  async run(sink: TickSink): Promise<void> {
    if (this.#running) throw new Error(`${this.name}: run() is already running`);
    this.#running = true;
    try {
      const ex = await this.#open();
      if (!ex) return;
      const symbols = await this.#loadSymbols(ex);
      if (!symbols || symbols.length === 0) return;
      this.#ctx.log.info(
        { feed: this.name, transport: this.#transport, symbols: symbols.map((s) => s.symbol) },
        'venue feed: streaming',
      );
      if (this.#transport === 'ws') {
        guardMessages(this.#rt, ex, this.#o.exchangeId);
        await runWatchLoops(this.#rt, ex, symbols, sink, {
          depth: this.#o.depth,
          tradesLimit: this.#o.tradesLimit,
        });
      } else {
        await runPollLoops(this.#rt, ex, symbols, sink, {
          pollMs: this.#o.pollMs,
          depth: this.#o.depth,
          tradesLimit: Math.min(this.#o.tradesLimit, POLL_TRADES_LIMIT),
        });
      }
    } finally {
      sink.flush?.();
      await this.#exchange?.close().catch(() => undefined);
      this.#exchange = null;
      this.#running = false;
    }
  }

  /** The exchange object of the chosen transport (null: stopped, or ccxt has no such venue). */
  async #open(): Promise<Exchange | null> {
    const id = this.#o.exchangeId;
    const proAvailable = hasExchange(id, true);
    if (this.#o.mode === 'ws' && !proAvailable)
      this.#ctx.log.warn(
        { feed: this.name },
        'venue feed: ccxt has no WebSocket client for this venue, polling',
      );
    const wantWs = this.#o.mode !== 'poll' && proAvailable;
    if (!hasExchange(id, wantWs)) {
      this.#ctx.log.error({ feed: this.name }, 'venue feed: ccxt has no such exchange');
      return null;
    }
    const build = (pro: boolean) =>
      buildCcxtExchange({
        exchangeId: id,
        pro,
        ...(this.#o.urls && { urls: this.#o.urls }),
        ...(this.#o.credentials && { credentials: this.#o.credentials }),
        timeoutMs: this.#o.requestTimeoutMs,
        tradesLimit: this.#o.tradesLimit,
        wsBackoff: this.#ctx.backoff ?? DEFAULT_BACKOFF,
      });
    let ex = await build(wantWs);
    if (wantWs && this.#o.mode === 'auto' && !(ex.has.watchOrderBook && ex.has.watchTrades)) {
      await ex.close().catch(() => undefined);
      ex = await build(false);
      this.#transport = 'poll';
    } else this.#transport = wantWs ? 'ws' : 'poll';
    // ccxt logs through console.log (a socket's unparseable message); ours goes to pino.
    (ex as unknown as { log: (...args: unknown[]) => void }).log = (...args: unknown[]) =>
      this.#ctx.log.debug({ feed: this.name, ccxt: args.map(String).join(' ').slice(0, 300) }, 'ccxt');
    this.#exchange = ex;
    if (this.#rt.stopping) return null;
    return ex;
  }

  /** Loads the venue's markets (retried until it answers or the feed stops) and interns symbols. */
  async #loadSymbols(ex: Exchange): Promise<CcxtSymbol[] | null> {
    const loop = new LoopState(this.#ctx.backoff ?? DEFAULT_BACKOFF, 'markets');
    const probe: CcxtSymbol = { symbol: '*', symbolId: -1, active: true };
    while (!this.#rt.stopping) {
      try {
        await ex.loadMarkets();
        this.#rt.received();
        this.#rt.succeeded(loop);
        break;
      } catch (err) {
        // BadSymbol cannot come from loading markets; anything else is retried after backoff.
        if (classifyCcxtError(err) === 'symbol') return null;
        await this.#rt.failed(loop, probe, err, false);
      }
    }
    if (this.#rt.stopping) return null;
    const out: CcxtSymbol[] = [];
    for (const symbol of new Set(this.#o.symbols)) {
      const sym: CcxtSymbol = { symbol, symbolId: -1, active: true };
      if (!ex.markets?.[symbol]) {
        this.#rt.dropSymbol(sym, `${this.#o.exchangeId} lists no market ${symbol}`);
        continue;
      }
      const symbolId = this.#ctx.symbolTable.intern(instrumentSymbolFor(this.venue, symbol));
      if (symbolId < 0) {
        this.#rt.dropSymbol(sym, 'symbol table full or symbol not representable');
        continue;
      }
      out.push({ symbol, symbolId, active: true });
    }
    return out;
  }
}
