import { type BacktestStreams, backtestJobEntrySchema } from '@aegis/shared/bus/backtest-jobs';
import type { StreamEntry } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import { type BacktestJobDeps, type JobOutcome, runBacktestJob } from './backtest-job.ts';
import { type ClaimedJob, claimJob, jobState } from './job-lease.ts';

/**
 * One backtest worker: a consumer of group `backtest-workers` on `<prefix>backtests`, running one
 * job at a time. An entry only says "job X may be ready"; the `jobs` row decides (job-lease.ts):
 *
 *   1. after a restart, this consumer's own pending entries first (id `0`): the job it was
 *      running when it died resumes here if its lease has expired by then;
 *   2. entries pending on a dead consumer for longer than `claimIdleMs` (XAUTOCLAIM): a running
 *      job's worker touches its entry with every lease renewal, so only a dead worker's entry
 *      goes idle, and by then its lease (shorter than `claimIdleMs`) has expired too;
 *   3. new entries (`>`), blocking up to `blockMs`.
 *
 * An entry is acked once its job is finished, or when its job cannot be claimed because it is
 * finished or held under a live lease (a duplicate wake-up). An entry whose job row is not there
 * yet (the create's transaction has not committed) is waited for briefly, then left pending and
 * retried by auto-claim; after `maxDeliveries` (a create that rolled back) it is dropped.
 */
export interface BacktestWorkerOptions extends BacktestJobDeps {
  readonly claimIdleMs: number;
  readonly blockMs: number;
  readonly maxDeliveries: number;
  /** How long an entry waits for its job row to become visible (commit) before it is left. */
  readonly rowWaitMs?: number;
}

export class BacktestWorker {
  readonly #o: BacktestWorkerOptions;
  readonly #log: Logger;
  readonly #shutdown = new AbortController();
  #loop: Promise<void> | null = null;
  #current: string | null = null;
  /** Outcomes, for metrics and tests. */
  readonly outcomes: { jobId: string; outcome: JobOutcome }[] = [];

  constructor(options: BacktestWorkerOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'backtest-worker', worker: options.worker });
  }

  get streams(): BacktestStreams {
    return this.#o.streams;
  }

  /** The job this worker is running now, if any. */
  get currentJob(): string | null {
    return this.#current;
  }

  async start(): Promise<void> {
    await this.#o.bus.ensureGroup(this.#o.streams.jobs, this.#o.streams.group, '0');
    this.#loop = this.#run();
    this.#log.info('backtest worker started');
  }

  /** Stops reading; a running job is given back to the queue (not counted as an attempt). */
  async stop(): Promise<void> {
    this.#shutdown.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { bus, streams, worker } = this.#o;
    let drainOwn = true;
    while (!this.#shutdown.signal.aborted) {
      try {
        let entries: (StreamEntry & { deliveries?: number })[] = [];
        if (drainOwn) {
          entries = await bus.readGroup(streams.jobs, streams.group, worker, { id: '0', count: 1 });
          if (entries.length === 0) drainOwn = false;
        }
        if (entries.length === 0) {
          const claimed = await bus.autoclaim(streams.jobs, streams.group, worker, this.#o.claimIdleMs, {
            count: 1,
          });
          entries = [...claimed.entries];
        }
        if (entries.length === 0) {
          entries = await bus.readGroup(streams.jobs, streams.group, worker, {
            count: 1,
            blockMs: this.#o.blockMs,
          });
        }
        for (const entry of entries) {
          if (this.#shutdown.signal.aborted) break;
          await this.#handle(entry);
        }
      } catch (err) {
        if (this.#shutdown.signal.aborted) break;
        this.#log.warn({ err }, 'backtest worker: bus or database error; retrying');
        await sleep(Math.min(1000, this.#o.blockMs), this.#shutdown.signal);
      }
    }
  }

  async #handle(entry: StreamEntry & { deliveries?: number }): Promise<void> {
    const { bus, streams } = this.#o;
    const ack = () => bus.ack(streams.jobs, streams.group, [entry.id]);
    const parsed = backtestJobEntrySchema.safeParse(entry.fields);
    if (!parsed.success) {
      this.#log.warn({ entryId: entry.id }, 'malformed backtest job entry dropped');
      await ack();
      return;
    }
    const { jobId } = parsed.data;
    const job = await this.#claim(jobId, entry.deliveries ?? 1);
    if (job === 'not_yet') return; // left pending: auto-claim retries it
    if (job === null) {
      // Finished, or held under a live lease (a duplicate wake-up); a lease that expires later
      // with nobody resuming it is queued again by the sweeper. A row that never appeared (a
      // create that rolled back) is dropped after maxDeliveries.
      await ack();
      return;
    }
    this.#current = job.id;
    try {
      const touch = () => bus.touch(streams.jobs, streams.group, this.#o.worker, [entry.id]);
      const outcome = await runBacktestJob(this.#o, job, this.#shutdown.signal, touch);
      this.outcomes.push({ jobId: job.id, outcome });
    } finally {
      this.#current = null;
    }
    await ack();
  }

  /**
   * Claims the job, retrying for up to `rowWaitMs` while its row is invisible (the create's
   * transaction commits right after it queued the entry) or looks claimable but the claim ran
   * before that commit. 'not_yet': still invisible (left pending for auto-claim, until delivered
   * `maxDeliveries` times: a create that rolled back); null: not claimable (finished, or held
   * under a live lease).
   */
  async #claim(jobId: string, deliveries: number): Promise<ClaimedJob | null | 'not_yet'> {
    const { sql, worker, leaseMs } = this.#o;
    const waitUntil = performance.now() + (this.#o.rowWaitMs ?? 2000);
    for (;;) {
      const job = await claimJob(sql, jobId, worker, leaseMs);
      if (job) return job;
      const state = await jobState(sql, jobId);
      const mayBecomeClaimable = state === null || state.status === 'queued';
      if (!mayBecomeClaimable) return null;
      if (performance.now() >= waitUntil || this.#shutdown.signal.aborted) {
        return state === null && deliveries < this.#o.maxDeliveries ? 'not_yet' : null;
      }
      await sleep(50, this.#shutdown.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
