/**
 * Question: how many venue messages per second does each venue feed's decoder take from the wire
 * into the tick ring (book updates included), against a plain `JSON.parse` of the same messages?
 *
 *   npm run bench:feeds          (prints a table; writes bench/results/feeds.json)
 *   BENCH_MESSAGES=50000 BENCH_RUNS=3 npm run bench:feeds
 *
 * Per venue format, N deterministic messages in the venue's documented format (lib/venue-messages.ts),
 * then, in the same run and alternating:
 *   baseline  `JSON.parse` of each message (and a read of one field, so the parse is not dead code)
 *   decoder   the feed's own decoder (CoinbaseDecoder, AlpacaDecoder, BinanceRawDecoder — what the
 *             live feeds call per frame) into the engine's path: book changes through a
 *             BookRegistry (features included), ticks through the venue's PricePublisher sink into
 *             a ShardedTickSink over 4 SharedArrayBuffer tick rings; a consumer drains the rings
 *             every 1024 messages (commits their heads, in this thread), so nothing is dropped —
 *             checked after each run, with malformed = 0 and ticks > 0.
 * Each run starts from the same state (a fresh decoder and registry, the prelude snapshots applied
 * untimed). Rated by CPU time of this process (the machine is shared: wall time is noisy); the
 * table shows the median of BENCH_RUNS runs. ns/msg is per venue message (an Alpaca frame carries
 * 1–10), msgs/s likewise.
 */
import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { cpuSeconds, median } from '../../shared/bench/lib/cpu-time.ts';
import { BookRegistry } from '../src/book/book-registry.ts';
import { MalformedRecords } from '../src/feeds/malformed.ts';
import { ShardedTickSink } from '../src/feeds/sharded-sink.ts';
import { SymbolTable } from '../src/feeds/symbol-table.ts';
import type { TickSink } from '../src/feeds/tick.ts';
import { AlpacaDecoder } from '../src/feeds/venues/alpaca-decode.ts';
import { BinanceRawDecoder } from '../src/feeds/venues/ccxt-decode.ts';
import { CoinbaseDecoder } from '../src/feeds/venues/coinbase-decode.ts';
import { TICK } from '../src/ring/layout.ts';
import { RingBuffer } from '../src/ring/ring-buffer.ts';
import { PricePublisher } from '../src/writer/price-publisher.ts';
import {
  alpacaFrames,
  BINANCE_MARKETS,
  type BinanceSet,
  binanceMessages,
  coinbaseMessages,
  type GeneratedSet,
} from './lib/venue-messages.ts';

const N = Number(process.env.BENCH_MESSAGES ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SHARDS = 4;
const RING_CAPACITY = 1 << 16;
const DRAIN_EVERY = 1024;
const log = createLogger({ name: 'bench-feeds', level: 'silent' });
// Read before the runs: the load average then says how busy the machine was for this run.
const machine = machineInfo();

/** What one decoder run needs: a fresh decoder over fresh books, fed one message at a time. */
interface DecoderRun {
  readonly onMessage: (raw: string, sink: TickSink) => void;
  readonly malformed: () => number;
  readonly ticks: () => number;
}

interface Format {
  readonly name: string;
  readonly set: GeneratedSet;
  /** Builds the decoder for one run (prelude applied, untimed). */
  readonly decoder: (env: RunEnv) => DecoderRun;
}

interface RunEnv {
  readonly symbolTable: SymbolTable;
  readonly books: BookRegistry;
  readonly malformed: MalformedRecords;
  readonly sink: TickSink;
}

const symbolTable = new SymbolTable({ capacity: 1024, shards: SHARDS });
const MAX_SKEW_MS = 2000;
/** What every venue decoder is built with: the run's symbols, books and malformed counter. */
const decoderOptions = (env: RunEnv) => ({
  symbolTable: env.symbolTable,
  malformed: env.malformed,
  books: env.books,
  maxFutureSkewMs: MAX_SKEW_MS,
});

const formats: Format[] = [
  coinbaseFormat('coinbase l2_data updates', coinbaseMessages('l2', N, 11)),
  coinbaseFormat('coinbase market_trades', coinbaseMessages('trades', N, 12)),
  {
    name: 'alpaca trades+quotes frames',
    set: alpacaFrames(Math.ceil(N / 5.5), 13),
    decoder: (env) => {
      const d = new AlpacaDecoder(decoderOptions(env));
      return {
        onMessage: (raw, sink) => d.onMessage(raw, sink),
        malformed: () => d.malformed,
        ticks: () => d.ticksIn,
      };
    },
  },
  binanceFormat('binance depthUpdate (raw)', binanceMessages('depth', N, 14)),
  binanceFormat('binance trade (raw)', binanceMessages('trade', N, 15)),
];

function coinbaseFormat(name: string, set: GeneratedSet): Format {
  return {
    name,
    set,
    decoder: (env) => {
      const d = new CoinbaseDecoder(decoderOptions(env));
      for (const m of set.prelude) d.onMessage(m, env.sink);
      return {
        onMessage: (raw, sink) => {
          d.onMessage(raw, sink);
        },
        malformed: () => d.malformedCount + d.gaps + d.outOfOrder,
        ticks: () => d.ticksIn,
      };
    },
  };
}

function binanceFormat(name: string, set: BinanceSet): Format {
  return {
    name,
    set,
    decoder: (env) => {
      const d = new BinanceRawDecoder({ ...decoderOptions(env), markets: BINANCE_MARKETS });
      const nowUs = Date.now() * 1000;
      for (const s of set.snapshots) d.snapshot(s.id, s.lastUpdateId, s.bids, s.asks, nowUs - 120_000_000);
      return {
        onMessage: (raw, sink) => d.onMessage(raw, sink),
        malformed: () => d.emitter.malformed + d.gaps + d.unsynced,
        ticks: () => d.emitter.ticksIn,
      };
    },
  };
}

function baselineRun(messages: readonly string[]): number {
  let sink = 0;
  const s = cpuSeconds(() => {
    for (let i = 0; i < messages.length; i++) {
      const v = JSON.parse(messages[i] as string) as unknown;
      // Touch the result so the parse cannot be dropped.
      if (v !== null && typeof v === 'object') sink++;
    }
  });
  if (sink !== messages.length) throw new Error('baseline: a message did not parse to an object');
  return s;
}

interface DecoderResult {
  readonly seconds: number;
  readonly ticks: number;
  readonly bookUpdates: number;
}

function decoderRun(format: Format): DecoderResult {
  const rings = Array.from({ length: SHARDS }, () =>
    RingBuffer.create({ capacity: RING_CAPACITY, recordBytes: TICK.bytes, consumers: 1 }),
  );
  const ticks = new ShardedTickSink({ rings, policy: 'drop', publishEvery: 256 });
  const prices = new PricePublisher({
    bus: new MemoryBus(),
    venue: 'BENCH',
    prefix: 'bench:',
    symbolTable,
    capacity: symbolTable.capacity,
    publishMs: 250,
    log,
  });
  const sink = prices.sinkFor(ticks);
  const books = new BookRegistry(symbolTable.capacity);
  const malformed = new MalformedRecords(log);
  const d = format.decoder({ symbolTable, books, malformed, sink });
  const drain = () => {
    ticks.flushRings();
    for (const r of rings) r.commit(0, r.head());
  };
  drain();
  const updates0 = books.updatesApplied + books.snapshotsApplied;
  const ticks0 = d.ticks();
  const messages = format.set.messages;
  const seconds = cpuSeconds(() => {
    for (let i = 0; i < messages.length; i++) {
      d.onMessage(messages[i] as string, sink);
      if ((i & (DRAIN_EVERY - 1)) === DRAIN_EVERY - 1) drain();
    }
    drain();
  });
  const produced = d.ticks() - ticks0;
  if (d.malformed() !== 0)
    throw new Error(`${format.name}: ${d.malformed()} messages refused or out of sequence`);
  if (ticks.dropped !== 0) throw new Error(`${format.name}: ${ticks.dropped} ticks dropped (drain too slow)`);
  if (produced <= 0) throw new Error(`${format.name}: no ticks produced`);
  return { seconds, ticks: produced, bookUpdates: books.updatesApplied + books.snapshotsApplied - updates0 };
}

interface Row {
  readonly format: string;
  readonly wireMessages: number;
  readonly venueMessages: number;
  readonly ticksPerRun: number;
  readonly bookUpdatesPerRun: number;
  readonly baselineMsgsPerSec: number;
  readonly decoderMsgsPerSec: number;
  readonly baselineNsPerMsg: number;
  readonly decoderNsPerMsg: number;
  /** decoder throughput / JSON.parse throughput. */
  readonly ratio: number;
  readonly runs: { readonly baselineS: readonly number[]; readonly decoderS: readonly number[] };
}

const rows: Row[] = [];
for (const f of formats) {
  const venueMessages = f.set.venueMessages;
  // Warm both paths (JIT) before timing.
  baselineRun(f.set.messages.slice(0, 20_000));
  decoderRun({ ...f, set: { ...f.set, messages: f.set.messages.slice(0, 20_000) } });
  const baselineS: number[] = [];
  const decoderS: number[] = [];
  let last: DecoderResult | null = null;
  for (let r = 0; r < RUNS; r++) {
    baselineS.push(baselineRun(f.set.messages));
    last = decoderRun(f);
    decoderS.push(last.seconds);
  }
  const b = median(baselineS);
  const d = median(decoderS);
  rows.push({
    format: f.name,
    wireMessages: f.set.messages.length,
    venueMessages,
    ticksPerRun: last?.ticks ?? 0,
    bookUpdatesPerRun: last?.bookUpdates ?? 0,
    baselineMsgsPerSec: Math.round(venueMessages / b),
    decoderMsgsPerSec: Math.round(venueMessages / d),
    baselineNsPerMsg: (b * 1e9) / venueMessages,
    decoderNsPerMsg: (d * 1e9) / venueMessages,
    ratio: b / d,
    runs: { baselineS, decoderS },
  });
}

const fmt = (n: number) => n.toLocaleString('en-US');
process.stdout.write(
  `venue feed decoders → tick ring, ${RUNS} runs (median, CPU time), ${machine.cores} cores (${machine.cpu}), load ${machine.loadavg1m}\n`,
);
console.table(
  rows.map((r) => ({
    format: r.format,
    'venue msgs': fmt(r.venueMessages),
    'ticks/run': fmt(r.ticksPerRun),
    'JSON.parse msgs/s': fmt(r.baselineMsgsPerSec),
    'decoder msgs/s': fmt(r.decoderMsgsPerSec),
    'JSON.parse ns/msg': r.baselineNsPerMsg.toFixed(0),
    'decoder ns/msg': r.decoderNsPerMsg.toFixed(0),
    'decoder / parse': r.ratio.toFixed(2),
  })),
);
writeBenchResult('feeds', {
  question: 'venue messages/s decoded into the tick ring (books included) vs JSON.parse of the same messages',
  machine,
  messagesPerFormat: N,
  runs: RUNS,
  shards: SHARDS,
  rows,
  at: new Date().toISOString(),
});
