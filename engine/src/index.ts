import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import { type EngineConfig, venueSymbolCount } from './config.ts';
import { MalformedRecords } from './feeds/malformed.ts';
import type { ShardedTickSink } from './feeds/sharded-sink.ts';
import { SymbolTable } from './feeds/symbol-table.ts';
import type { VenueFeedStats } from './feeds/venues/venue-feed.ts';
import type { HaltMetrics, HaltStatus } from './halt/halt-listener.ts';
import type { InferenceThreadHandle } from './inference/inference-thread.ts';
import type { InferenceFault } from './inference/messages.ts';
import { renderEngineMetrics } from './metrics-engine.ts';
import type { FeaturePoolHandle } from './pool/feature-pool.ts';
import type { RingBuffer } from './ring/ring-buffer.ts';
import type { ShardCoordinator, ShardCoordinatorStats } from './shards/shard-coordinator.ts';
import type { ShardFeedStats } from './shards/shard-feed.ts';
import { startShardCoordinator } from './shards/shard-stage.ts';
import type { SignalOut, SignalPublisher } from './signals/signal-publisher.ts';
import { openDatabase } from './stages/database.ts';
import { FeedPositions } from './stages/feed-positions.ts';
import { startFeeds } from './stages/feeds.ts';
import { createLiveFeeds, type LiveFeeds } from './stages/live-feeds.ts';
import { startMarketPublishers, type VenueBooks } from './stages/market-publishers.ts';
import { allocateMemory } from './stages/memory.ts';
import { startReadiness } from './stages/readiness.ts';
import { type EngineStopReport, stopStages } from './stages/shutdown.ts';
import { startSignals } from './stages/signals.ts';
import { startThreads } from './stages/threads.ts';
import { startTickIntake } from './stages/tick-intake.ts';
import type { PricePublisher } from './writer/price-publisher.ts';
import type { WriterThreadHandle } from './writer/writer-thread.ts';

export { cursorName } from './stages/feed-positions.ts';
export type { VenueBooks } from './stages/market-publishers.ts';
export type { EngineStopReport } from './stages/shutdown.ts';

/**
 * The engine as a library: `startEngine` composes the stages in engine/src/stages/ — database →
 * live feeds → shared memory → threads (writer → inference → pool) → signals → tick intake →
 * market publishers → feeds → readiness — and returns a handle; `main.ts` (daemon) and the
 * embedded single-process mode both use it. The same path runs after a crash: durable positions
 * come from `engine_cursors`.
 *
 * Threads: main (feeds = the tick rings' single producer, signal publisher, HTTP), the feature
 * pool workers (tick ring consumer 0), the writer thread (tick ring consumer 1, when a database
 * is configured) and the inference thread.
 */

export interface StartEngineOptions {
  readonly config: EngineConfig;
  readonly bus: Bus;
  readonly log: Logger;
  /** A PostgreSQL client for signals and cursors; default: one made from config.databaseUrl. */
  readonly sql?: Sql;
  /** Observe each published signal (tests, benchmark). */
  readonly onSignal?: (s: SignalOut) => void;
  /** Stop each feed after this many ticks (tests, benchmark). */
  readonly maxTicksPerFeed?: number;
  /** TEST ONLY: the inference thread's crash-drill fault (inference/messages.ts, faultSchema). */
  readonly inferenceFault?: InferenceFault;
  /**
   * A thread the engine cannot run without (writer, inference) died outside stop(). Crash-only:
   * the daemon exits non-zero and its supervisor restarts it from the durable cursors.
   */
  readonly onFatal?: (err: Error) => void;
  /** The halt channel (default `aegis:halt`); tests use their own on a shared Redis. */
  readonly haltChannel?: string;
}

export interface EngineHandle {
  stop(): Promise<EngineStopReport>;
  isReady(): boolean;
  metricsText(): string;
  readiness(): Readonly<Record<string, boolean>>;
  /** Resolves when every feed has ended (replay end of file, maxTicks) or stop() was called. */
  readonly feedsDone: Promise<void>;
  stats(): EngineSnapshot;
  /** The global halt as the engine sees it (`/health`). */
  halt(): HaltStatus;
  /** Sharded order flow: the shards this engine owns now, with their tokens; null when unsharded. */
  shards(): ShardCoordinatorStats | null;
}

export interface EngineSnapshot {
  readonly feeds: readonly { name: string; ticksIn: number; dropped: number }[];
  readonly ticksIn: number;
  readonly sink: ShardedTickSink;
  readonly pool: ReturnType<FeaturePoolHandle['stats']>;
  readonly inference: ReturnType<InferenceThreadHandle['stats']>;
  readonly writer: ReturnType<WriterThreadHandle['stats']> | null;
  readonly signals: SignalPublisher;
  readonly malformed: MalformedRecords;
  readonly tickRings: readonly RingBuffer[];
  readonly scoredRing: RingBuffer;
  readonly provider: string;
  readonly modelVersion: string;
  readonly halt: HaltMetrics;
  /** The price publisher of ENGINE_VENUE (synthetic, replay). */
  readonly prices: PricePublisher;
  /** Every venue's price publisher: ENGINE_VENUE's first, then one per live venue feed's venue. */
  readonly venuePrices: readonly PricePublisher[];
  /** Live venue feeds (coinbase, alpaca, ccxt): connection health and counters. */
  readonly venueFeeds: readonly VenueFeedStats[];
  /** Per venue with a live feed: its L2 books and their publisher. */
  readonly books: readonly VenueBooks[];
  /** Sharded order flow (ENGINE_ORDERFLOW_SHARDS ≥ 1): leases and per-shard progress; else null. */
  readonly shards: {
    readonly leases: ShardCoordinatorStats;
    readonly feed: readonly ShardFeedStats[];
  } | null;
}

export async function startEngine(options: StartEngineOptions): Promise<EngineHandle> {
  const { config, bus, log } = options;
  const shards = config.shards;
  // Venue feeds intern their instruments in the same table (ids index the feature state).
  const symbolsPerShard = Math.ceil(Math.max(config.symbols + venueSymbolCount(config), 1024) / shards);
  const symbolTable = new SymbolTable({ capacity: symbolsPerShard * shards, shards });
  const malformed = new MalformedRecords(log);

  const db = await openDatabase(config, options.sql, log);
  const { sql } = db;
  let live: LiveFeeds;
  try {
    live = await createLiveFeeds({ config, symbolTable, malformed, log, sql });
  } catch (err) {
    await db.close(1)?.catch(() => {});
    throw err;
  }
  const memory = allocateMemory(config, symbolsPerShard, Boolean(sql));
  const positions = new FeedPositions(config, log);
  let threads: Awaited<ReturnType<typeof startThreads>>;
  try {
    threads = await startThreads({
      config,
      sql,
      memory,
      symbolTable,
      symbolsPerShard,
      log,
      onCommitted: (p) => positions.commit(p),
      ...(options.inferenceFault ? { inferenceFault: options.inferenceFault } : {}),
    });
  } catch (err) {
    await db.close(1);
    throw err;
  }
  const { writer, inference, pool } = threads;

  const signals = await startSignals({
    config,
    bus,
    sql,
    log,
    scoredRing: memory.scoredRing,
    symbolTable,
    modelVersion: threads.modelVersion,
    haltChannel: options.haltChannel,
    onSignal: options.onSignal,
  });
  let stopping: Promise<EngineStopReport> | null = null;
  const fatal = (what: string) => (r: { exitCode: number } | number) => {
    if (stopping) return;
    const err = new Error(`${what} thread exited unexpectedly (${typeof r === 'number' ? r : r.exitCode})`);
    log.fatal({ err: err.message }, 'engine: a required thread died');
    options.onFatal?.(err);
  };
  void inference.exited.then(fatal('inference'));
  if (writer) void writer.exited.then(fatal('writer'));

  const intake = startTickIntake({ config, tickRings: memory.tickRings, writer, positions });
  const publishers = startMarketPublishers({ config, bus, log, symbolTable, registries: live.registries });
  let shardLeases: ShardCoordinator | null = null;
  const feeds = startFeeds({
    config,
    bus,
    log,
    symbolTable,
    malformed,
    cursors: db.cursors,
    venueFeeds: live.venueFeeds,
    intake,
    publishers,
    positions,
    maxTicksPerFeed: options.maxTicksPerFeed,
    shardHeld: (shard) => shardLeases?.held(shard) ?? false,
  });
  if (feeds.shardFeed && sql) {
    shardLeases = await startShardCoordinator({
      config,
      sql,
      log,
      feed: feeds.shardFeed,
      checkpoint: () => intake.checkpoint(),
      // Ticks of a lost shard still in this process can never be committed (the cursor fence
      // refuses them): crash-only, like a dead writer — exit and rejoin clean.
      onLost: (shard) => {
        if (stopping) return;
        const err = new Error(`order-flow shard ${shard}: lease lost to another engine`);
        log.fatal({ err: err.message }, 'engine: a shard lease was lost');
        options.onFatal?.(err);
      },
    });
  }
  log.info(
    {
      feeds: config.feeds,
      venue: config.venue,
      venueFeeds: live.venueFeeds.map((f) => ({ feed: f.name, venue: f.venue })),
      shards,
      workers: config.workers,
      symbols: config.symbols,
      persistence: Boolean(sql),
    },
    'engine: started',
  );

  const readiness = await startReadiness({
    config,
    bus,
    sql,
    log,
    memory,
    writer,
    inference,
    accepting: () => stopping === null,
    shards: () => shardLeases,
  });

  const snapshot = (): EngineSnapshot => ({
    feeds: positions.feeds.map((f) => ({ name: f.name, ticksIn: f.ticksIn, dropped: f.ticksDropped })),
    ticksIn: positions.feeds.reduce((s, f) => s + f.ticksIn, 0),
    sink: intake.sink,
    pool: pool.stats(),
    inference: inference.stats(),
    writer: writer?.stats() ?? null,
    signals: signals.signals,
    malformed,
    tickRings: memory.tickRings,
    scoredRing: memory.scoredRing,
    provider: threads.provider,
    modelVersion: threads.modelVersion,
    halt: signals.halt.metrics(),
    prices: publishers.prices,
    venuePrices: publishers.allPrices(),
    venueFeeds: live.venueFeeds.map((f) => f.stats()),
    books: publishers.books,
    shards: shardLeases ? { leases: shardLeases.stats(), feed: feeds.shardFeed?.shards() ?? [] } : null,
  });
  const stages = {
    db,
    positions,
    threads,
    signals,
    intake,
    publishers,
    feeds,
    readiness,
    shards: shardLeases,
  };
  return {
    feedsDone: feeds.done,
    stats: snapshot,
    readiness: readiness.readiness,
    halt: () => signals.halt.status(),
    shards: () => shardLeases?.stats() ?? null,
    isReady: () => Object.values(readiness.readiness()).every(Boolean),
    metricsText: () => renderEngineMetrics(snapshot(), readiness.readiness()),
    stop(): Promise<EngineStopReport> {
      stopping ??= stopStages(stages, config, log);
      return stopping;
    },
  };
}
