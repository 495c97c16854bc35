import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { CollectingSink } from '../../../tests/support/collecting-sink.ts';
import { BookRegistry } from '../../book/book-registry.ts';
import { ASK, BID } from '../../book/book-sink.ts';
import { MalformedRecords } from '../malformed.ts';
import { SymbolTable } from '../symbol-table.ts';
import { MALFORMED } from '../tick.ts';
import { type AlpacaControl, AlpacaDecoder } from './alpaca-decode.ts';
import { parseRfc3339Us } from './rfc3339-time.ts';

const NOW_MS = Date.parse('2026-03-02T15:00:00Z');
const iso = (offsetMs: number, extra = '000000') =>
  `${new Date(NOW_MS + offsetMs).toISOString().slice(0, 23)}${extra}Z`;

function setup(maxFutureSkewMs = 2_000) {
  const log = createLogger({ name: 'alpaca-decode-test', level: 'silent' });
  const books = new BookRegistry(16);
  const malformed = new MalformedRecords(log);
  const symbolTable = new SymbolTable({ capacity: 16, shards: 2 });
  const controls: AlpacaControl[] = [];
  const decoder = new AlpacaDecoder({
    symbolTable,
    malformed,
    books,
    maxFutureSkewMs,
    nowUs: () => NOW_MS * 1000,
    onControl: (c) => controls.push(c),
  });
  return { books, malformed, symbolTable, decoder, controls, sink: new CollectingSink() };
}

const q = (S: string, bp: number, bs: number, ap: number, as: number, t = iso(0)) => ({
  T: 'q',
  S,
  bx: 'U',
  bp,
  bs,
  ax: 'Q',
  ap,
  as,
  t,
  c: ['R'],
  z: 'C',
});
const tr = (S: string, p: number, s: number, t = iso(0), i = 1) => ({
  T: 't',
  S,
  i,
  x: 'D',
  p,
  s,
  t,
  c: ['@', 'I'],
  z: 'C',
});
const frame = (...m: unknown[]) => JSON.stringify(m);

describe('Alpaca stream decoder', () => {
  it('turns a quote into a one-level book per side and a quote tick under the instrument symbol', () => {
    const { decoder, sink, books, symbolTable } = setup();
    decoder.onMessage(frame(q('AMD', 87.66, 1, 87.68, 4, '2026-03-02T14:59:59.335689322Z')), sink);
    const id = symbolTable.idOf('AMD');
    expect(id).toBe(0);
    expect(books.levels(id, BID, 5, new Float64Array(10))).toBe(1);
    expect(books.levels(id, ASK, 5, new Float64Array(10))).toBe(1);
    expect(sink.ticks).toHaveLength(1);
    expect(sink.ticks[0]).toMatchObject({
      symbolId: id,
      kind: 2,
      bid: 87.66,
      ask: 87.68,
      bidSize: 1,
      askSize: 4,
      aggressor: 0,
      size: 0,
      tsEventUs: Date.parse('2026-03-02T14:59:59.335Z') * 1000 + 689,
    });
    expect(sink.ticks[0]?.price).toBeCloseTo(87.67, 10);
    // A newer quote replaces the level (not a second level).
    decoder.onMessage(frame(q('AMD', 87.7, 2, 87.72, 3, iso(1))), sink);
    const out = new Float64Array(10);
    expect(books.levels(id, BID, 5, out)).toBe(1);
    expect([out[0], out[1]]).toEqual([87.7, 2]);
    // One-sided (no bid): the ask side shows, no quote tick (a quote tick needs both sides).
    decoder.onMessage(frame(q('AMD', 0, 0, 87.75, 5, iso(2))), sink);
    expect(books.hasBook(id)).toBe(true);
    expect(books.levels(id, BID, 5, out)).toBe(0);
    expect(sink.ticks).toHaveLength(2);
  });

  it('dates trades with the quote in force and signs them by the quote rule', () => {
    const { decoder, sink, books } = setup();
    // No quote yet: no bid/ask on the tick, aggressor unknown.
    decoder.onMessage(frame(tr('AAPL', 126.55, 1, iso(0))), sink);
    expect(sink.ticks[0]).toMatchObject({ kind: 1, price: 126.55, size: 1, bid: 0, ask: 0, aggressor: 0 });
    decoder.onMessage(frame(q('AAPL', 126.5, 3, 126.6, 2, iso(1))), sink);
    decoder.onMessage(
      frame(
        tr('AAPL', 126.6, 10, iso(2)), // at the ask: buyer
        tr('AAPL', 126.7, 11, iso(3)), // through the ask: buyer
        tr('AAPL', 126.5, 12, iso(4)), // at the bid: seller
        tr('AAPL', 126.45, 13, iso(5)), // through the bid: seller
        tr('AAPL', 126.55, 14, iso(6)), // inside: unknown
      ),
      sink,
    );
    const trades = sink.ticks.filter((t) => t.kind === 1).slice(1);
    expect(trades.map((t) => t.aggressor)).toEqual([1, 1, -1, -1, 0]);
    for (const t of trades) expect([t.bid, t.ask, t.bidSize, t.askSize]).toEqual([126.5, 126.6, 3, 2]);
    expect(books.tradesSeen).toBe(6);
    // A locked quote (bid = ask) says nothing about the side.
    decoder.onMessage(frame(q('AAPL', 126.6, 1, 126.6, 1, iso(7)), tr('AAPL', 126.6, 1, iso(8))), sink);
    expect(sink.ticks.at(-1)).toMatchObject({ kind: 1, aggressor: 0, bid: 126.6, ask: 126.6 });
    // Sequence numbers are the feed's own, increasing by one per tick.
    expect(sink.ticks.map((t) => t.seq)).toEqual(sink.ticks.map((_t, i) => i));
  });

  it('decodes every message of a batched frame, in order, across symbols', () => {
    const { decoder, sink, symbolTable } = setup();
    decoder.onMessage(
      frame(
        q('AAPL', 1, 1, 2, 1, iso(0)),
        q('MSFT', 3, 1, 4, 1, iso(0)),
        tr('AAPL', 2, 5, iso(1)),
        tr('MSFT', 3, 6, iso(1)),
        q('AAPL', 1.5, 1, 2, 1, iso(2)),
      ),
      sink,
    );
    expect(decoder.messagesIn).toBe(5);
    expect(sink.ticks.map((t) => [symbolTable.symbolOf(t.symbolId), t.kind, t.aggressor])).toEqual([
      ['AAPL', 2, 0],
      ['MSFT', 2, 0],
      ['AAPL', 1, 1],
      ['MSFT', 1, -1],
      ['AAPL', 2, 0],
    ]);
  });

  it('counts event times going backwards per symbol and channel: stale quotes dropped, late trades kept', () => {
    const { decoder, sink, books, symbolTable } = setup();
    decoder.onMessage(frame(q('AAPL', 10, 1, 11, 1, iso(10)), tr('AAPL', 11, 1, iso(10))), sink);
    // A trade dated before the last quote is not out of order (separate SIP channels)…
    decoder.onMessage(frame(tr('AAPL', 11, 1, iso(12)), q('AAPL', 10.5, 1, 11, 1, iso(11))), sink);
    expect(decoder.outOfOrder).toBe(0);
    // …but a quote older than the last quote, and a trade older than the last trade, are.
    decoder.onMessage(frame(q('AAPL', 9, 1, 9.5, 1, iso(5)), tr('AAPL', 10.5, 2, iso(11))), sink);
    expect(decoder.outOfOrder).toBe(2);
    const out = new Float64Array(4);
    books.levels(symbolTable.idOf('AAPL'), BID, 1, out);
    expect(out[0]).toBe(10.5); // the stale quote did not replace the newer top
    const last = sink.ticks.at(-1);
    expect(last).toMatchObject({ kind: 1, price: 10.5, size: 2, tsEventUs: (NOW_MS + 11) * 1000 });
    // Other symbols have their own clocks.
    decoder.onMessage(frame(q('MSFT', 1, 1, 2, 1, iso(1))), sink);
    expect(decoder.outOfOrder).toBe(2);
    // A benchmark replaying recorded frames starts the clocks again.
    decoder.forgetEventTimes();
    decoder.onMessage(frame(q('AAPL', 9, 1, 9.5, 1, iso(5))), sink);
    expect(decoder.outOfOrder).toBe(2);
  });

  it('counts malformed messages by kind and keeps decoding', () => {
    const { decoder, sink, malformed } = setup();
    decoder.onMessage('{not json', sink);
    decoder.onMessage('{"T":"q"}', sink); // not an array
    decoder.onMessage(
      frame(
        null,
        { T: 'q', S: 'AAPL', bp: '1', bs: 1, ap: 2, as: 1, t: iso(0) },
        { T: 't', S: 'AAPL', p: 1, s: 1, t: 'yesterday' },
        { T: 't', S: 'AAPL', p: 1, s: 1, t: '2026-02-22T25:00:00Z' },
        { T: 't', p: 1, s: 1, t: iso(0) },
        { T: 't', S: 'bad symbol', p: 1, s: 1, t: iso(0) },
        q('AAPL', 11, 1, 10, 1), // crossed
        q('AAPL', -1, 1, 10, 1),
        tr('AAPL', 0, 1), // price 0
        tr('AAPL', 1, -5), // negative size
        { T: 'zz', S: 'AAPL' },
        { T: 'error', code: 'x' },
        q('AAPL', 10, 1, 11, 1, iso(1)),
        tr('AAPL', 11, 1, iso(2)),
      ),
      sink,
    );
    expect(decoder.malformed).toBe(14);
    expect(malformed.count('alpaca', MALFORMED.payload)).toBe(2);
    expect(malformed.count('alpaca', MALFORMED.shape)).toBe(2);
    expect(malformed.count('alpaca', MALFORMED.number)).toBe(1);
    expect(malformed.count('alpaca', MALFORMED.timestamp)).toBe(2);
    expect(malformed.count('alpaca', MALFORMED.symbol)).toBe(2);
    expect(malformed.count('alpaca', MALFORMED.quote)).toBe(2);
    expect(malformed.count('alpaca', MALFORMED.price)).toBe(1);
    expect(malformed.count('alpaca', MALFORMED.size)).toBe(1);
    expect(malformed.count('alpaca', MALFORMED.kind)).toBe(1);
    expect(sink.ticks.map((t) => t.kind)).toEqual([2, 1]);
  });

  it('measures clock skew and refuses messages dated too far ahead', () => {
    const { decoder, sink } = setup(2_000);
    decoder.onMessage(frame(q('AAPL', 10, 1, 11, 1, iso(-150))), sink);
    expect(decoder.clockSkewMs).toBe(-150);
    decoder.onMessage(frame(tr('AAPL', 11, 1, iso(5_000)), q('AAPL', 10, 1, 11, 1, iso(2_500))), sink);
    expect(decoder.skewed).toBe(2);
    expect(decoder.clockSkewMs).toBe(2_500);
    decoder.onMessage(frame(tr('AAPL', 11, 1, iso(1_999))), sink);
    expect(sink.ticks.map((t) => t.kind)).toEqual([2, 1]);
    expect(decoder.malformed).toBe(0);
  });

  it('hands control messages over and counts corrections, cancels and other channels', () => {
    const { decoder, sink, controls } = setup();
    decoder.onMessage(
      JSON.stringify([
        { T: 'success', msg: 'connected' },
        { T: 'error', code: 402, msg: 'auth failed' },
        { T: 'subscription', trades: ['AAPL'], quotes: ['AAPL', 'AMD'], bars: [] },
        { T: 'c', S: 'AAPL', x: 'D', oi: 1, op: 1, os: 1, ci: 2, cp: 2, cs: 2, t: iso(0) },
        { T: 'x', S: 'AAPL', i: 1, x: 'D', p: 1, s: 1, a: 'C', t: iso(0) },
        { T: 'b', S: 'AAPL' },
      ]),
      sink,
    );
    expect(controls).toEqual([
      { kind: 'success', msg: 'connected' },
      { kind: 'error', code: 402, msg: 'auth failed' },
      { kind: 'subscription', trades: ['AAPL'], quotes: ['AAPL', 'AMD'] },
    ]);
    expect([decoder.corrections, decoder.cancels, decoder.ignored, decoder.malformed]).toEqual([1, 1, 1, 0]);
    expect(sink.ticks).toHaveLength(0);
  });
});

describe('Alpaca times (rfc3339-time.ts)', () => {
  it('reads Alpaca times to the microsecond', () => {
    const base = Date.parse('2021-02-22T15:51:45Z') * 1000;
    expect(parseRfc3339Us('2021-02-22T15:51:45.335689322Z')).toBe(base + 335_689);
    expect(parseRfc3339Us('2021-02-22T15:51:45.3Z')).toBe(base + 300_000);
    expect(parseRfc3339Us('2021-02-22T15:51:45Z')).toBe(base);
    expect(parseRfc3339Us('2021-02-22T10:51:45.000001-05:00')).toBe(base + 1);
    expect(parseRfc3339Us('2021-02-22T17:21:45+01:30')).toBe(base);
  });

  it('refuses what is not an RFC 3339 date-time', () => {
    for (const s of [
      '',
      '2021-02-22',
      '2021-02-22T15:51:45',
      '2021-02-22T15:51:45.Z',
      '2021-13-01T00:00:00Z',
      '2021-02-22T24:00:00Z',
      '2021-02-22T15:51:45Zjunk',
      '2021-02-22T15:51:45+0500',
      '20x1-02-22T15:51:45Z',
    ])
      expect(parseRfc3339Us(s), s).toBeNaN();
  });
});
