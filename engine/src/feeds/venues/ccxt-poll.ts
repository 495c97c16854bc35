import type { Exchange, Trade } from 'ccxt';
import type { TickSink } from '../tick.ts';
import { ccxtTickerQuote, ccxtTradeTick, emitCcxtOrderBook, LevelScratch } from './ccxt-decode.ts';
import { type CcxtRuntime, type CcxtSymbol, LoopState } from './ccxt-runtime.ts';

/**
 * Poll mode (venues ccxt reaches only over REST, or `mode: 'poll'`): per symbol, every `pollMs`,
 * the order book (`fetchOrderBook`, applied as changes against the previous poll, then a quote tick; `fetchTicker`'s
 * best bid/ask where the venue has no book endpoint) and the trades since the last one seen
 * (`fetchTrades(symbol, since)`; `since` starts at the feed's start, so history is not replayed
 * as live ticks). Trades are deduplicated across polls by timestamp and id: `since` is inclusive,
 * so the trades at the watermark's millisecond come back and are skipped by id.
 */
export interface PollOptions {
  readonly pollMs: number;
  readonly depth: number;
  /** Trades asked for per poll. */
  readonly tradesLimit: number;
}

/** How far behind the venue's now a quiet symbol's watermark is kept (late prints still land). */
const IDLE_LAG_MS = 60_000;

/** The trade watermark of one symbol: the newest timestamp seen and the ids seen at it. */
export class TradeWatermark {
  lastTs: number;
  readonly #idsAtLast = new Set<string>();

  constructor(startMs: number) {
    this.lastTs = startMs;
  }

  /**
   * After a poll with no new trade: moves the watermark up to `venueNowMs − IDLE_LAG_MS` if it is
   * older. Venues bound a `since` query to a window (ccxt asks Binance for [since, since + 1 h]), so
   * a watermark left behind by a quiet market would keep asking an empty hour forever.
   */
  idle(venueNowMs: number): void {
    const floor = venueNowMs - IDLE_LAG_MS;
    if (floor > this.lastTs) {
      this.lastTs = floor;
      this.#idsAtLast.clear();
    }
  }

  /** True when the trade is new (and records it); false for one already emitted or older. */
  admit(t: Trade): boolean {
    const ts = t.timestamp;
    if (typeof ts !== 'number') return true; // the emitter refuses it as malformed
    if (ts < this.lastTs) return false;
    const id = t.id ?? `${ts}:${t.price}:${t.amount}:${t.side}`;
    if (ts > this.lastTs) {
      this.lastTs = ts;
      this.#idsAtLast.clear();
    } else if (this.#idsAtLast.has(id)) return false;
    this.#idsAtLast.add(id);
    return true;
  }
}

export async function runPollLoops(
  rt: CcxtRuntime,
  ex: Exchange,
  symbols: readonly CcxtSymbol[],
  sink: TickSink,
  o: PollOptions,
): Promise<void> {
  const startMs = Date.now();
  await Promise.all(symbols.map((s) => pollSymbol(rt, ex, s, sink, o, new TradeWatermark(startMs))));
}

async function pollSymbol(
  rt: CcxtRuntime,
  ex: Exchange,
  sym: CcxtSymbol,
  sink: TickSink,
  o: PollOptions,
  mark: TradeWatermark,
): Promise<void> {
  const loop = new LoopState(rt.o.backoff, `poll:${sym.symbol}`);
  const scratch = new LevelScratch();
  const withBook = ex.has.fetchOrderBook === true;
  while (!rt.stopping && sym.active) {
    const began = Date.now();
    try {
      if (withBook) {
        const ob = await ex.fetchOrderBook(sym.symbol, o.depth);
        if (rt.stopping) break;
        rt.received();
        rt.succeeded(loop);
        // A quote when the book changed since the last poll.
        emitCcxtOrderBook(rt.o.emitter, rt.o.books, sink, sym, ob, o.depth, scratch);
      } else {
        const ticker = await ex.fetchTicker(sym.symbol);
        if (rt.stopping) break;
        rt.received();
        rt.succeeded(loop);
        ccxtTickerQuote(rt.o.emitter, sink, sym.symbolId, ticker, Date.now());
      }
      const trades = await ex.fetchTrades(sym.symbol, mark.lastTs, o.tradesLimit);
      if (rt.stopping) break;
      rt.received();
      let admitted = 0;
      for (const t of trades) {
        if (!mark.admit(t)) {
          rt.duplicates++;
          continue;
        }
        admitted++;
        ccxtTradeTick(rt.o.emitter, sink, sym.symbolId, t);
      }
      if (admitted === 0) {
        const skew = rt.o.emitter.clockSkewMs;
        mark.idle(Date.now() + (Number.isFinite(skew) ? skew : 0));
      }
      rt.succeeded(loop);
      await rt.yieldToSink(sink);
    } catch (err) {
      // A failed poll leaves the book stale: cleared (network) until the next good one.
      if ((await rt.failed(loop, sym, err, true)) === 'drop') return;
      continue;
    }
    await rt.sleep(Math.max(0, o.pollMs - (Date.now() - began)));
  }
}
