import { refreshBars, runPartitionUpkeep } from '@aegis/shared/db/partitions';
import type { Logger } from '@aegis/shared/logging';
import type { Sql, TransactionSql } from 'postgres';

/**
 * Keeps the time-series layer current from the server: partition upkeep (create tomorrow's
 * partitions, drop what retention allows) hourly, and the 1 s / 1 m bars refreshed over the
 * recent window every few seconds. On TimescaleDB both are no-ops for the application role (its
 * own policies do the work), so the same code runs on both paths.
 *
 * Several server instances may run behind a load balancer: each round takes a transaction-level
 * advisory lock with try-semantics, so one instance does the work and the others skip the round.
 */
export interface TimeseriesUpkeepOptions {
  readonly sql: Sql;
  readonly log: Logger;
  readonly barsEveryMs?: number;
  readonly barsWindowMs?: number;
  readonly upkeepEveryMs?: number;
}

const LOCK_BARS = 0x6165_6769_7362n; // arbitrary constants, one per job
const LOCK_UPKEEP = 0x6165_6769_7375n;

export function startTimeseriesUpkeep(options: TimeseriesUpkeepOptions): { stop(): Promise<void> } {
  const { sql, log } = options;
  const barsEveryMs = options.barsEveryMs ?? 5_000;
  const barsWindowMs = options.barsWindowMs ?? 10 * 60_000;
  const upkeepEveryMs = options.upkeepEveryMs ?? 3_600_000;
  let inFlight: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let lastError = 0;

  const exclusive = (lock: bigint, job: (tx: TransactionSql) => Promise<unknown>) => {
    if (stopped) return;
    inFlight = inFlight
      .then(() =>
        sql.begin(async (tx) => {
          const [row] = await tx<
            { ok: boolean }[]
          >`select pg_try_advisory_xact_lock(${lock.toString()}::bigint) as ok`;
          if (row?.ok) await job(tx);
        }),
      )
      .catch((err: unknown) => {
        // One line a minute at most: a database outage must not flood the log.
        if (Date.now() - lastError > 60_000) {
          lastError = Date.now();
          log.warn({ err }, 'time-series upkeep failed; retrying on schedule');
        }
      });
  };

  const bars = () =>
    exclusive(LOCK_BARS, (tx) => refreshBars(tx, new Date(Date.now() - barsWindowMs), new Date()));
  const upkeep = () =>
    exclusive(LOCK_UPKEEP, async (tx) => {
      const rows = await runPartitionUpkeep(tx);
      const created = rows.reduce((n, r) => n + r.created, 0);
      const dropped = rows.reduce((n, r) => n + r.dropped, 0);
      if (created || dropped) log.info({ created, dropped }, 'time-series partitions maintained');
    });

  upkeep();
  const barsTimer = setInterval(bars, barsEveryMs);
  const upkeepTimer = setInterval(upkeep, upkeepEveryMs);
  barsTimer.unref();
  upkeepTimer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(barsTimer);
      clearInterval(upkeepTimer);
      await inFlight;
    },
  };
}
