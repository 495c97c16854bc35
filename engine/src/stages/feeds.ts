import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import type { EngineConfig } from '../config.ts';
import type { Feed } from '../feeds/feed.ts';
import type { MalformedRecords } from '../feeds/malformed.ts';
import { OrderflowStreamFeed } from '../feeds/orderflow-stream.ts';
import { ReplayFeed } from '../feeds/replay.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import { SyntheticFeed } from '../feeds/synthetic.ts';
import { createTickRecord, type TickSink } from '../feeds/tick.ts';
import type { VenueFeed } from '../feeds/venues/venue-feed.ts';
import { ShardedOrderflowFeed } from '../shards/shard-feed.ts';
import { cursorName, type FeedPositions, isMultiCursorFeed } from './feed-positions.ts';
import type { MarketPublishers } from './market-publishers.ts';
import type { TickIntake } from './tick-intake.ts';

export interface RunningFeeds {
  /** One per feed; each settles when its feed ends (never rejects: a failure is logged). */
  readonly runs: readonly Promise<void>[];
  /** Every feed ended, the sink drained into the rings and a last checkpoint taken. */
  readonly done: Promise<void>;
  /** The order-flow feed of a sharded cluster (ENGINE_ORDERFLOW_SHARDS ≥ 1), else null. */
  readonly shardFeed: ShardedOrderflowFeed | null;
}

/**
 * Stage 8: the configured feeds (synthetic, replay, orderflow) resumed from their
 * durable positions, then the live venue feeds, all running into the tick intake. Feeds with a
 * venue write through that venue's price publisher; the order-flow feed gets the plain sink, so
 * what a desk ingests never becomes an execution price.
 */
export function startFeeds(options: {
  config: EngineConfig;
  bus: Bus;
  log: Logger;
  symbolTable: SymbolTable;
  malformed: MalformedRecords;
  cursors: ReadonlyMap<string, string>;
  venueFeeds: readonly VenueFeed[];
  intake: TickIntake;
  publishers: MarketPublishers;
  positions: FeedPositions;
  maxTicksPerFeed?: number | undefined;
  /** Sharded order flow: whether this engine holds a shard's lease now (shard coordinator). */
  shardHeld?: ((shard: number) => boolean) | undefined;
}): RunningFeeds {
  const { config, log, symbolTable, malformed, cursors, intake, positions } = options;
  const feeds = positions.feeds;
  const { sink } = intake;
  const venueSink = options.publishers.prices.sinkFor(sink);
  const venueSinks = new Map<Feed, TickSink>();
  const sinkOf = (f: Feed) => (f.name === 'orderflow' ? sink : (venueSinks.get(f) ?? venueSink));

  const scratch = createTickRecord();
  let shardFeed: ShardedOrderflowFeed | null = null;
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
      feeds.push(replayFeed(config, symbolTable, malformed, cursors, log, scratch));
    } else if (config.orderflowShards > 0) {
      // A cluster: the shards this engine holds leases on, each from its committed cursor
      // (engine/src/shards/); the shard coordinator adds and removes them.
      shardFeed = new ShardedOrderflowFeed(
        {
          bus: options.bus,
          symbolTable,
          malformed,
          log,
          held: (shard) => options.shardHeld?.(shard) ?? false,
        },
        scratch,
      );
      feeds.push(shardFeed);
    } else {
      feeds.push(
        new OrderflowStreamFeed(
          {
            bus: options.bus,
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
  for (const f of options.venueFeeds) {
    venueSinks.set(f, options.publishers.pricesFor(f.venue).sinkFor(sink));
    feeds.push(f);
  }
  for (const f of feeds) {
    // Live: nothing to resume (a restart takes a fresh snapshot). Shards: each resumes when taken.
    if (venueSinks.has(f) || isMultiCursorFeed(f)) continue;
    const resumed = cursors.get(cursorName(f, config));
    if (resumed && !(f.name === 'replay' && config.replayFromStart))
      log.info({ feed: f.name, position: resumed }, 'engine: feed resumes from its durable position');
  }
  const runs = feeds.map((f) =>
    f.run(sinkOf(f)).catch((err: unknown) => {
      log.error({ err, feed: f.name }, 'engine: feed failed');
    }),
  );
  const done = Promise.all(runs).then(async () => {
    sink.flush();
    await sink.backpressure();
    intake.checkpoint();
  });
  return { runs, done, shardFeed };
}

function replayFeed(
  config: EngineConfig,
  symbolTable: SymbolTable,
  malformed: MalformedRecords,
  cursors: ReadonlyMap<string, string>,
  log: Logger,
  scratch: ReturnType<typeof createTickRecord>,
): ReplayFeed {
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
  return replay;
}
