import type { Bus, Unsubscribe } from '@aegis/shared/bus/types';
import type { TokenCrypto } from '@aegis/shared/crypto/token-crypto';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Db } from '../db/database.ts';
import { HALT_CHANNEL } from '../execution/types.ts';
import { ALERT_DELIVERY_CHANNEL, alertFeedChannel } from './channels.ts';
import { DEFAULT_DELIVERY_TUNING, DeliverySender, type DeliveryTuning } from './delivery-sender.ts';
import { AlertEventSources } from './event-sources.ts';
import { pruneAlerts } from './retention.ts';
import type { TargetPolicy } from './target-guard.ts';

/** Tuning for the alert router (intervals, retry schedule, targets); tests shorten them. */
export interface AlertOptions {
  /** Seals and opens webhook secrets (the platform's token crypto); without it nothing is signed. */
  readonly crypto?: TokenCrypto;
  /** Live quotes for the daily-loss check (marks); without them that check is off. */
  readonly quotes?: QuoteBook;
  /** Where webhooks may point (default: https to public addresses only). */
  readonly targets?: Partial<TargetPolicy>;
  /** Event scan interval (ms); a halt message triggers a scan at once. */
  readonly scanIntervalMs?: number;
  /** Daily-loss check interval (ms): it values every desk, so less often than the scan. */
  readonly dailyLossIntervalMs?: number;
  /** How far back a scan looks for causes not yet announced (ms). */
  readonly lookbackMs?: number;
  /** How often the sender looks for due deliveries when not nudged (ms). */
  readonly sendIntervalMs?: number;
  readonly delivery?: Partial<DeliveryTuning>;
  /** Events and finished deliveries older than this are deleted (ms; default 90 days). */
  readonly retentionMs?: number;
  /** How often retention runs (ms; default hourly). */
  readonly pruneIntervalMs?: number;
}

export const DEFAULT_TARGET_POLICY: TargetPolicy = Object.freeze({
  allowLocalhost: false,
  allowPrivateAddresses: false,
});

export interface AlertsRuntime {
  /** Scans for new events now (tests, and after a halt message). */
  scanNow(): Promise<void>;
  /** Sends due deliveries now. */
  sendNow(): Promise<void>;
  /** Deletes what retention allows now (retention.ts). */
  pruneNow(): Promise<void>;
  close(): Promise<void>;
}

/** The target policy a process runs with (routers check new endpoints against the same one). */
let activePolicy: TargetPolicy = DEFAULT_TARGET_POLICY;
export const alertTargetPolicy = (): TargetPolicy => activePolicy;

/**
 * The desk alert router: routes desk events to the console's notification centre and to signed
 * webhooks. Started once per server process by `startServer`. Two loops: the scan finds new
 * events (event-sources.ts) and writes them with their deliveries; the sender claims due
 * deliveries from the table (delivery-sender.ts). Neither keeps state another process needs.
 */
export function startAlerts(deps: {
  db: Db;
  sql: Sql;
  bus: Bus;
  log: Logger;
  options?: AlertOptions | undefined;
}): AlertsRuntime {
  const o = deps.options ?? {};
  const log = deps.log.child({ component: 'alerts' });
  const policy: TargetPolicy = { ...DEFAULT_TARGET_POLICY, ...o.targets };
  activePolicy = policy;
  const scanIntervalMs = o.scanIntervalMs ?? 2_000;
  const dailyLossIntervalMs = o.dailyLossIntervalMs ?? 30_000;
  const sendIntervalMs = o.sendIntervalMs ?? 1_000;
  const sources = new AlertEventSources({
    db: deps.db,
    log,
    quotes: o.quotes ?? null,
    options: { lookbackMs: o.lookbackMs ?? 15 * 60_000 },
  });
  const sender = new DeliverySender({
    db: deps.db,
    log,
    crypto: o.crypto ?? null,
    policy,
    tuning: { ...DEFAULT_DELIVERY_TUNING, ...o.delivery },
  });
  if (!o.crypto) log.warn('alerts: no token crypto configured; webhook deliveries fail until one is');

  let closed = false;
  let lastDailyLoss = 0;
  const unsubs: Promise<Unsubscribe>[] = [];

  // One loop = one runner: a trigger during a run asks for one more run after it.
  const loop = (name: string, intervalMs: number, body: () => Promise<void>) => {
    let running: Promise<void> | null = null;
    let again = false;
    let timer: NodeJS.Timeout | null = null;
    const run = (): Promise<void> => {
      if (closed) return Promise.resolve();
      if (running) {
        again = true;
        return running;
      }
      if (timer) clearTimeout(timer);
      running = (async () => {
        do {
          again = false;
          await body().catch((err) => log.error({ err }, `alerts: ${name} failed`));
        } while (again && !closed);
      })().finally(() => {
        running = null;
        if (!closed) timer = setTimeout(() => void run(), intervalMs);
      });
      return running;
    };
    timer = setTimeout(() => void run(), 0);
    return {
      run,
      async stop() {
        if (timer) clearTimeout(timer);
        await running;
      },
    };
  };

  const send = loop('sender', sendIntervalMs, async () => {
    while (!closed && (await sender.runOnce()) > 0) {}
  });
  const scan = loop('scan', scanIntervalMs, async () => {
    const now = Date.now();
    const withDailyLoss = now - lastDailyLoss >= dailyLossIntervalMs;
    if (withDailyLoss) lastDailyLoss = now;
    const touched = await sources.scan(withDailyLoss);
    if (touched.size === 0) return;
    await Promise.all(
      [...touched].map((t) => deps.bus.publish(alertFeedChannel(t), JSON.stringify({ tenantId: t }))),
    );
    await deps.bus.publish(ALERT_DELIVERY_CHANNEL, '{}');
    void send.run();
  });

  const retentionMs = o.retentionMs ?? 90 * 86_400_000;
  const prune = loop('retention', o.pruneIntervalMs ?? 3_600_000, async () => {
    const r = await pruneAlerts(deps.db, { olderThan: new Date(Date.now() - retentionMs) });
    if (r.events || r.deliveries) log.info(r, 'alerts: pruned past retention');
  });

  unsubs.push(deps.bus.subscribe(HALT_CHANNEL, () => void scan.run()));
  unsubs.push(deps.bus.subscribe(ALERT_DELIVERY_CHANNEL, () => void send.run()));
  for (const u of unsubs) u.catch((err) => log.warn({ err }, 'alerts: bus subscribe failed'));

  return {
    scanNow: () => scan.run(),
    sendNow: () => send.run(),
    pruneNow: () => prune.run(),
    async close() {
      closed = true;
      for (const u of unsubs) await (await u.catch(() => null))?.().catch(() => {});
      await Promise.all([scan.stop(), send.stop(), prune.stop()]);
    },
  };
}
