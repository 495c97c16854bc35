import type { Exchange, Trade } from 'ccxt';
import { MALFORMED, type TickSink } from '../tick.ts';
import { validLevels } from './ccxt-binance-raw.ts';
import { ccxtTradeTick, emitCcxtOrderBook, LevelScratch } from './ccxt-decode.ts';
import { type CcxtRuntime, type CcxtSymbol, LoopState } from './ccxt-runtime.ts';

/**
 * WebSocket mode through ccxt pro: per symbol one `watchOrderBook` loop and one `watchTrades`
 * loop. ccxt keeps the book from the venue's diffs and its snapshot (for Binance the documented
 * U/u sync against /api/v3/depth); each book it hands back is applied to the BookSink (its
 * `depth` best levels a side: a snapshot first, then the levels that changed, see
 * applyCcxtOrderBook), followed by a quote tick. A broken sequence (ccxt throws
 * InvalidNonce / ChecksumError and forgets its book) is a gap: our book is cleared and the next
 * watch resubscribes, which makes ccxt fetch a fresh snapshot.
 *
 * Every raw message passes `guardMessage` first (installed on the exchange object): non-JSON or
 * malformed market-data messages are counted and never reach ccxt, so they cannot poison its book
 * (a dropped diff then shows up as a sequence gap and a resync) nor reject every pending watch.
 */
export interface WatchOptions {
  readonly depth: number;
  /** ccxt pro's per-symbol trade cache (options.tradesLimit). */
  readonly tradesLimit: number;
}

export async function runWatchLoops(
  rt: CcxtRuntime,
  ex: Exchange,
  symbols: readonly CcxtSymbol[],
  sink: TickSink,
  o: WatchOptions,
): Promise<void> {
  await Promise.all(symbols.flatMap((s) => [watchBook(rt, ex, s, sink, o), watchTrades(rt, ex, s, sink, o)]));
}

async function watchBook(
  rt: CcxtRuntime,
  ex: Exchange,
  sym: CcxtSymbol,
  sink: TickSink,
  o: WatchOptions,
): Promise<void> {
  const loop = new LoopState(rt.o.backoff, `book:${sym.symbol}`);
  const scratch = new LevelScratch();
  while (!rt.stopping && sym.active) {
    try {
      const ob = await ex.watchOrderBook(sym.symbol);
      if (rt.stopping) break;
      rt.succeeded(loop);
      // A quote per book change.
      emitCcxtOrderBook(rt.o.emitter, rt.o.books, sink, sym, ob, o.depth, scratch);
      await rt.yieldToSink(sink);
    } catch (err) {
      if ((await rt.failed(loop, sym, err, true)) === 'drop') return;
    }
  }
}

async function watchTrades(
  rt: CcxtRuntime,
  ex: Exchange,
  sym: CcxtSymbol,
  sink: TickSink,
  o: WatchOptions,
): Promise<void> {
  const loop = new LoopState(rt.o.backoff, `trades:${sym.symbol}`);
  // The newest trade emitted: ccxt hands back trade objects from its per-symbol cache, so a batch
  // that overlaps what was already emitted is cut by reference (no id parsing, no allocation).
  let last: Trade | undefined;
  const emitNew = (trades: readonly Trade[]) => {
    let from = 0;
    let found = last === undefined;
    for (let i = trades.length - 1; i >= 0 && !found; i--)
      if (trades[i] === last) {
        from = i + 1;
        found = true;
      }
    // The cache is full and our last trade fell out of it: trades were lost in between.
    if (!found && trades.length >= o.tradesLimit) rt.gaps++;
    for (let i = from; i < trades.length; i++) {
      const t = trades[i];
      if (t) ccxtTradeTick(rt.o.emitter, sink, sym.symbolId, t);
    }
    if (trades.length > from) last = trades[trades.length - 1];
  };
  while (!rt.stopping && sym.active) {
    try {
      // ccxt pro hands back the trades new since the previous call (its `newUpdates` mode), up
      // to its per-symbol cache (`tradesLimit`).
      const trades = await ex.watchTrades(sym.symbol);
      if (rt.stopping) break;
      rt.succeeded(loop);
      emitNew(trades);
      // While the sink was full ccxt kept reading the socket into its cache; those trades are
      // emitted now rather than with the next message (which may be long in coming).
      while ((await rt.yieldToSink(sink)) && !rt.stopping) {
        const cache = (ex as unknown as { trades?: Record<string, Trade[] | undefined> }).trades?.[
          sym.symbol
        ];
        if (cache) emitNew(cache);
      }
    } catch (err) {
      if ((await rt.failed(loop, sym, err, false)) === 'drop') return;
    }
  }
}

/**
 * Wraps the exchange's message handler: counts every message, refuses (and counts) anything
 * that is not a JSON object or — for Binance — a `trade`/`depthUpdate` event without the fields
 * its documentation promises, and turns an exception thrown while ccxt parses a message into a
 * malformed count instead of a rejection of every pending watch on that socket.
 */
export function guardMessages(rt: CcxtRuntime, ex: Exchange, exchangeId: string): void {
  const target = ex as unknown as { handleMessage: (client: unknown, message: unknown) => unknown };
  const original = target.handleMessage.bind(ex);
  // binance, binanceus, binanceusdm …: the same trade/depthUpdate event shapes.
  const check = exchangeId.startsWith('binance') ? binanceMessageProblem : () => null;
  let offset = 0;
  target.handleMessage = (client: unknown, message: unknown) => {
    offset++;
    rt.received();
    if (message === null || typeof message !== 'object') {
      rt.o.emitter.reject(MALFORMED.payload, `ws:${offset}`);
      return;
    }
    const problem = check(message as Record<string, unknown>);
    if (problem) {
      rt.o.emitter.reject(problem, `ws:${offset}`);
      return;
    }
    try {
      return original(client, message);
    } catch {
      rt.o.emitter.reject(MALFORMED.payload, `ws:${offset}`);
      return undefined;
    }
  };
}

/** Binance Spot stream events checked before ccxt sees them (raw or combined `{stream, data}`). */
function binanceMessageProblem(
  msg: Record<string, unknown>,
): (typeof MALFORMED)[keyof typeof MALFORMED] | null {
  const m = (typeof msg.stream === 'string' ? msg.data : msg) as Record<string, unknown> | null;
  if (m === null || typeof m !== 'object') return MALFORMED.payload;
  if (m.e === 'trade') {
    if (typeof m.s !== 'string' || typeof m.p !== 'string' || typeof m.q !== 'string')
      return MALFORMED.payload;
    if (typeof m.T !== 'number') return MALFORMED.timestamp;
    if (typeof m.m !== 'boolean') return MALFORMED.aggressor;
    if (!validLevels([[m.p, m.q]])) return MALFORMED.price;
    return null;
  }
  if (m.e === 'depthUpdate') {
    if (typeof m.s !== 'string' || typeof m.U !== 'number' || typeof m.u !== 'number')
      return MALFORMED.payload;
    if (typeof m.E !== 'number') return MALFORMED.timestamp;
    if (!Array.isArray(m.b) || !Array.isArray(m.a) || !validLevels(m.b) || !validLevels(m.a))
      return MALFORMED.payload;
    return null;
  }
  return null;
}
