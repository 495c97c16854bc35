import { z } from 'zod';

/**
 * Where backtest jobs meet: the server queues them, engine workers run them. The `jobs` and
 * `backtests` rows in PostgreSQL are the truth; the stream only says "job X is ready" (a worker
 * that reads an entry for a job that is not claimable acks it and moves on), so a lost or
 * duplicated entry never loses or doubles a backtest.
 *
 * `prefix` includes its separator, like ENGINE_STREAM_PREFIX (`aegis:`).
 */
export interface BacktestStreams {
  /** The job stream (`<prefix>backtests`), read by consumer group `group`. */
  readonly jobs: string;
  readonly group: string;
  /** Pub/sub per backtest: its BacktestProgress as JSON, about twice a second. */
  progress(backtestId: string): string;
  /** Pub/sub per backtest: a cancel was requested (the row says so too; this is for speed). */
  cancel(backtestId: string): string;
}

export const BACKTEST_GROUP = 'backtest-workers';
export const BACKTEST_JOB_KIND = 'backtest';

export function backtestStreams(prefix = 'aegis:'): BacktestStreams {
  return Object.freeze({
    jobs: `${prefix}backtests`,
    group: BACKTEST_GROUP,
    progress: (id: string) => `${prefix}backtests:progress:${id}`,
    cancel: (id: string) => `${prefix}backtests:cancel:${id}`,
  });
}

/** One stream entry's fields. */
export const backtestJobEntrySchema = z.strictObject({
  jobId: z.uuid(),
  backtestId: z.uuid(),
  tenantId: z.uuid(),
});
export type BacktestJobEntry = z.infer<typeof backtestJobEntrySchema>;

/** The final message on a progress channel: the run ended with this status. */
export const backtestProgressMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('progress'), progress: z.unknown() }),
  z.strictObject({
    type: z.literal('status'),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    error: z.string().nullable(),
  }),
]);
export type BacktestProgressMessage = z.infer<typeof backtestProgressMessageSchema>;
