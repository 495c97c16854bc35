import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { MapBookSink } from '../../../tests/support/map-book-sink.ts';
import { ASK, BID } from '../../book/book-sink.ts';
import { MalformedRecords } from '../malformed.ts';
import { SymbolTable } from '../symbol-table.ts';
import { copyTick, createTickRecord, type TickRecord } from '../tick.ts';
import { CoinbaseDecoder } from './coinbase-decode.ts';
import { parseRfc3339Us } from './rfc3339-time.ts';

const log = createLogger({ name: 'coinbase-decode-test', level: 'silent' });
const NOW_US = Date.UTC(2026, 0, 2, 12, 0, 0) * 1000;
const T0 = '2026-01-02T12:00:00.000000Z';
const T1 = '2026-01-02T12:00:00.250000Z';

function setup() {
  const symbolTable = new SymbolTable({ capacity: 16, shards: 1 });
  const malformed = new MalformedRecords(log);
  const books = new MapBookSink();
  const resyncs: { products: readonly string[]; reason: string }[] = [];
  const decoder = new CoinbaseDecoder({
    symbolTable,
    malformed,
    books,
    maxFutureSkewMs: 1000,
    nowUs: () => NOW_US,
    onResync: (products, reason) => resyncs.push({ products: [...products], reason }),
  });
  const ticks: TickRecord[] = [];
  const sink = { publish: (t: TickRecord) => ticks.push(copyTick(t, createTickRecord())) > 0 };
  let seq = 0;
  const send = (channel: string, events: unknown[], extra: { seq?: number; ts?: string } = {}) =>
    decoder.onMessage(
      JSON.stringify({
        channel,
        client_id: '',
        timestamp: extra.ts ?? T0,
        sequence_num: extra.seq ?? seq++,
        events,
      }),
      sink,
    );
  const lvl = (side: string, price: string, qty: string, time = T0) => ({
    side,
    event_time: time,
    price_level: price,
    new_quantity: qty,
  });
  const snapshot = (product: string) =>
    send('l2_data', [
      {
        type: 'snapshot',
        product_id: product,
        updates: [
          lvl('bid', '100.00', '1'),
          lvl('bid', '99.50', '2'),
          lvl('offer', '100.50', '3'),
          lvl('offer', '101.00', '4'),
        ],
      },
    ]);
  const id = (p: string) => symbolTable.idOf(p);
  return { decoder, books, malformed, ticks, send, lvl, snapshot, id, resyncs, symbolTable, sink };
}

describe('CoinbaseDecoder: level2', () => {
  it('a snapshot builds the book and emits one quote tick; an update message emits ONE quote tick per product', () => {
    const s = setup();
    expect(s.snapshot('BTC-USD')).toBe(1);
    expect(s.books.side(s.id('BTC-USD'), BID)).toEqual([
      [100, 1],
      [99.5, 2],
    ]);
    expect(s.ticks[0]).toMatchObject({
      kind: 2,
      bid: 100,
      ask: 100.5,
      bidSize: 1,
      askSize: 3,
      price: 100.25,
    });
    const n = s.send('l2_data', [
      {
        type: 'update',
        product_id: 'BTC-USD',
        updates: [
          s.lvl('bid', '100.00', '0', T0),
          s.lvl('bid', '100.25', '5', T1),
          s.lvl('offer', '100.50', '0.5', T0),
        ],
      },
    ]);
    expect(n).toBe(1);
    expect(s.ticks).toHaveLength(2);
    const q = s.ticks[1] as TickRecord;
    expect(q).toMatchObject({ kind: 2, bid: 100.25, bidSize: 5, ask: 100.5, askSize: 0.5, aggressor: 0 });
    // The quote is dated by the latest event_time of the product's updates.
    expect(q.tsEventUs).toBe(parseRfc3339Us(T1));
    expect(q.symbolId).toBe(s.id('BTC-USD'));
    expect(q.seq).toBe((s.ticks[0] as TickRecord).seq + 1);
    expect(s.books.side(s.id('BTC-USD'), BID)).toEqual([
      [100.25, 5],
      [99.5, 2],
    ]);
  });

  it('two products in one message give one quote tick each', () => {
    const s = setup();
    s.snapshot('BTC-USD');
    s.snapshot('ETH-USD');
    s.ticks.length = 0;
    s.send('l2_data', [
      { type: 'update', product_id: 'BTC-USD', updates: [s.lvl('bid', '99.00', '1')] },
      { type: 'update', product_id: 'ETH-USD', updates: [s.lvl('offer', '100.75', '1')] },
      { type: 'update', product_id: 'BTC-USD', updates: [s.lvl('bid', '98.00', '1')] },
    ]);
    expect(s.ticks.map((t) => t.symbolId)).toEqual([s.id('BTC-USD'), s.id('ETH-USD')]);
  });

  it('a sequence gap clears every book, asks for a resync, skips updates until the fresh snapshot', () => {
    const s = setup();
    s.snapshot('BTC-USD');
    s.snapshot('ETH-USD');
    s.send('heartbeats', [{ current_time: T0, heartbeat_counter: 1 }]);
    s.send('l2_data', [{ type: 'update', product_id: 'BTC-USD', updates: [s.lvl('bid', '99.9', '1')] }], {
      seq: 10,
    });
    expect(s.decoder.gaps).toBe(1);
    expect(s.resyncs).toEqual([{ products: ['BTC-USD', 'ETH-USD'], reason: 'gap' }]);
    expect(s.books.hasBook(s.id('BTC-USD'))).toBe(false);
    expect(s.books.hasBook(s.id('ETH-USD'))).toBe(false);
    expect(s.decoder.updatesWithoutBook).toBe(1);
    expect(s.decoder.awaitingSnapshot('BTC-USD')).toBe(true);
    // The sequence continues from the gap: the next number is in order.
    s.send(
      'l2_data',
      [
        {
          type: 'snapshot',
          product_id: 'BTC-USD',
          updates: [s.lvl('bid', '1', '1'), s.lvl('offer', '2', '1')],
        },
      ],
      {
        seq: 11,
      },
    );
    expect(s.decoder.gaps).toBe(1);
    expect(s.books.side(s.id('BTC-USD'), ASK)).toEqual([[2, 1]]);
    expect(s.decoder.awaitingSnapshot('BTC-USD')).toBe(false);
  });

  it('a late or repeated message is counted out of order and dropped', () => {
    const s = setup();
    s.snapshot('BTC-USD'); // seq 0
    s.send('heartbeats', [{}], { seq: 2 }); // gap (1 missing)
    const before = s.books.calls.update;
    s.send('l2_data', [{ type: 'update', product_id: 'BTC-USD', updates: [s.lvl('bid', '1', '1')] }], {
      seq: 1,
    });
    s.send('heartbeats', [{}], { seq: 2 });
    expect(s.decoder.outOfOrder).toBe(2);
    expect(s.decoder.gaps).toBe(1);
    expect(s.books.calls.update).toBe(before);
  });
});

describe('CoinbaseDecoder: market trades', () => {
  it('trade ticks carry the aggressor (Coinbase sends the maker side), the current best bid/ask, oldest first', () => {
    const s = setup();
    s.snapshot('BTC-USD');
    s.ticks.length = 0;
    const n = s.send('market_trades', [
      {
        type: 'update',
        trades: [
          { trade_id: '2', product_id: 'BTC-USD', price: '100.50', size: '0.2', side: 'SELL', time: T1 },
          { trade_id: '1', product_id: 'BTC-USD', price: '100.00', size: '0.1', side: 'BUY', time: T0 },
        ],
      },
    ]);
    expect(n).toBe(2);
    // Newest first on the wire: trade 1 (T0) leaves first. BUY = a resting buy was hit: seller aggressed.
    expect(s.ticks[0]).toMatchObject({ kind: 1, price: 100, size: 0.1, aggressor: -1, bid: 100, ask: 100.5 });
    expect(s.ticks[1]).toMatchObject({ kind: 1, price: 100.5, size: 0.2, aggressor: 1 });
    expect((s.ticks[1] as TickRecord).tsEventUs).toBe(parseRfc3339Us(T1));
    expect(s.books.calls.trade).toBe(2);
  });

  it('the trade history Coinbase replays on subscribe gives no ticks', () => {
    const s = setup();
    s.send('market_trades', [
      {
        type: 'snapshot',
        trades: [{ trade_id: '1', product_id: 'BTC-USD', price: '1', size: '1', side: 'BUY', time: T0 }],
      },
    ]);
    expect(s.ticks).toHaveLength(0);
    expect(s.decoder.tradeHistorySkipped).toBe(1);
  });

  it('a trade without a book still prints, with bid/ask 0 (unknown)', () => {
    const s = setup();
    s.send('market_trades', [
      {
        type: 'update',
        trades: [{ trade_id: '1', product_id: 'SOL-USD', price: '20', size: '3', side: 'SELL', time: T0 }],
      },
    ]);
    expect(s.ticks[0]).toMatchObject({ kind: 1, price: 20, bid: 0, ask: 0, aggressor: 1 });
    expect(s.symbolTable.idOf('SOL-USD')).toBeGreaterThanOrEqual(0);
  });
});

describe('CoinbaseDecoder: malformed and skewed input', () => {
  it('bad JSON, bad shapes and bad numbers are counted by kind, never thrown', () => {
    const s = setup();
    s.snapshot('BTC-USD');
    const sink = s.sink;
    expect(s.decoder.onMessage('{"channel":"l2_data",', sink)).toBe(0);
    expect(s.decoder.onMessage('[]', sink)).toBe(0);
    expect(s.decoder.onMessage('null', sink)).toBe(0);
    s.send('market_trades', [
      {
        type: 'update',
        trades: [{ trade_id: '1', product_id: 'BTC-USD', price: 'abc', size: '1', side: 'BUY', time: T0 }],
      },
    ]);
    s.send('market_trades', [
      {
        type: 'update',
        trades: [{ trade_id: '1', product_id: 'BTC-USD', price: '1', size: '1', side: 'UP', time: T0 }],
      },
    ]);
    s.send('market_trades', [
      {
        type: 'update',
        trades: [
          { trade_id: '1', product_id: 'BTC-USD', price: '1', size: '1', side: 'BUY', time: 'yesterday' },
        ],
      },
    ]);
    s.send('l2_data', 'not-an-array' as unknown as unknown[]);
    expect(s.decoder.malformedCount).toBe(7);
    expect(s.malformed.count('coinbase', 'payload')).toBe(1);
    expect(s.malformed.count('coinbase', 'shape')).toBe(3);
    expect(s.malformed.count('coinbase', 'number')).toBe(1);
    expect(s.malformed.count('coinbase', 'aggressor')).toBe(1);
    expect(s.malformed.count('coinbase', 'timestamp')).toBe(1);
    expect(s.books.hasBook(s.id('BTC-USD'))).toBe(true);
  });

  it('an unreadable level leaves the book untouched and resyncs that product only', () => {
    const s = setup();
    s.snapshot('BTC-USD');
    s.snapshot('ETH-USD');
    const before = s.books.calls.update;
    s.send('l2_data', [
      {
        type: 'update',
        product_id: 'BTC-USD',
        updates: [s.lvl('bid', '99', '1'), s.lvl('bid', '0x10', '1')],
      },
    ]);
    expect(s.books.calls.update).toBe(before);
    expect(s.malformed.count('coinbase', 'price')).toBe(1);
    expect(s.resyncs).toEqual([{ products: ['BTC-USD'], reason: 'malformed' }]);
    expect(s.books.hasBook(s.id('BTC-USD'))).toBe(false);
    expect(s.books.hasBook(s.id('ETH-USD'))).toBe(true);
  });

  it('a message dated beyond the allowed skew is counted once and publishes nothing; the book still applies it', () => {
    const s = setup();
    s.snapshot('BTC-USD');
    s.ticks.length = 0;
    const ahead = '2026-01-02T12:00:05.000000Z'; // 5 s ahead, limit 1 s
    s.send(
      'l2_data',
      [{ type: 'update', product_id: 'BTC-USD', updates: [s.lvl('bid', '100.10', '1', ahead)] }],
      { ts: ahead },
    );
    s.send(
      'market_trades',
      [
        {
          type: 'update',
          trades: [
            { trade_id: '9', product_id: 'BTC-USD', price: '100', size: '1', side: 'BUY', time: ahead },
          ],
        },
      ],
      { ts: T0 },
    );
    expect(s.decoder.skewed).toBe(2);
    expect(s.ticks).toHaveLength(0);
    expect(s.decoder.clockSkewMs).toBe(0); // the last envelope was on time
    expect(s.books.side(s.id('BTC-USD'), BID)[0]).toEqual([100.1, 1]);
  });

  it('a venue error message is counted, not malformed', () => {
    const s = setup();
    s.decoder.onMessage('{"type":"error","message":"failure to subscribe"}', s.sink);
    expect(s.decoder.venueErrors).toBe(1);
    expect(s.decoder.lastVenueError).toBe('failure to subscribe');
    expect(s.decoder.malformedCount).toBe(0);
  });
});

describe('parseRfc3339Us', () => {
  it('reads Coinbase times to the microsecond', () => {
    const base = Date.UTC(2023, 1, 9, 20, 32, 50) * 1000;
    expect(parseRfc3339Us('2023-02-09T20:32:50.714964855Z')).toBe(base + 714_964);
    expect(parseRfc3339Us('2023-02-09T20:32:50Z')).toBe(base);
    expect(parseRfc3339Us('2023-02-09T20:32:50.5Z')).toBe(base + 500_000);
    expect(parseRfc3339Us('2023-02-09T21:32:50.000001+01:00')).toBe(base + 1);
    for (const bad of [
      '',
      '2023-02-09',
      '2023-02-09T20:32:50.Z',
      '2023-13-09T20:32:50Z',
      '2023-02-09T20:32:50',
      'x023-02-09T20:32:50Z',
    ])
      expect(parseRfc3339Us(bad)).toBeNaN();
  });
});
