import type { Bus } from '@aegis/shared/bus/types';
import { connectSql } from '@aegis/shared/db/client';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import { BookPublisher } from './book/book-publisher.ts';
import { BookRegistry } from './book/book-registry.ts';
import { type EngineConfig, venueSymbolCount } from './config.ts';
import { withDeadline } from './deadline.ts';
import { FeatureState } from './features/state.ts';
import type { Feed } from './feeds/feed.ts';
import { MalformedRecords } from './feeds/malformed.ts';
import { OrderflowStreamFeed } from './feeds/orderflow-stream.ts';
import { ReplayFeed } from './feeds/replay.ts';
import { ShardedTickSink } from './feeds/sharded-sink.ts';
import { SymbolTable } from './feeds/symbol-table.ts';
import { SyntheticFeed } from './feeds/synthetic.ts';
import { createTickRecord, type TickSink } from './feeds/tick.ts';
import type { VenueFeed, VenueFeedStats } from './feeds/venues/venue-feed.ts';
import { createVenueFeeds } from './feeds/venues/venue-feeds.ts';
import { HaltListener, type HaltMetrics, type HaltStatus } from './halt/halt-listener.ts';
import { type InferenceThreadHandle, startInferenceThread } from './inference/inference-thread.ts';
import { renderEngineMetrics } from './metrics-engine.ts';
import { modelFileBeside, registerActiveModel, registryEntryOf } from './model/registry.ts';
import { type FeaturePoolHandle, startFeaturePool } from './pool/feature-pool.ts';
import { CANDIDATE, SCORED, TICK } from './ring/layout.ts';
import { RingBuffer } from './ring/ring-buffer.ts';
import { RingProgress } from './ring/ring-progress.ts';
import { type SignalOut, SignalPublisher } from './signals/signal-publisher.ts';
import { loadCursors } from './writer/cursor-store.ts';
import { PricePublisher } from './writer/price-publisher.ts';
import { startWriterThread, type WriterThreadHandle } from './writer/writer-thread.ts';

/**
 * The engine as a library: `startEngine` wires config → writer → inference → pool → feeds
 * (DESIGN §6) and returns a handle; `main.ts` (daemon) and the embedded single-process mode both
 * use it. The same path runs after a crash: durable positions come from `engine_cursors`.
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
  /**
   * A thread the engine cannot run without (writer, inference) died outside stop(). Crash-only:
   * the daemon exits non-zero and its supervisor restarts it from the durable cursors.
   */
  readonly onFatal?: (err: Error) => void;
  /** The kill-switch channel (default `aegis:halt`); tests use their own on a shared Redis. */
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
  /** The global kill switch as the engine sees it (`/health`). */
  halt(): HaltStatus;
}

export interface EngineStopReport {
  readonly ticksIn: number;
  readonly ticksDropped: number;
  readonly ticksPersisted: number;
  /**
   * Accepted ticks not known to be persisted at exit (database unreachable until the shutdown
   * deadline): still in the rings or in the sink's overflow queues. ticksIn = ticksPersisted +
   * ticksLost (+ ticksDropped under the `drop` policy).
   */
  readonly ticksLost: number;
  /** Of ticksLost, rows of a flush whose commit was in flight at the deadline: they may be stored. */
  readonly ticksInDoubt: number;
  readonly signalsOut: number;
  /** Shutdown steps cut short by the deadline (empty after a clean stop). */
  readonly unfinished: readonly string[];
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
}

/** One venue's books: the registry its feeds write and the publisher that drains it. */
export interface VenueBooks {
  readonly venue: string;
  readonly registry: BookRegistry;
  readonly publisher: BookPublisher;
}

const CANDIDATE_RING_CAPACITY = 1 << 14;
const SCORED_RING_CAPACITY = 1 << 14;
/**
 * Publish a ring's head every N ticks. Measured by engine/bench/ring.ts (bench/results/ring.json):
 * through TickRingWriter into a consumer thread, HEAD per tick cost ~27 ns/tick more than per 256
 * (96 vs 69 ns/tick, median of 5 runs on 2 cores): each publish is a sequentially consistent
 * store to HEAD plus a read of SLEEPERS, on the cache line the consumer keeps reading.
 */
const PUBLISH_EVERY = 256;
/** Minimum ms between two writer checkpoints (each is one postMessage). */
const CHECKPOINT_EVERY_MS = 5;
/** Part of the shutdown deadline kept for acknowledgements and closing after the writer. */
const SHUTDOWN_MARGIN_MS = 1500;
/** Upper bound of one shutdown step before the writer's flush (see stop()). */
const STEP_CAP_MS = 1000;
/** Readiness probes of the database and the bus (each bounded by ENGINE_DB_TIMEOUT_MS). */
const READY_PROBE_MS = 1000;

export function cursorName(feed: Feed, config: EngineConfig): string {
  if (feed.name === 'replay') return `feed:replay:${config.replayFile}`;
  if (feed.name === 'orderflow') return `feed:orderflow:${config.streamPrefix}orderflow:${config.consumer}`;
  return `feed:${feed.name}:seed${config.seed}:symbols${config.symbols}`;
}

/**
 * Records the model the inference thread loaded in the registry (model/registry.ts). The registry
 * is a record, not a dependency: a failure is logged and the engine scores on.
 */
async function registerModel(
  sql: Sql,
  modelPath: string | undefined,
  version: string,
  timeoutMs: number,
  log: Logger,
): Promise<void> {
  try {
    const file = await modelFileBeside(modelPath);
    if (!file || file.version !== version) {
      log.warn({ modelVersion: version }, 'engine: no model file describes the loaded model; not registered');
      return;
    }
    await withDeadline(registerActiveModel(sql, registryEntryOf(file)), timeoutMs, 'register model');
    log.info({ modelVersion: version }, 'engine: model registered as the active signal model');
  } catch (err) {
    log.warn({ err: (err as Error).message, modelVersion: version }, 'engine: model registry update failed');
  }
}

export async function startEngine(options: StartEngineOptions): Promise<EngineHandle> {
  const { config, bus } = options;
  const log = options.log;
  const shards = config.shards;
  // Venue feeds intern their instruments in the same table (ids index the feature state).
  const symbolsPerShard = Math.ceil(Math.max(config.symbols + venueSymbolCount(config), 1024) / shards);
  const symbolTable = new SymbolTable({ capacity: symbolsPerShard * shards, shards });
  const malformed = new MalformedRecords(log);

  // ---- database (optional) -------------------------------------------------------------------
  const ownSql = !options.sql && config.databaseUrl !== undefined;
  const sql: Sql | undefined =
    options.sql ??
    (config.databaseUrl
      ? connectSql(config.databaseUrl, {
          max: 4,
          applicationName: 'aegis-engine',
          connectTimeout: Math.max(1, Math.ceil(config.dbTimeoutMs / 1000)),
          statementTimeoutMs: config.dbTimeoutMs,
          lockTimeoutMs: config.dbTimeoutMs,
        })
      : undefined);
  let cursors = new Map<string, string>();
  if (sql) {
    try {
      cursors = await withDeadline(loadCursors(sql), config.dbTimeoutMs, 'read engine_cursors');
    } catch (err) {
      if (ownSql) await sql.end({ timeout: 1 }).catch(() => {});
      throw new AppError(
        ErrorCode.UNAVAILABLE,
        'engine: cannot read engine_cursors — is the database reachable and migrated (npm run db:migrate)?',
        { cause: (err as Error).message },
        { cause: err },
      );
    }
  } else
    log.warn('engine: no DATABASE_URL — persistence is off (ticks, features and signals are not stored)');

  // ---- live venue feeds (built before any thread starts: a bad credential fails the start) ------
  // One book registry per venue (its changed-set has one consumer: that venue's BookPublisher,
  // started with the prices below); a venue's feeds share it.
  const registries = new Map<string, BookRegistry>();
  const booksFor = (venue: string): BookRegistry => {
    let r = registries.get(venue);
    if (!r) {
      r = new BookRegistry(symbolTable.capacity, { levels: config.book.featureLevels });
      registries.set(venue, r);
    }
    return r;
  };
  let venueFeeds: VenueFeed[] = [];
  try {
    venueFeeds = await createVenueFeeds({ config, symbolTable, malformed, log, booksFor, sql });
  } catch (err) {
    if (ownSql) await sql?.end({ timeout: 1 }).catch(() => {});
    throw err;
  }

  // ---- shared memory ---------------------------------------------------------------------------
  const tickConsumers = sql ? 2 : 1;
  const tickRings = Array.from({ length: shards }, () =>
    RingBuffer.create({ capacity: config.ringCapacity, recordBytes: TICK.bytes, consumers: tickConsumers }),
  );
  const candidateRings = Array.from({ length: shards }, () =>
    RingBuffer.create({ capacity: CANDIDATE_RING_CAPACITY, recordBytes: CANDIDATE.bytes, consumers: 1 }),
  );
  const scoredRing = RingBuffer.create({
    capacity: SCORED_RING_CAPACITY,
    recordBytes: SCORED.bytes,
    consumers: 1,
  });
  const featureState = FeatureState.create(symbolsPerShard * shards);

  const feeds: Feed[] = [];
  let stopping: Promise<EngineStopReport> | null = null;
  // Upstream acknowledgements in flight (orderflow XACKs): awaited at shutdown.
  const commits = new Set<Promise<void>>();
  const commitPositions = (positions: Readonly<Record<string, string>>) => {
    for (const f of feeds) {
      const p = positions[cursorName(f, config)];
      if (p === undefined) continue;
      const c = f
        .commit(p)
        .catch((err: unknown) =>
          log.warn({ err: (err as Error).message, feed: f.name }, 'feed commit failed'),
        )
        .finally(() => commits.delete(c));
      commits.add(c);
    }
  };

  // ---- writer → inference → pool ---------------------------------------------------------------
  let writer: WriterThreadHandle | null = null;
  let inference: InferenceThreadHandle | null = null;
  let pool: FeaturePoolHandle | null = null;
  let provider = 'cpu';
  let modelVersion = 'unknown';
  try {
    if (sql && config.databaseUrl) {
      writer = startWriterThread({
        databaseUrl: config.databaseUrl,
        tickRings,
        consumer: 1,
        featureStateSab: featureState.sab,
        featureSampleMs: config.featureSampleMs,
        flushMs: config.writerFlushMs,
        batchRows: config.writerBatch,
        symbolTable,
        logLevel: config.logLevel,
        tokenName: `writer:${config.consumer}`,
        onThreadError: (err) => log.error({ err }, 'writer thread failed'),
        flushTimeoutMs: config.writerFlushTimeoutMs,
        dbTimeoutMs: config.dbTimeoutMs,
        onCommitted: commitPositions,
      });
      await writer.ready;
    }
    inference = startInferenceThread({
      ...(config.modelPath ? { modelPath: config.modelPath } : {}),
      candidateRings: candidateRings.map((r) => r.sab),
      scoredRing: scoredRing.sab,
      maxBatch: Math.min(config.maxBatch, SCORED_RING_CAPACITY),
      maxWaitUs: config.maxWaitUs,
      executionProvider: config.executionProvider,
      logLevel: config.logLevel,
    });
    const ready = await inference.ready;
    log.info({ provider: ready.provider, modelVersion: ready.modelVersion }, 'engine: inference ready');
    pool = startFeaturePool({
      shards,
      symbolsPerShard,
      tickRings: tickRings.map((r) => r.sab),
      candidateRings: candidateRings.map((r) => r.sab),
      featureStateSab: featureState.sab,
      workers: config.workers,
      tickConsumer: 0,
      candidatePolicy: config.backpressure,
      patternParams: config.patternParams,
      log,
    });
    provider = ready.provider;
    modelVersion = ready.modelVersion;
    if (sql) await registerModel(sql, config.modelPath, modelVersion, config.dbTimeoutMs, log);
  } catch (err) {
    await pool?.stop({ drain: false }).catch(() => {});
    await inference?.stop().catch(() => {});
    if (writer) await writer.stop(0).catch(() => {});
    if (ownSql) await sql?.end({ timeout: 1 });
    throw err;
  }
  const poolHandle = pool;
  const inferenceHandle = inference;

  // Before the first signal: a switch engaged while the engine was down is known at once.
  const halt = new HaltListener({
    bus,
    sql,
    pollMs: config.haltPollMs,
    log,
    ...(options.haltChannel ? { channel: options.haltChannel } : {}),
  });
  await halt.start();

  const signals = new SignalPublisher({
    scoredRing,
    consumer: 0,
    symbolTable,
    bus,
    stream: `${config.streamPrefix}signals`,
    maxLen: config.signalsMaxLen,
    minScore: config.signalMinScore,
    modelVersion,
    sql,
    log,
    halted: () => halt.isHalted(),
    ...(options.onSignal ? { onSignal: options.onSignal } : {}),
  });
  signals.start();
  const fatal = (what: string) => (r: { exitCode: number } | number) => {
    if (stopping) return;
    const err = new Error(`${what} thread exited unexpectedly (${typeof r === 'number' ? r : r.exitCode})`);
    log.fatal({ err: err.message }, 'engine: a required thread died');
    options.onFatal?.(err);
  };
  void inferenceHandle.exited.then(fatal('inference'));
  if (writer) void writer.exited.then(fatal('writer'));

  // ---- feeds -----------------------------------------------------------------------------------
  let lastCheckpoint = 0;
  const positions = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const f of feeds) {
      const p = f.position();
      if (p !== null) out[cursorName(f, config)] = p;
    }
    return out;
  };
  const checkpoint = () => {
    // Ticks still in the sink's overflow queues are not in a ring yet: their feed positions must
    // not become durable before they are; the next checkpoint will cover them.
    if (sink.queued > 0) return;
    lastCheckpoint = performance.now();
    sink.flushRings();
    const p = positions();
    if (writer) writer.checkpoint(p);
    else commitPositions(p); // no database: acknowledge once accepted into the rings
  };
  const sink = new ShardedTickSink({
    rings: tickRings,
    policy: config.backpressure,
    publishEvery: PUBLISH_EVERY,
    afterFlush: () => {
      if (performance.now() - lastCheckpoint >= CHECKPOINT_EVERY_MS) checkpoint();
    },
  });
  const checkpointTimer = setInterval(checkpoint, 50);

  // The one price source: venue feeds only (see price-publisher.ts). The order-flow feed below
  // gets the plain sink, so what a desk ingests never becomes an execution price.
  const prices = new PricePublisher({
    bus,
    venue: config.venue,
    prefix: config.streamPrefix,
    symbolTable,
    capacity: symbolTable.capacity,
    publishMs: config.pricePublishMs,
    maxFutureSkewMs: config.maxFutureSkewMs,
    log,
  });
  prices.start();
  const venueSink = prices.sinkFor(sink);
  // Live venue feeds publish under their own venue (`feed.venue`): one PricePublisher per venue,
  // made on demand (ENGINE_VENUE's is the one above), and one book registry + publisher per venue
  // (a registry's changed-set has one consumer: its venue's publisher).
  const pricesByVenue = new Map<string, PricePublisher>([[config.venue, prices]]);
  const pricesFor = (venue: string): PricePublisher => {
    let p = pricesByVenue.get(venue);
    if (!p) {
      p = new PricePublisher({
        bus,
        venue,
        prefix: config.streamPrefix,
        symbolTable,
        capacity: symbolTable.capacity,
        publishMs: config.pricePublishMs,
        maxFutureSkewMs: config.maxFutureSkewMs,
        log,
      });
      p.start();
      pricesByVenue.set(venue, p);
    }
    return p;
  };
  const books: VenueBooks[] = [];
  for (const [venue, registry] of registries) {
    const publisher = new BookPublisher({
      bus,
      venue,
      prefix: config.streamPrefix,
      registry,
      symbolTable,
      publishMs: config.book.publishMs,
      log,
    });
    publisher.start();
    books.push({ venue, registry, publisher });
  }
  const venueSinks = new Map<Feed, TickSink>();
  const sinkOf = (f: Feed) => (f.name === 'orderflow' ? sink : (venueSinks.get(f) ?? venueSink));

  const scratch = createTickRecord();
  const maxTicks = options.maxTicksPerFeed;
  for (const name of config.feeds) {
    if (name === 'synthetic') {
      const resumeFrom = cursors.get(`feed:synthetic:seed${config.seed}:symbols${config.symbols}`) ?? null;
      feeds.push(
        new SyntheticFeed(
          {
            symbols: config.symbols,
            seed: config.seed,
            symbolTable,
            ticksPerSec: config.tickRate,
            clock: 'wall',
            resumeFrom,
            ...(maxTicks !== undefined ? { maxTicks } : {}),
          },
          scratch,
        ),
      );
    } else if (name === 'replay') {
      const saved = cursors.get(`feed:replay:${config.replayFile}`) ?? null;
      if (saved && config.replayFromStart) {
        log.warn(
          { file: config.replayFile, saved },
          'engine: replay starts from the first record (--from-start)',
        );
      }
      const replay = new ReplayFeed(
        {
          path: config.replayFile as string,
          speed: config.replaySpeed,
          symbolTable,
          malformed,
          resumeFrom: config.replayFromStart ? null : saved,
        },
        scratch,
      );
      if (replay.resumesAtEnd()) {
        // Loud on purpose: a rerun of a finished file otherwise "works" and processes nothing.
        log.warn(
          { file: config.replayFile, position: saved },
          'engine: the replay file was already replayed to its end; nothing to replay. ' +
            'Start with `npm run engine -- --from-start` (ENGINE_REPLAY_FROM_START=true) to replay it again',
        );
      }
      feeds.push(replay);
    } else {
      feeds.push(
        new OrderflowStreamFeed(
          {
            bus,
            stream: `${config.streamPrefix}orderflow`,
            consumer: config.consumer,
            symbolTable,
            malformed,
            log,
          },
          scratch,
        ),
      );
    }
  }
  for (const f of venueFeeds) {
    venueSinks.set(f, pricesFor(f.venue).sinkFor(sink));
    feeds.push(f);
  }
  for (const f of feeds) {
    if (venueSinks.has(f)) continue; // live: nothing to resume (a restart takes a fresh snapshot)
    const resumed = cursors.get(cursorName(f, config));
    if (resumed && !(f.name === 'replay' && config.replayFromStart))
      log.info({ feed: f.name, position: resumed }, 'engine: feed resumes from its durable position');
  }
  const feedRuns = feeds.map((f) =>
    f.run(sinkOf(f)).catch((err: unknown) => {
      log.error({ err, feed: f.name }, 'engine: feed failed');
    }),
  );
  const feedsDone = Promise.all(feedRuns).then(async () => {
    sink.flush();
    await sink.backpressure();
    checkpoint();
  });
  log.info(
    {
      feeds: config.feeds,
      venue: config.venue,
      venueFeeds: venueFeeds.map((f) => ({ feed: f.name, venue: f.venue })),
      shards,
      workers: config.workers,
      symbols: config.symbols,
      persistence: Boolean(sql),
    },
    'engine: started',
  );

  // ---- readiness -------------------------------------------------------------------------------
  // The hot path's consumers: feature pool (tick rings), inference (candidate rings), signal
  // publisher (scored ring). The writer's own cursor has its own check (lag and connection).
  const ringProgress = new RingProgress(
    [
      ...tickRings.map((ring, i) => ({ name: `tick[${i}]/features`, ring, consumer: 0 })),
      ...candidateRings.map((ring, i) => ({ name: `candidate[${i}]/inference`, ring, consumer: 0 })),
      { name: 'scored/signals', ring: scoredRing, consumer: 0 },
    ],
    config.readyMaxRingStallMs,
  );
  let stalledRings: string[] = [];
  const ringsFlowing = () => {
    const stalled = ringProgress.stalled();
    if (stalled.join() !== stalledRings.join()) {
      // Once per change, not per probe.
      if (stalled.length > 0) log.warn({ stalled }, 'engine: ring consumers stalled; not ready');
      else log.info({ recovered: stalledRings }, 'engine: ring consumers moving again');
    }
    stalledRings = stalled;
    return stalled.length === 0;
  };
  // Probes are bounded (a stalled server answers nothing) and never overlap.
  const health = { bus: false, db: !sql };
  let probing = false;
  const probe = async () => {
    if (probing) return;
    probing = true;
    const ok = (p: Promise<unknown>) =>
      withDeadline(p, config.dbTimeoutMs, 'probe').then(
        () => true,
        () => false,
      );
    try {
      health.bus = await ok(bus.ping());
      if (sql) health.db = await ok(sql`select 1`);
    } finally {
      probing = false;
    }
  };
  await probe();
  const probeTimer = setInterval(() => {
    // Sampled on the timer, not only when /health/ready is asked: the wait is timed from here.
    ringProgress.sample();
    void probe();
  }, READY_PROBE_MS);
  probeTimer.unref();

  const snapshot = (): EngineSnapshot => ({
    feeds: feeds.map((f) => ({ name: f.name, ticksIn: f.ticksIn, dropped: f.ticksDropped })),
    ticksIn: feeds.reduce((s, f) => s + f.ticksIn, 0),
    sink,
    pool: poolHandle.stats(),
    inference: inferenceHandle.stats(),
    writer: writer?.stats() ?? null,
    signals,
    malformed,
    tickRings,
    scoredRing,
    provider,
    modelVersion,
    halt: halt.metrics(),
    prices,
    venuePrices: [...pricesByVenue.values()],
    venueFeeds: venueFeeds.map((f) => f.stats()),
    books,
  });
  const writerHealthy = () => {
    if (!writer) return true;
    const w = writer.stats();
    return w.dbConnected && w.lagSeconds * 1000 <= config.readyMaxWriterLagMs;
  };
  const readiness = () => ({
    // False while a consumer has left records waiting past ENGINE_READY_MAX_RING_STALL_MS.
    rings: ringsFlowing(),
    inference: inferenceHandle.stats().running,
    // Not ready while the writer cannot reach the database or falls behind by more than the
    // configured bound: a load balancer or supervisor must not trust an engine that stores nothing.
    writer: writerHealthy(),
    db: health.db,
    bus: health.bus,
    accepting: stopping === null,
  });

  return {
    feedsDone,
    stats: snapshot,
    readiness,
    halt: () => halt.status(),
    isReady: () => Object.values(readiness()).every(Boolean),
    metricsText: () => renderEngineMetrics(snapshot(), readiness()),
    stop(): Promise<EngineStopReport> {
      stopping ??= (async () => {
        // Crash-only with a deadline: drain and flush while there is time, then report what was
        // and was not saved. A database or Redis that does not answer never holds the process.
        const deadline = Date.now() + config.shutdownDeadlineMs;
        const left = () => Math.max(0, deadline - Date.now());
        const unfinished: string[] = [];
        // Each step before the writer is capped, so one stuck on a dead database (a feed waiting
        // on a full ring, a signal insert) cannot eat the writer's time to save what it can.
        const step = async (
          what: string,
          p: Promise<unknown> | null | undefined,
          capMs = Infinity,
          floorMs = 0,
        ) => {
          if (!p) return;
          try {
            await withDeadline(p, Math.max(floorMs, Math.min(left(), capMs)), what);
          } catch (err) {
            unfinished.push(what);
            log.warn({ err: (err as Error).message, step: what }, 'engine: shutdown step cut short');
          }
        };
        log.info(
          { deadlineMs: config.shutdownDeadlineMs },
          'engine: stopping — feeds, then drain rings, score, publish, flush',
        );
        for (const f of feeds) f.stop();
        await step('feeds', Promise.all(feedRuns), STEP_CAP_MS);
        clearInterval(checkpointTimer);
        clearInterval(probeTimer);
        sink.flush();
        await step('backpressure', sink.backpressure(), STEP_CAP_MS);
        checkpoint();
        await step('pool', poolHandle.stop({ drain: true, timeoutMs: STEP_CAP_MS }), STEP_CAP_MS);
        await step('inference', inferenceHandle.stop(), STEP_CAP_MS);
        await step('signals', signals.stop(), STEP_CAP_MS);
        // The final rounds: what the feeds saw last is what the servers keep.
        await step('prices', Promise.all([...pricesByVenue.values()].map((p) => p.stop())), STEP_CAP_MS / 2);
        await step('books', Promise.all(books.map((b) => b.publisher.stop())), STEP_CAP_MS / 2);
        await step('halt', halt.stop(), STEP_CAP_MS / 2);
        let lost = 0;
        let inDoubt = 0;
        if (writer) {
          checkpoint();
          // The writer gets what is left minus a margin for acknowledgements and closing.
          const w = await writer.stop(Math.max(0, left() - SHUTDOWN_MARGIN_MS));
          lost = w.lost;
          inDoubt = w.inDoubt;
          await step('writer exit', writer.exited);
        }
        if (!writer) checkpoint();
        // Ticks still in the overflow queues never reached a ring: not saved either.
        lost += sink.queued;
        await step('acknowledgements', Promise.all(commits), Infinity, 500);
        if (ownSql) await step('database close', sql?.end({ timeout: 0 }), Infinity, 200);
        const s = snapshot();
        const report: EngineStopReport = {
          ticksIn: s.ticksIn,
          ticksDropped: s.feeds.reduce((n, f) => n + f.dropped, 0),
          ticksPersisted: s.writer?.ticksPersisted ?? 0,
          ticksLost: lost,
          ticksInDoubt: inDoubt,
          signalsOut: signals.signalsOut,
          unfinished,
        };
        log.info(report, 'engine: stopped');
        return report;
      })();
      return stopping;
    },
  };
}
