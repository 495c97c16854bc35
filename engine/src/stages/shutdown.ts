import { withDeadline } from '@aegis/shared/deadline';
import type { Logger } from '@aegis/shared/logging';
import type { EngineConfig } from '../config.ts';
import type { ShardCoordinator } from '../shards/shard-coordinator.ts';
import type { EngineDatabase } from './database.ts';
import type { FeedPositions } from './feed-positions.ts';
import type { RunningFeeds } from './feeds.ts';
import type { MarketPublishers } from './market-publishers.ts';
import type { EngineReadiness } from './readiness.ts';
import type { EngineSignals } from './signals.ts';
import type { EngineThreads } from './threads.ts';
import type { TickIntake } from './tick-intake.ts';

/** Part of the shutdown deadline kept for acknowledgements and closing after the writer. */
const SHUTDOWN_MARGIN_MS = 1500;
/** Upper bound of one shutdown step before the writer's flush. */
const STEP_CAP_MS = 1000;

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

/** Every stage's handle, as the shutdown needs them. */
export interface StartedStages {
  readonly db: EngineDatabase;
  readonly positions: FeedPositions;
  readonly threads: EngineThreads;
  readonly signals: EngineSignals;
  readonly intake: TickIntake;
  readonly publishers: MarketPublishers;
  readonly feeds: RunningFeeds;
  readonly readiness: EngineReadiness;
  /** The order-flow shard leases (sharded cluster only). */
  readonly shards: ShardCoordinator | null;
}

/**
 * The stages stopped in the order the data flows: feeds, then drain rings, score, publish, flush.
 * Crash-only with a deadline: drain and flush while there is time, then report what was and was
 * not saved. A database or Redis that does not answer never holds the process.
 */
export async function stopStages(
  s: StartedStages,
  config: EngineConfig,
  log: Logger,
): Promise<EngineStopReport> {
  const { threads, intake } = s;
  const { sink } = intake;
  const deadline = Date.now() + config.shutdownDeadlineMs;
  const left = () => Math.max(0, deadline - Date.now());
  const unfinished: string[] = [];
  // Each step before the writer is capped, so one stuck on a dead database (a feed waiting on a
  // full ring, a signal insert) cannot eat the writer's time to save what it can.
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
  for (const f of s.positions.feeds) f.stop();
  await step('feeds', Promise.all(s.feeds.runs), STEP_CAP_MS);
  intake.stopTimer();
  s.readiness.stop();
  sink.flush();
  await step('backpressure', sink.backpressure(), STEP_CAP_MS);
  intake.checkpoint();
  await step('pool', threads.pool.stop({ drain: true, timeoutMs: STEP_CAP_MS }), STEP_CAP_MS);
  await step('inference', threads.inference.stop(), STEP_CAP_MS);
  await step('signals', s.signals.signals.stop(), STEP_CAP_MS);
  // The final rounds: what the feeds saw last is what the servers keep.
  await step('prices', Promise.all(s.publishers.allPrices().map((p) => p.stop())), STEP_CAP_MS / 2);
  await step('books', Promise.all(s.publishers.books.map((b) => b.publisher.stop())), STEP_CAP_MS / 2);
  await step('halt', s.signals.halt.stop(), STEP_CAP_MS / 2);
  let lost = 0;
  let inDoubt = 0;
  const writer = threads.writer;
  if (writer) {
    intake.checkpoint();
    // The writer gets what is left minus a margin for acknowledgements and closing.
    const w = await writer.stop(Math.max(0, left() - SHUTDOWN_MARGIN_MS));
    lost = w.lost;
    inDoubt = w.inDoubt;
    await step('writer exit', writer.exited);
  }
  if (!writer) intake.checkpoint();
  // Ticks still in the overflow queues never reached a ring: not saved either.
  lost += sink.queued;
  await step('acknowledgements', s.positions.inFlight(), Infinity, 500);
  // Shard leases go back only now: the writer's last flush committed every shard's final cursor,
  // so their next owners start exactly there instead of waiting out the TTL.
  await step('shard leases', s.shards?.stop(), Infinity, 500);
  await step('database close', s.db.close(0), Infinity, 200);
  const feeds = s.positions.feeds;
  const report: EngineStopReport = {
    ticksIn: feeds.reduce((n, f) => n + f.ticksIn, 0),
    ticksDropped: feeds.reduce((n, f) => n + f.ticksDropped, 0),
    ticksPersisted: writer?.stats().ticksPersisted ?? 0,
    ticksLost: lost,
    ticksInDoubt: inDoubt,
    signalsOut: s.signals.signals.signalsOut,
    unfinished,
  };
  log.info(report, 'engine: stopped');
  return report;
}
