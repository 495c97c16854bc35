import type { Logger } from '@aegis/shared/logging';
import type { BookSink } from '../../book/book-sink.ts';
import type { TickSink } from '../tick.ts';
import { type CcxtErrorClass, classifyCcxtError } from './ccxt-exchange.ts';
import type { VenueTickEmitter } from './ccxt-tick-emitter.ts';
import { abortableSleep, Backoff } from './reconnect.ts';

/**
 * What the ccxt feed's loops share: counters, the stop signal (an interruptible sleep), the
 * per-loop backoff, the one error policy, and the yield point where the sink's backpressure is
 * honoured (backoff pacing: reconnect.ts). One loop per symbol and stream (book, trades) in WebSocket mode, one per symbol in
 * poll mode; every loop catches everything (nothing a venue sends or fails to send crashes the
 * engine).
 */

/** A configured symbol the venue lists: ccxt unified symbol and the interned instrument id. */
export interface CcxtSymbol {
  readonly symbol: string;
  readonly symbolId: number;
  /** False once the venue refused it (BadSymbol): its loops end. */
  active: boolean;
}

/** Rate limits back off this many times longer than a network failure (and at least 1 s). */
const RATE_LIMIT_FACTOR = 4;
const RATE_LIMIT_MIN_MS = 1_000;
/** At most one warning per loop per this many ms while it keeps failing. */
const ERROR_LOG_INTERVAL_MS = 10_000;

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface CcxtRuntimeOptions {
  readonly feed: string;
  readonly log: Logger;
  readonly books: BookSink;
  readonly emitter: VenueTickEmitter;
  readonly backoff: BackoffPolicy;
}

/** One loop's failure state: its backoff, and when it last logged. */
export class LoopState {
  readonly backoff: Backoff;
  failing = false;
  /** The failure was a network one: the next success counts as a reconnect. */
  lostConnection = false;
  lastLogAt = 0;
  suppressed = 0;

  readonly name: string;

  constructor(policy: BackoffPolicy, name: string) {
    this.backoff = new Backoff(policy);
    this.name = name;
  }
}

export class CcxtRuntime {
  readonly o: CcxtRuntimeOptions;
  stopping = false;
  messagesIn = 0;
  gaps = 0;
  resyncs = 0;
  reconnects = 0;
  networkErrors = 0;
  rateLimited = 0;
  otherErrors = 0;
  droppedSymbols = 0;
  duplicates = 0;
  lastMessageAtMs = 0;
  #failingLoops = 0;
  #everConnected = false;
  readonly #stopped = new AbortController();

  constructor(o: CcxtRuntimeOptions) {
    this.o = o;
  }

  get connected(): boolean {
    return this.#everConnected && this.#failingLoops === 0 && !this.stopping;
  }

  stop(): void {
    this.stopping = true;
    this.#stopped.abort();
  }

  /** Sleeps `ms`, or less when the feed stops. */
  sleep(ms: number): Promise<void> {
    return abortableSleep(ms, this.#stopped.signal);
  }

  /** A message (a REST answer, a WebSocket message) arrived. */
  received(): void {
    this.messagesIn++;
    this.lastMessageAtMs = Date.now();
  }

  /** A loop got what it asked for: clears its failure state (a reconnect if it had lost one). */
  succeeded(loop: LoopState): void {
    this.#everConnected = true;
    if (!loop.failing) return;
    loop.failing = false;
    this.#failingLoops--;
    loop.backoff.reset();
    if (loop.lostConnection) this.reconnects++;
    loop.lostConnection = false;
    this.o.log.info(
      { feed: this.o.feed, loop: loop.name, suppressed: loop.suppressed },
      'venue feed: recovered',
    );
    loop.suppressed = 0;
  }

  /**
   * The one error policy. Returns after the loop's backoff (or at once for a sequence gap: the
   * next watch resubscribes and ccxt takes a fresh snapshot), or `'drop'` for a symbol the venue
   * does not list.
   */
  async failed(loop: LoopState, sym: CcxtSymbol, err: unknown, book: boolean): Promise<'retry' | 'drop'> {
    if (this.stopping) return 'retry';
    const kind: CcxtErrorClass = classifyCcxtError(err);
    if (kind === 'symbol') {
      this.dropSymbol(sym, err);
      return 'drop';
    }
    if (!loop.failing) {
      loop.failing = true;
      this.#failingLoops++;
    }
    let waitMs = 0;
    switch (kind) {
      case 'sequence':
        // ccxt found the venue's update ids out of sequence (or a checksum mismatch) and dropped
        // its book: ours goes too until the fresh snapshot arrives.
        this.gaps++;
        this.resyncs++;
        this.o.books.clear(sym.symbolId);
        break;
      case 'rate':
        this.rateLimited++;
        waitMs = Math.max(RATE_LIMIT_MIN_MS, loop.backoff.next() * RATE_LIMIT_FACTOR);
        break;
      case 'network':
        this.networkErrors++;
        loop.lostConnection = true;
        // No stale depth is published while disconnected: the book returns with a snapshot.
        if (book) this.o.books.clear(sym.symbolId);
        waitMs = loop.backoff.next();
        break;
      default:
        this.otherErrors++;
        waitMs = loop.backoff.next();
    }
    this.#logFailure(loop, sym, kind, err, waitMs);
    if (waitMs > 0) await this.sleep(waitMs);
    return 'retry';
  }

  /** Logs once and stops every loop of a symbol the venue does not list. */
  dropSymbol(sym: CcxtSymbol, err: unknown): void {
    if (!sym.active) return;
    sym.active = false;
    this.droppedSymbols++;
    if (sym.symbolId >= 0) this.o.books.clear(sym.symbolId);
    this.o.log.warn(
      { feed: this.o.feed, symbol: sym.symbol, reason: errorMessage(err) },
      'venue feed: symbol not listed by the venue, dropped',
    );
  }

  /**
   * The yield point: makes published ticks visible and waits while the sink is full. True when
   * it waited (what arrived meanwhile is waiting in ccxt's caches).
   */
  async yieldToSink(sink: TickSink): Promise<boolean> {
    sink.flush?.();
    const full = sink.backpressure?.();
    if (!full) return false;
    await full;
    return true;
  }

  #logFailure(loop: LoopState, sym: CcxtSymbol, kind: CcxtErrorClass, err: unknown, waitMs: number): void {
    const now = Date.now();
    if (now - loop.lastLogAt < ERROR_LOG_INTERVAL_MS) {
      loop.suppressed++;
      return;
    }
    loop.lastLogAt = now;
    this.o.log.warn(
      {
        feed: this.o.feed,
        loop: loop.name,
        symbol: sym.symbol,
        kind,
        err: errorMessage(err),
        retryInMs: waitMs,
        suppressed: loop.suppressed,
      },
      'venue feed: venue call failed',
    );
    loop.suppressed = 0;
  }
}

/** ccxt error messages name the exchange and the venue's answer; never credentials. */
function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
  return msg.length > 300 ? `${msg.slice(0, 300)}…` : msg;
}
