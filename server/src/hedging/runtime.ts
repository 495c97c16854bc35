import type { Bus, Unsubscribe } from '@aegis/shared/bus/types';
import { hedgeSettings, tenants } from '@aegis/shared/db';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import { eq } from 'drizzle-orm';
import { type Db, withTenant } from '../db/database.ts';
import { positionUpdatesChannel } from '../execution/types.ts';
import type { GreeksOptions } from './desk-greeks.ts';
import { DeltaHedger, type DeltaHedgerDeps } from './hedger.ts';

/**
 * The hedger's loop in one server process: every `intervalMs` it runs a pass for each desk
 * whose hedging is enabled, and at once when one of those desks' positions change (the
 * positions channel every fill publishes on). Passes of one desk never overlap: a trigger that
 * arrives during a pass runs one more pass after it. Desks are re-listed every tick, so
 * enabling hedging takes effect within one interval; nothing here holds state another process
 * needs (settings and actions are rows, orders carry deterministic idempotency keys).
 */

export interface HedgingOptions {
  /** Pass interval per enabled desk (ms). */
  readonly intervalMs: number;
  /** Implied volatility and Greeks. */
  readonly greeks: GreeksOptions;
}

export const DEFAULT_HEDGING_OPTIONS: HedgingOptions = Object.freeze({
  intervalMs: 1_000,
  greeks: Object.freeze({ rate: 0.04, dividendYield: 0 }),
});

export interface HedgingRuntime {
  readonly hedger: DeltaHedger;
  /** Runs a pass for the desk now (after the one in progress, if any). */
  trigger(tenantId: TenantId): Promise<void>;
  stop(): Promise<void>;
}

export function startHedging(
  deps: Omit<DeltaHedgerDeps, 'greeks'> & {
    readonly bus: Bus;
    readonly log: Logger;
    readonly db: Db;
    readonly options?: Partial<HedgingOptions>;
  },
): HedgingRuntime {
  const options = { ...DEFAULT_HEDGING_OPTIONS, ...deps.options };
  const log = deps.log.child({ component: 'hedger' });
  const hedger = new DeltaHedger({ ...deps, log, greeks: options.greeks });
  const running = new Map<TenantId, Promise<void>>();
  const again = new Set<string>();
  const watched = new Map<TenantId, Promise<Unsubscribe>>();
  let stopped = false;

  const trigger = (tenantId: TenantId): Promise<void> => {
    if (stopped) return Promise.resolve();
    const current = running.get(tenantId);
    if (current) {
      again.add(tenantId);
      return current;
    }
    const run = (async () => {
      do {
        again.delete(tenantId);
        await hedger
          .runDesk(tenantId)
          .catch((err) => log.error({ err, tenantId }, 'hedger: desk pass failed'));
      } while (again.has(tenantId) && !stopped);
    })().finally(() => running.delete(tenantId));
    running.set(tenantId, run);
    return run;
  };

  const watch = (tenantId: TenantId, on: boolean) => {
    const sub = watched.get(tenantId);
    if (on && !sub) {
      watched.set(
        tenantId,
        deps.bus.subscribe(positionUpdatesChannel(tenantId), () => void trigger(tenantId)),
      );
    } else if (!on && sub) {
      watched.delete(tenantId);
      void sub.then((u) => u()).catch(() => {});
    }
  };

  const tick = async () => {
    // `tenants` has no RLS (the list of desks); each desk's settings are read under its tenant.
    const desks = await deps.db.select({ id: tenants.id }).from(tenants);
    for (const desk of desks) {
      const id = asTenantId(desk.id);
      if (stopped) return;
      const [s] = await withTenant(deps.db, id, (tx) =>
        tx
          .select({ enabled: hedgeSettings.enabled })
          .from(hedgeSettings)
          .where(eq(hedgeSettings.tenantId, id)),
      );
      const enabled = s?.enabled ?? false;
      watch(id, enabled);
      if (enabled) void trigger(id);
    }
  };

  let ticking: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = tick()
      .catch((err) => log.warn({ err }, 'hedger: tick failed'))
      .finally(() => {
        ticking = null;
      });
  }, options.intervalMs);
  timer.unref();
  log.info({ intervalMs: options.intervalMs, autonomousEnabled: deps.autonomousEnabled }, 'hedger ready');

  return {
    hedger,
    trigger,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await ticking;
      await Promise.allSettled([...running.values()]);
      for (const id of [...watched.keys()]) watch(id, false);
    },
  };
}
