import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { CollectingSink, sideOf } from '../../../tests/support/collecting-sink.ts';
import { BookRegistry } from '../../book/book-registry.ts';
import { ASK, BID } from '../../book/book-sink.ts';
import { Xoshiro128 } from '../../random/seeded-random.ts';
import { MalformedRecords } from '../malformed.ts';
import { SymbolTable } from '../symbol-table.ts';
import { MALFORMED } from '../tick.ts';
import {
  aggressorOfSide,
  applyCcxtOrderBook,
  BinanceRawDecoder,
  ccxtTradeTick,
  LevelScratch,
  VenueTickEmitter,
} from './ccxt-decode.ts';

const log = createLogger({ name: 'ccxt-decode-test', level: 'silent' });
const NOW = 1_790_000_000_000;

function setup() {
  const books = new BookRegistry(8);
  const symbolTable = new SymbolTable({ capacity: 8, shards: 1 });
  const malformed = new MalformedRecords(log);
  const dec = new BinanceRawDecoder({
    symbolTable,
    books,
    malformed,
    markets: [{ id: 'BTCUSDT', symbol: 'BTC/USDT' }],
    maxFutureSkewMs: 1_000,
    nowMs: () => NOW,
  });
  return {
    books,
    symbolTable,
    malformed,
    dec,
    sink: new CollectingSink(),
    id: symbolTable.idOf('BINANCE:BTC/USDT'),
  };
}

const trade = (t: number, p: string, q: string, m: boolean, T = NOW - 5) =>
  `{"e":"trade","E":${T},"s":"BTCUSDT","t":${t},"p":"${p}","q":"${q}","T":${T},"m":${m},"M":true}`;
const depth = (U: number, u: number, b: string, a: string, E = NOW - 5) =>
  `{"e":"depthUpdate","E":${E},"s":"BTCUSDT","U":${U},"u":${u},"b":[${b}],"a":[${a}]}`;

describe('BinanceRawDecoder', () => {
  it('decodes trades: m=true is a seller-initiated print, raw and combined streams alike', () => {
    const { dec, sink, id } = setup();
    expect(id).toBeGreaterThanOrEqual(0);
    dec.onMessage(trade(1, '60000.01', '0.5', false), sink);
    dec.onMessage(`{"stream":"btcusdt@trade","data":${trade(2, '59999.99', '0.25', true)}}`, sink);
    expect(
      sink.ticks.map((t) => [t.symbolId, t.kind, t.price, t.size, t.aggressor, t.tsEventUs, t.seq]),
    ).toEqual([
      [id, 1, 60000.01, 0.5, 1, (NOW - 5) * 1000, 0],
      [id, 1, 59999.99, 0.25, -1, (NOW - 5) * 1000, 1],
    ]);
  });

  it('counts malformed messages by kind and goes on', () => {
    const { dec, sink, malformed } = setup();
    dec.onMessage('{oops', sink);
    dec.onMessage('42', sink);
    dec.onMessage(trade(1, 'abc', '1', true), sink);
    dec.onMessage(trade(1, '0x10', '1', true), sink);
    dec.onMessage('{"e":"trade","s":"ETHUSDT","p":"1","q":"1","T":1,"m":true}', sink);
    dec.onMessage('{"e":"kline","s":"BTCUSDT"}', sink);
    dec.onMessage('{"e":"trade","s":"BTCUSDT","p":"1","q":"1","T":1}', sink);
    dec.onMessage('{"result":null,"id":1}', sink);
    dec.onMessage(trade(3, '1.5', '2', false), sink);
    expect(malformed.count('binance-raw', MALFORMED.payload)).toBe(2);
    expect(malformed.count('binance-raw', MALFORMED.price)).toBe(2);
    expect(malformed.count('binance-raw', MALFORMED.symbol)).toBe(1);
    expect(malformed.count('binance-raw', MALFORMED.kind)).toBe(1);
    expect(malformed.count('binance-raw', MALFORMED.aggressor)).toBe(1);
    expect(dec.emitter.malformed).toBe(7);
    expect(sink.ticks).toHaveLength(1);
  });

  it('applies depth only over a snapshot and in sequence; a break is a gap that clears the book', () => {
    const { dec, sink, books, id } = setup();
    dec.onMessage(depth(90, 95, '["100.00","1"]', ''), sink);
    expect(dec.unsynced).toBe(1);
    expect(books.hasBook(id)).toBe(false);

    dec.snapshot(
      'BTCUSDT',
      100,
      [
        ['99.00', '2'],
        ['98.00', '1'],
      ],
      [['101.00', '3']],
      NOW * 1000,
    );
    dec.onMessage(depth(95, 100, '["99.00","9"]', ''), sink); // u ≤ lastUpdateId: dropped
    dec.onMessage(depth(99, 102, '["99.50","1"]', '["101.00","0"],["102.00","4"]'), sink); // straddles
    dec.onMessage(depth(103, 103, '["98.00","0"]', ''), sink);
    expect(sideOf(books, id, BID)).toEqual([
      [99.5, 1],
      [99, 2],
    ]);
    expect(sideOf(books, id, ASK)).toEqual([[102, 4]]);
    const quotes = sink.ticks.filter((t) => t.kind === 2);
    expect(quotes.map((q) => [q.bid, q.bidSize, q.ask, q.askSize, q.price])).toEqual([
      [99.5, 1, 102, 4, 100.75],
      [99.5, 1, 102, 4, 100.75],
    ]);

    dec.onMessage(depth(105, 106, '["99.50","0"]', ''), sink); // 104 missing
    expect(dec.gaps).toBe(1);
    expect(books.hasBook(id)).toBe(false);
    dec.onMessage(depth(107, 107, '["99.00","0"]', ''), sink);
    expect(dec.unsynced).toBe(2);
    dec.snapshot('BTCUSDT', 107, [['97.00', '1']], [['103.00', '1']], NOW * 1000);
    dec.onMessage(depth(108, 108, '["97.00","5"]', ''), sink);
    expect(sideOf(books, id, BID)).toEqual([[97, 5]]);
  });

  it('refuses a depth event with a bad level whole (no half-applied event)', () => {
    const { dec, sink, books, id } = setup();
    dec.snapshot('BTCUSDT', 1, [['99.00', '2']], [['101.00', '3']], NOW * 1000);
    dec.onMessage(depth(2, 2, '["99.00","5"],["x","1"]', ''), sink);
    expect(sideOf(books, id, BID)).toEqual([[99, 2]]);
    expect(dec.emitter.malformed).toBe(1);
  });

  it('refuses ticks dated beyond the allowed skew and records the measured skew', () => {
    const { dec, sink } = setup();
    dec.onMessage(trade(1, '1.00', '1', true, NOW + 60_000), sink);
    expect(dec.emitter.skewed).toBe(1);
    expect(dec.emitter.clockSkewMs).toBe(60_000);
    expect(sink.ticks).toHaveLength(0);
    dec.onMessage(trade(2, '1.00', '1', true, NOW - 250), sink);
    expect(dec.emitter.clockSkewMs).toBe(-250);
    expect(sink.ticks).toHaveLength(1);
  });
});

describe('ccxt unified structures', () => {
  it('a ccxt order book becomes a snapshot; a bad level applies nothing', () => {
    const books = new BookRegistry(8);
    const scratch = new LevelScratch();
    const ob = {
      bids: [
        [100, 1],
        [99, 2],
        [98, 3],
      ],
      asks: [[101, 4]],
      timestamp: NOW,
    };
    expect(applyCcxtOrderBook(books, 0, ob, 2, NOW * 1000, scratch)).toBe(3);
    expect(sideOf(books, 0, BID)).toEqual([
      [100, 1],
      [99, 2],
    ]);
    const bad = {
      bids: [
        [100, 1],
        [Number.NaN, 2],
      ],
      asks: [],
    };
    expect(applyCcxtOrderBook(books, 1, bad, 10, NOW * 1000, scratch)).toBe(-1);
    expect(books.hasBook(1)).toBe(false);
  });

  it('after the first snapshot, successive ccxt books go in as the level changes only', () => {
    const books = new BookRegistry(2);
    const scratch = new LevelScratch();
    const ob = (bids: number[][], asks: number[][]) => ({ bids, asks });
    expect(
      applyCcxtOrderBook(
        books,
        0,
        ob(
          [
            [100, 1],
            [99, 2],
          ],
          [
            [101, 1],
            [102, 2],
          ],
        ),
        10,
        1,
        scratch,
      ),
    ).toBe(4);
    expect(books.snapshotsApplied).toBe(1);
    // The bid at 100 is lifted, the ask at 101 replaced by a better one at 100.5, 99 resized.
    const moved = ob(
      [[99, 3]],
      [
        [100.5, 1],
        [101, 1],
        [102, 2],
      ],
    );
    const changes = applyCcxtOrderBook(books, 0, moved, 10, 2, scratch);
    expect(changes).toBe(3);
    expect(books.snapshotsApplied).toBe(1);
    expect(books.crossedCorrections).toBe(0);
    expect(sideOf(books, 0, BID)).toEqual([[99, 3]]);
    expect(sideOf(books, 0, ASK)).toEqual([
      [100.5, 1],
      [101, 1],
      [102, 2],
    ]);
    // The same book again: nothing changes.
    expect(applyCcxtOrderBook(books, 0, moved, 10, 3, scratch)).toBe(0);
    // A cleared book (gap, disconnect) takes the next one as a snapshot.
    books.clear(0);
    expect(applyCcxtOrderBook(books, 0, ob([[98, 1]], [[99, 1]]), 10, 4, scratch)).toBe(2);
    expect(books.snapshotsApplied).toBe(2);
  });

  it('the applied book always equals the ccxt book’s best `depth` levels (random walks)', () => {
    const rng = new Xoshiro128(11);
    const books = new BookRegistry(1);
    const scratch = new LevelScratch();
    const depth = 8;
    const bids = new Map<number, number>();
    const asks = new Map<number, number>();
    for (let i = 1; i <= 12; i++) {
      bids.set(1000 - i, i);
      asks.set(1000 + i, i);
    }
    const best = (m: Map<number, number>, dir: 1 | -1) =>
      [...m].sort((x, y) => dir * (y[0] - x[0])).map(([p, q]) => [p / 100, q]);
    for (let step = 0; step < 500; step++) {
      const k = 1 + Math.floor(rng.next() * 4);
      for (let c = 0; c < k; c++) {
        const bestBid = Math.max(...bids.keys());
        const bestAsk = Math.min(...asks.keys());
        const isBid = rng.next() < 0.5;
        const off = 1 + Math.floor(rng.next() * 15);
        const p = isBid ? bestAsk - off : bestBid + off;
        const side = isBid ? bids : asks;
        if (rng.next() < 0.3 && side.size > 2)
          side.delete([...side.keys()][Math.floor(rng.next() * side.size)] as number);
        else side.set(p, 1 + Math.floor(rng.next() * 9));
        // Keep the venue book uncrossed, as a venue's is.
        if (isBid) for (const a of [...asks.keys()]) if (a <= p) asks.delete(a);
        if (!isBid) for (const b of [...bids.keys()]) if (b >= p) bids.delete(b);
      }
      const ob = { bids: best(bids, 1), asks: best(asks, -1) };
      expect(applyCcxtOrderBook(books, 0, ob, depth, step + 1, scratch)).toBeGreaterThanOrEqual(0);
      expect(sideOf(books, 0, BID)).toEqual(ob.bids.slice(0, depth));
      expect(sideOf(books, 0, ASK)).toEqual(ob.asks.slice(0, depth));
    }
    expect(books.snapshotsApplied).toBe(1);
    expect(books.crossedCorrections).toBe(0);
  });

  it('a ccxt public trade becomes a trade tick with the book top; its side is the taker side', () => {
    const books = new BookRegistry(8);
    books.snapshot(0, [100, 1], 1, [101, 2], 1, NOW * 1000);
    const emitter = new VenueTickEmitter({
      source: 'ccxt:test',
      malformed: new MalformedRecords(log),
      books,
      maxFutureSkewMs: 1_000,
      nowMs: () => NOW,
    });
    const sink = new CollectingSink();
    expect(
      ccxtTradeTick(emitter, sink, 0, { id: '1', timestamp: NOW, price: 101, amount: 0.5, side: 'buy' }),
    ).toBe(true);
    expect(
      ccxtTradeTick(emitter, sink, 0, { id: '2', timestamp: NOW, price: 100, amount: 0.5, side: 'sell' }),
    ).toBe(true);
    expect(ccxtTradeTick(emitter, sink, 0, { id: '3', timestamp: NOW, price: undefined, amount: 1 })).toBe(
      false,
    );
    expect(ccxtTradeTick(emitter, sink, 0, { id: '4', price: 100, amount: 1 })).toBe(false);
    expect(sink.ticks.map((t) => [t.aggressor, t.bid, t.ask, t.bidSize, t.askSize])).toEqual([
      [1, 100, 101, 1, 2],
      [-1, 100, 101, 1, 2],
    ]);
    expect(emitter.malformed).toBe(2);
    expect(books.tradesSeen).toBe(2);
    expect(aggressorOfSide(undefined)).toBe(0);
  });
});
