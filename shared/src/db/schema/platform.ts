import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, pkId, tenantId, tstz } from './columns.ts';

/** Durable background jobs (SKIP LOCKED workers): reconciliation, partition upkeep, backtests. */
export const jobs = pgTable(
  'jobs',
  {
    id: pkId(),
    tenantId: uuid('tenant_id'),
    kind: text('kind').notNull(),
    payload: jsonb('payload').notNull().default(sql`'{}'::jsonb`),
    status: text('status', { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] })
      .notNull()
      .default('queued'),
    runAt: tstz('run_at').notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    lockedBy: text('locked_by'),
    lockedUntil: tstz('locked_until'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    finishedAt: tstz('finished_at'),
  },
  (t) => [index('jobs_ready_idx').on(t.runAt).where(sql`${t.status} = 'queued'`)],
);

/** Backtests by tick replay (roadmap): parameters in, metrics and equity curve out. */
export const backtests = pgTable(
  'backtests',
  {
    id: pkId(),
    tenantId: tenantId(),
    name: text('name').notNull(),
    params: jsonb('params').notNull(),
    status: text('status', { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] })
      .notNull()
      .default('queued'),
    fromTs: tstz('from_ts').notNull(),
    toTs: tstz('to_ts').notNull(),
    result: jsonb('result'),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
    finishedAt: tstz('finished_at'),
  },
  (t) => [index('backtests_tenant_idx').on(t.tenantId, t.createdAt)],
);
