import type { BacktestJobEntry, BacktestStreams } from '@aegis/shared/bus/backtest-jobs';
import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';

/** Cap on the job stream: entries are wake-ups, acked within seconds; old ones are worthless. */
const JOB_STREAM_MAXLEN = 10_000;

/**
 * Wakes a worker: the job's entry on `<prefix>backtests`. Returns false (logged) when the bus
 * refused: the rows are already the truth, and the engine's sweeper queues jobs whose
 * enqueued_at is NULL.
 */
export async function enqueueBacktestJob(
  bus: Bus,
  streams: BacktestStreams,
  entry: BacktestJobEntry,
  log: Logger,
): Promise<boolean> {
  try {
    await bus.xadd(streams.jobs, { ...entry }, { maxLen: JOB_STREAM_MAXLEN });
    return true;
  } catch (err) {
    log.warn({ err, jobId: entry.jobId }, 'backtest job not queued on the stream; the sweeper will');
    return false;
  }
}
