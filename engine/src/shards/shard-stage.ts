import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import type { EngineConfig } from '../config.ts';
import { ShardCoordinator } from './shard-coordinator.ts';
import type { ShardedOrderflowFeed } from './shard-feed.ts';
import { ShardLeaseStore } from './shard-lease-store.ts';

/**
 * Stage 8b (sharded order flow only): join the cluster — the first lease round takes this
 * engine's share of the free shards before `startEngine` returns.
 */
export async function startShardCoordinator(options: {
  config: EngineConfig;
  sql: Sql;
  log: Logger;
  feed: ShardedOrderflowFeed;
  checkpoint: () => void;
  onLost: (shard: number) => void;
}): Promise<ShardCoordinator> {
  const { config, log } = options;
  const coordinator = new ShardCoordinator({
    store: new ShardLeaseStore(options.sql, config.shardLeaseTtlMs),
    feed: options.feed,
    log: log.child({ component: 'shards' }),
    prefix: config.streamPrefix,
    shards: config.orderflowShards,
    engine: config.consumer,
    renewMs: config.shardRenewMs,
    checkpoint: options.checkpoint,
    onLost: options.onLost,
  });
  await coordinator.start();
  log.info(
    { shards: config.orderflowShards, owned: coordinator.owned(), holder: coordinator.holder },
    'engine: joined the order-flow shard cluster',
  );
  return coordinator;
}
