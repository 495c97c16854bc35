/**
 * Question: how many L2 level updates per second does the engine's book builder apply (with the
 * best bid/ask read after each, as the venue feeds do), against the naive reference book the
 * tests use (a Map per side, sorted on every read)?
 *
 *   node engine/bench/order-book.ts      (prints a table; writes bench/results/order-book.json)
 *   BENCH_UPDATES=200000 BENCH_DEPTH=500 node engine/bench/order-book.ts
 *
 * One deterministic stream per run: a snapshot of BENCH_DEPTH levels per side, then updates
 * clustered at the touch as real level-2 traffic is (distance from the best geometric, mean ~3
 * ticks): 55 % size changes, 20 % removals, 20 % new levels, 5 % removals of absent levels.
 *   OrderBook     engine/src/book/order-book.ts alone: update + best bid/ask
 *   BookRegistry  the BookSink the feeds call: update + top() + features + shared-memory slot
 *   arrays        a common JS book: per side a sorted number[] of prices (binary search, splice)
 *                 and a Map of sizes; same reads
 *   reference     engine/tests/support/book-reference.ts: update + best of each side (sort)
 * Rated by CPU time of this process (the machine is shared); the median of BENCH_RUNS runs.
 */
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { BookRegistry } from '../src/book/book-registry.ts';
import { ASK, BID, type BookSide } from '../src/book/book-sink.ts';
import { OrderBook } from '../src/book/order-book.ts';
import { createTickRecord } from '../src/feeds/tick.ts';
import { Xoshiro128 } from '../src/random/seeded-random.ts';
import { REF_ASK, REF_BID, ReferenceBook } from '../tests/support/book-reference.ts';

const machine = machineInfo();
const UPDATES = Number(process.env.BENCH_UPDATES ?? 1_000_000);
const REF_UPDATES = Math.min(UPDATES, Number(process.env.BENCH_REF_UPDATES ?? 20_000));
const DEPTH = Number(process.env.BENCH_DEPTH ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TICK = 0.01;

/** A seeded stream: sides, prices, sizes (Float64Array each) and the snapshot. */
function stream(n: number) {
  const random = new Xoshiro128(0x9e3779b9);
  const rnd = () => random.next();
  const mid = 4321055; // in ticks
  const bids: number[] = [];
  const asks: number[] = [];
  for (let k = 0; k < DEPTH; k++) {
    bids.push((mid - 1 - k) * TICK, 1 + k);
    asks.push((mid + 1 + k) * TICK, 1 + k);
  }
  // The stream's own view of the touch, to cluster updates near it (approximate, never crossing).
  let bestBid = mid - 1;
  let bestAsk = mid + 1;
  const side = new Int8Array(n);
  const price = new Float64Array(n);
  const size = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sd: BookSide = rnd() < 0.5 ? BID : ASK;
    const dist = Math.floor(-Math.log(1 - rnd()) * 3);
    const r = rnd();
    let t = sd === BID ? bestBid - dist : bestAsk + dist;
    let q = Math.round(rnd() * 1000) / 100 + 0.01;
    if (r < 0.2) q = 0;
    else if (r < 0.4) {
      // A new level just inside the spread, when there is room.
      if (sd === BID && bestBid + 1 < bestAsk) t = ++bestBid;
      else if (sd === ASK && bestAsk - 1 > bestBid) t = --bestAsk;
    } else if (r < 0.45) {
      t = sd === BID ? bestBid - DEPTH - 50 - dist : bestAsk + DEPTH + 50 + dist;
      q = 0;
    }
    if (q === 0 && dist === 0) {
      // The touch goes: the stream's view moves back one tick.
      if (sd === BID) bestBid--;
      else bestAsk++;
    }
    side[i] = sd;
    price[i] = Math.round(t) * TICK;
    size[i] = q;
  }
  return { side, price, size, bids, asks };
}

type Stream = ReturnType<typeof stream>;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

let sink = 0;
let finalDepth = [0, 0];
function runOrderBook(st: Stream, n: number): number {
  const b = new OrderBook();
  b.snapshot(st.bids, DEPTH, st.asks, DEPTH);
  const t0 = cpuMs();
  for (let i = 0; i < n; i++) {
    b.update(st.side[i] as BookSide, st.price[i] as number, st.size[i] as number);
    sink += b.bestBid + b.bestAsk;
  }
  const ms = cpuMs() - t0;
  finalDepth = [b.bids.count, b.asks.count];
  return ms;
}

function runRegistry(st: Stream, n: number): number {
  const r = new BookRegistry(4);
  const t = createTickRecord();
  r.snapshot(1, st.bids, DEPTH, st.asks, DEPTH, 1_780_000_000_000_000);
  const t0 = cpuMs();
  let ts = 1_780_000_000_000_000;
  for (let i = 0; i < n; i++) {
    ts += 100;
    r.update(1, st.side[i] as BookSide, st.price[i] as number, st.size[i] as number, ts);
    if (r.top(1, t)) sink += t.bid;
  }
  return cpuMs() - t0;
}

/** Plain arrays: prices best first, spliced; sizes in a Map. */
class ArrayBook {
  readonly px = [[] as number[], [] as number[]];
  readonly sz = [new Map<number, number>(), new Map<number, number>()];
  load(flat: number[], k: 0 | 1): void {
    for (let j = 0; j < flat.length; j += 2) this.set(k, flat[j] as number, flat[j + 1] as number);
  }
  set(k: 0 | 1, price: number, size: number): void {
    const a = this.px[k] as number[];
    const m = this.sz[k] as Map<number, number>;
    // Best first: bids descending, asks ascending.
    const before = (x: number) => (k === 0 ? x > price : x < price);
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(a[mid] as number)) lo = mid + 1;
      else hi = mid;
    }
    const found = a[lo] === price;
    if (size === 0) {
      if (found) {
        a.splice(lo, 1);
        m.delete(price);
      }
      return;
    }
    if (!found) a.splice(lo, 0, price);
    m.set(price, size);
    // Uncross like the engine: drop opposite levels at or through the price.
    const o = this.px[k === 0 ? 1 : 0] as number[];
    const om = this.sz[k === 0 ? 1 : 0] as Map<number, number>;
    while (o.length > 0 && (k === 0 ? (o[0] as number) <= price : (o[0] as number) >= price))
      om.delete(o.shift() as number);
  }
}

function runArrays(st: Stream, n: number): number {
  const b = new ArrayBook();
  b.load(st.bids, 0);
  b.load(st.asks, 1);
  const t0 = cpuMs();
  for (let i = 0; i < n; i++) {
    b.set(st.side[i] === BID ? 0 : 1, st.price[i] as number, st.size[i] as number);
    sink += (b.px[0]?.[0] ?? 0) + (b.px[1]?.[0] ?? 0);
  }
  return cpuMs() - t0;
}

function runReference(st: Stream, n: number): number {
  const b = new ReferenceBook();
  b.snapshot(st.bids, DEPTH, st.asks, DEPTH);
  const t0 = cpuMs();
  for (let i = 0; i < n; i++) {
    b.update(st.side[i] === BID ? REF_BID : REF_ASK, st.price[i] as number, st.size[i] as number);
    sink += (b.best(REF_BID)?.[0] ?? 0) + (b.best(REF_ASK)?.[0] ?? 0);
  }
  return cpuMs() - t0;
}

const st = stream(UPDATES);
// Warm-up (JIT), not reported.
runOrderBook(st, Math.min(UPDATES, 100_000));
runRegistry(st, Math.min(UPDATES, 100_000));
runArrays(st, Math.min(UPDATES, 100_000));
runReference(st, Math.min(REF_UPDATES, 2_000));

const variants = [
  { variant: 'OrderBook (typed arrays, binary search)', n: UPDATES, run: runOrderBook },
  { variant: 'BookRegistry (BookSink: + top, features, SAB slot)', n: UPDATES, run: runRegistry },
  { variant: 'sorted number[] + splice, sizes in a Map', n: UPDATES, run: runArrays },
  { variant: 'baseline: reference (Map, sort per read)', n: REF_UPDATES, run: runReference },
];
const rows = variants.map((v) => {
  const ms: number[] = [];
  for (let k = 0; k < RUNS; k++) ms.push(v.run(st, v.n));
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)] as number;
  return { variant: v.variant, updates: v.n, cpuMs: median, updatesPerSec: (v.n / median) * 1000 };
});
const baseline = rows.at(-1)?.updatesPerSec ?? 1;
console.table(
  rows.map((r) => ({
    variant: r.variant,
    updates: r.updates.toLocaleString('en-US'),
    'updates/s': Math.round(r.updatesPerSec).toLocaleString('en-US'),
    'ns/update': (1e9 / r.updatesPerSec).toFixed(1),
    'x baseline': (r.updatesPerSec / baseline).toFixed(1),
  })),
);
console.log(`levels per side: ${DEPTH} at the start, ${finalDepth.join(' / ')} (bids / asks) at the end`);
if (sink === 42) console.log('');
writeBenchResult('order-book', {
  question:
    'L2 level updates/s (with best bid/ask read per update): OrderBook and BookRegistry vs a naive Map+sort book',
  depthPerSide: DEPTH,
  levelsAtEnd: { bids: finalDepth[0], asks: finalDepth[1] },
  machine,
  rows,
  at: new Date().toISOString(),
});
