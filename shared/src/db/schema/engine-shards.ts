import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { tstz } from './columns.ts';

/**
 * Order-flow shard leases (drizzle/0022_engine_shard_leases.sql, engine/src/shards/): one row per
 * shard stream; the holder reads the shard, and every cursor commit is fenced by `fencingToken`.
 * The fencing trigger on `engine_cursors` is SQL only (see the migration).
 */
export const engineShardLeases = pgTable(
  'engine_shard_leases',
  {
    stream: text('stream').primaryKey(),
    cluster: text('cluster').notNull(),
    shard: integer('shard').notNull(),
    holder: text('holder').notNull(),
    engine: text('engine').notNull(),
    fencingToken: bigint('fencing_token', { mode: 'number' }).notNull(),
    acquiredAt: tstz('acquired_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [
    index('engine_shard_leases_cluster_idx').on(t.cluster, t.shard),
    check('engine_shard_leases_shard_check', sql`${t.shard} >= 0`),
    check('engine_shard_leases_fencing_token_check', sql`${t.fencingToken} >= 1`),
  ],
);

/** Live engines of a cluster (heartbeat rows), so a joining engine with no shard is seen. */
export const engineShardMembers = pgTable(
  'engine_shard_members',
  {
    holder: text('holder').primaryKey(),
    cluster: text('cluster').notNull(),
    engine: text('engine').notNull(),
    joinedAt: tstz('joined_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [index('engine_shard_members_cluster_idx').on(t.cluster, t.expiresAt)],
);
