import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
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
    /** When its stream entry was last written (create or the sweeper); NULL: never. */
    enqueuedAt: tstz('enqueued_at'),
  },
  (t) => [
    index('jobs_ready_idx').on(t.runAt).where(sql`${t.status} = 'queued'`),
    index('jobs_kind_status_idx').on(t.kind, t.status),
  ],
);

/**
 * Backtests by tick replay: the spec in (`params`, BacktestSpec), progress while its job runs,
 * the BacktestResult out. The row and its `jobs` row are the truth; the stream only wakes a worker.
 */
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
    /** The range of a `ticks_table` backtest; NULL for files and simulations. */
    fromTs: tstz('from_ts'),
    toTs: tstz('to_ts'),
    result: jsonb('result'),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
    finishedAt: tstz('finished_at'),
    jobId: uuid('job_id'),
    /** The latest BacktestProgress the worker wrote (about twice a second). */
    progress: jsonb('progress'),
    /** Why it failed (or was cancelled), when it did. */
    error: text('error'),
    startedAt: tstz('started_at'),
    cancelRequestedAt: tstz('cancel_requested_at'),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('backtests_tenant_idx').on(t.tenantId, t.createdAt), index('backtests_job_idx').on(t.jobId)],
);

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** A tick file uploaded for backtests (CSV or binary `.ticks`), sha-256 checked when finished. */
export const backtestUploads = pgTable(
  'backtest_uploads',
  {
    id: pkId(),
    tenantId: tenantId(),
    name: text('name').notNull(),
    format: text('format', { enum: ['csv', 'ticks'] }).notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    receivedBytes: bigint('received_bytes', { mode: 'number' }).notNull().default(0),
    chunks: integer('chunks').notNull().default(0),
    status: text('status', { enum: ['open', 'complete'] })
      .notNull()
      .default('open'),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
    completedAt: tstz('completed_at'),
  },
  (t) => [index('backtest_uploads_tenant_idx').on(t.tenantId, t.createdAt)],
);

/** The bytes of an upload, in order of `seq`. */
export const backtestUploadChunks = pgTable(
  'backtest_upload_chunks',
  {
    uploadId: uuid('upload_id').notNull(),
    tenantId: tenantId(),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.seq] })],
);
