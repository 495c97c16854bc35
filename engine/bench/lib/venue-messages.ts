import { Xoshiro128 } from '../../src/random/seeded-random.ts';

/**
 * Deterministic venue messages for the feed benchmark (bench/feeds.ts), in each venue's documented
 * wire format, as the venue would send them: a seeded random walk per instrument, a book of
 * `LEVELS` levels per side around it, level changes near the touch (about one in eight removes a
 * level), trades at the touch. Event times start a minute in the past and advance by a few µs per
 * message, so the decoders' clock-skew check passes them (only future-dated messages are refused).
 *
 *   Coinbase Advanced Trade  l2_data updates (1–8 levels per event), market_trades (1–3 trades)
 *   Alpaca v2 stream         frames (JSON arrays) of 1–10 quotes and trades
 *   Binance Spot raw stream  depthUpdate (1–10 levels, U/u in sequence) and trade
 */
export const LEVELS = 50;
const TICK = 0.01;

export interface Instrument {
  /** The venue's symbol (BTC-USD, AAPL, BTCUSDT). */
  readonly venueSymbol: string;
  /** Mid price in ticks of 0.01. */
  mid: number;
}

export interface GeneratedSet {
  /** Messages to send once before timing (snapshots, subscription acknowledgements). */
  readonly prelude: readonly string[];
  /** The timed messages. */
  readonly messages: readonly string[];
  /** Venue messages in `messages` (an Alpaca frame holds several). */
  readonly venueMessages: number;
}

/** A clock that starts a minute ago and moves 1–20 µs per call. */
class EventClock {
  #us: number;
  readonly #rng: Xoshiro128;
  constructor(rng: Xoshiro128) {
    this.#rng = rng;
    this.#us = (Date.now() - 60_000) * 1000;
  }
  nextUs(): number {
    this.#us += 1 + this.#rng.int(20);
    return this.#us;
  }
  get ms(): number {
    return Math.floor(this.#us / 1000);
  }
}

/** RFC 3339 with nanoseconds, as Coinbase and Alpaca send it (`2026-12-04T16:10:00.123456789Z`). */
function rfc3339Nanos(us: number, rng: Xoshiro128): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString(); // …T16:10:00.123Z
  const micros = String(us % 1000).padStart(3, '0');
  const nanos = String(rng.int(1000)).padStart(3, '0');
  return `${iso.slice(0, 23)}${micros}${nanos}Z`;
}

const px = (ticks: number): string => (ticks * TICK).toFixed(2);
const qty = (rng: Xoshiro128): string => (rng.int(1_000_000) / 10_000 + 0.0001).toFixed(4);

function walk(inst: Instrument, rng: Xoshiro128): void {
  const r = rng.next();
  if (r < 0.05) inst.mid -= 1;
  else if (r > 0.95) inst.mid += 1;
}

/** A level near the touch: side, price in ticks and new size ("0" about one in eight). */
function levelChange(inst: Instrument, rng: Xoshiro128): { bid: boolean; ticks: number; size: string } {
  const bid = rng.next() < 0.5;
  const depth = 1 + Math.min(LEVELS - 1, Math.floor(rng.exponential(6)));
  const ticks = bid ? inst.mid - depth : inst.mid + depth;
  return { bid, ticks, size: rng.next() < 0.125 ? '0' : qty(rng) };
}

function bookLevels(inst: Instrument, rng: Xoshiro128, bid: boolean): [string, string][] {
  return Array.from({ length: LEVELS }, (_, i) => [px(bid ? inst.mid - 1 - i : inst.mid + 1 + i), qty(rng)]);
}

const instruments = (symbols: readonly string[], rng: Xoshiro128): Instrument[] =>
  symbols.map((venueSymbol) => ({ venueSymbol, mid: 1000 + rng.int(5_000_000) }));

export const COINBASE_PRODUCTS = [
  'BTC-USD',
  'ETH-USD',
  'SOL-USD',
  'DOGE-USD',
  'ADA-USD',
  'AVAX-USD',
  'LINK-USD',
  'LTC-USD',
];
export const ALPACA_TICKERS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'BRK.B', 'JPM', 'V'];
export const BINANCE_MARKETS = [
  { id: 'BTCUSDT', symbol: 'BTC/USDT' },
  { id: 'ETHUSDT', symbol: 'ETH/USDT' },
  { id: 'SOLUSDT', symbol: 'SOL/USDT' },
  { id: 'BNBUSDT', symbol: 'BNB/USDT' },
  { id: 'XRPUSDT', symbol: 'XRP/USDT' },
  { id: 'DOGEUSDT', symbol: 'DOGE/USDT' },
];

/**
 * Coinbase: one connection's messages (sequence_num from 0, across channels as Coinbase numbers
 * them): a level2 snapshot per product, then `n` l2_data updates or market_trades updates.
 */
export function coinbaseMessages(kind: 'l2' | 'trades', n: number, seed: number): GeneratedSet {
  const rng = new Xoshiro128(seed);
  const clock = new EventClock(rng);
  const insts = instruments(COINBASE_PRODUCTS, rng);
  let seq = 0;
  const envelope = (channel: string, ts: string, events: unknown[]) =>
    JSON.stringify({ channel, client_id: '', timestamp: ts, sequence_num: seq++, events });
  const prelude = insts.map((inst) => {
    const ts = rfc3339Nanos(clock.nextUs(), rng);
    const updates = [
      ...bookLevels(inst, rng, true).map(([p, q]) => ({
        side: 'bid',
        event_time: ts,
        price_level: p,
        new_quantity: q,
      })),
      ...bookLevels(inst, rng, false).map(([p, q]) => ({
        side: 'offer',
        event_time: ts,
        price_level: p,
        new_quantity: q,
      })),
    ];
    return envelope('l2_data', ts, [{ type: 'snapshot', product_id: inst.venueSymbol, updates }]);
  });
  const messages: string[] = [];
  let tradeId = 1_000_000;
  for (let i = 0; i < n; i++) {
    const inst = insts[rng.int(insts.length)] as Instrument;
    walk(inst, rng);
    const ts = rfc3339Nanos(clock.nextUs(), rng);
    if (kind === 'l2') {
      const k = 1 + rng.int(8);
      const updates = Array.from({ length: k }, () => {
        const c = levelChange(inst, rng);
        return {
          side: c.bid ? 'bid' : 'offer',
          event_time: ts,
          price_level: px(c.ticks),
          new_quantity: c.size,
        };
      });
      messages.push(envelope('l2_data', ts, [{ type: 'update', product_id: inst.venueSymbol, updates }]));
    } else {
      const k = 1 + rng.int(3);
      const trades = Array.from({ length: k }, () => {
        const buy = rng.next() < 0.5;
        return {
          trade_id: String(tradeId++),
          product_id: inst.venueSymbol,
          price: px(buy ? inst.mid - 1 : inst.mid + 1),
          size: qty(rng),
          side: buy ? 'BUY' : 'SELL',
          time: ts,
        };
      });
      messages.push(envelope('market_trades', ts, [{ type: 'update', trades }]));
    }
  }
  return { prelude, messages, venueMessages: n };
}

/** Alpaca: `n` frames, each a JSON array of 1–10 quotes (about 70 %) and trades. */
export function alpacaFrames(n: number, seed: number): GeneratedSet {
  const rng = new Xoshiro128(seed);
  const clock = new EventClock(rng);
  const insts = instruments(ALPACA_TICKERS, rng);
  const exchanges = ['V', 'Q', 'N', 'P', 'K', 'Z'];
  let tradeId = 1;
  let venueMessages = 0;
  const messages: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = 1 + rng.int(10);
    const batch: unknown[] = [];
    for (let j = 0; j < k; j++) {
      const inst = insts[rng.int(insts.length)] as Instrument;
      walk(inst, rng);
      const t = rfc3339Nanos(clock.nextUs(), rng);
      if (rng.next() < 0.7) {
        batch.push({
          T: 'q',
          S: inst.venueSymbol,
          bx: exchanges[rng.int(exchanges.length)],
          bp: Number(px(inst.mid - 1)),
          bs: 1 + rng.int(20),
          ax: exchanges[rng.int(exchanges.length)],
          ap: Number(px(inst.mid + 1)),
          as: 1 + rng.int(20),
          c: ['R'],
          z: 'C',
          t,
        });
      } else {
        batch.push({
          T: 't',
          S: inst.venueSymbol,
          i: tradeId++,
          x: exchanges[rng.int(exchanges.length)],
          p: Number(px(inst.mid + (rng.next() < 0.5 ? -1 : 1))),
          s: 1 + rng.int(500),
          c: ['@'],
          z: 'C',
          t,
        });
      }
    }
    venueMessages += k;
    messages.push(JSON.stringify(batch));
  }
  return { prelude: [], messages, venueMessages };
}

export interface BinanceSet extends GeneratedSet {
  /** REST depth snapshots (`/api/v3/depth`) each run starts from. */
  readonly snapshots: readonly {
    readonly id: string;
    readonly lastUpdateId: number;
    readonly bids: [string, string][];
    readonly asks: [string, string][];
  }[];
}

/** Binance Spot raw streams: `n` depthUpdate (U/u in sequence per market) or trade events. */
export function binanceMessages(kind: 'depth' | 'trade', n: number, seed: number): BinanceSet {
  const rng = new Xoshiro128(seed);
  const clock = new EventClock(rng);
  const insts = instruments(
    BINANCE_MARKETS.map((m) => m.id),
    rng,
  );
  const lastU = new Map<string, number>();
  const snapshots = insts.map((inst) => {
    const lastUpdateId = 10_000 + rng.int(1_000_000);
    lastU.set(inst.venueSymbol, lastUpdateId);
    return {
      id: inst.venueSymbol,
      lastUpdateId,
      bids: bookLevels(inst, rng, true),
      asks: bookLevels(inst, rng, false),
    };
  });
  const messages: string[] = [];
  let tradeId = 5_000_000;
  for (let i = 0; i < n; i++) {
    const inst = insts[rng.int(insts.length)] as Instrument;
    walk(inst, rng);
    clock.nextUs();
    const E = clock.ms;
    if (kind === 'depth') {
      const k = 1 + rng.int(10);
      const b: [string, string][] = [];
      const a: [string, string][] = [];
      for (let j = 0; j < k; j++) {
        const c = levelChange(inst, rng);
        (c.bid ? b : a).push([px(c.ticks), c.size === '0' ? '0.00000000' : c.size]);
      }
      const U = (lastU.get(inst.venueSymbol) as number) + 1;
      const u = U + k - 1;
      lastU.set(inst.venueSymbol, u);
      messages.push(JSON.stringify({ e: 'depthUpdate', E, s: inst.venueSymbol, U, u, b, a }));
    } else {
      const buyerMaker = rng.next() < 0.5;
      messages.push(
        JSON.stringify({
          e: 'trade',
          E,
          s: inst.venueSymbol,
          t: tradeId++,
          p: px(buyerMaker ? inst.mid - 1 : inst.mid + 1),
          q: qty(rng),
          T: E,
          m: buyerMaker,
          M: true,
        }),
      );
    }
  }
  return { prelude: [], messages, venueMessages: n, snapshots };
}
