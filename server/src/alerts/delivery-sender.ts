import type { TokenCrypto } from '@aegis/shared/crypto/token-crypto';
import { alertDeliveries, alertDeliveryAttempts, alertEndpoints } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import type { WebhookFormat } from '@aegis/shared/schemas/alerts';
import { and, eq, sql } from 'drizzle-orm';
import { type Db, withTenant } from '../db/database.ts';
import type { AlertPayload } from './payload.ts';
import { bodyFor } from './payload.ts';
import { postWebhook, type SendResult } from './sender.ts';
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
} from './signature.ts';
import type { TargetPolicy } from './target-guard.ts';

/**
 * Sends due webhook deliveries from the `alert_deliveries` table. Any number of server processes
 * run one each: a claim takes due rows with FOR UPDATE SKIP LOCKED, marks them `sending` with a
 * lease and commits before anything is sent, so two processes never send the same attempt and no
 * transaction stays open across an HTTP call. A process that dies mid-send leaves a lease that
 * expires; the row is claimed again and the attempt repeated (receivers dedupe on
 * `X-Aegis-Delivery`). Each result is written fenced on (id, attempt): a holder whose lease ran
 * out cannot overwrite the attempt that replaced it.
 */

export const SECRET_PURPOSE = 'alert_webhook_secret';

export const bindingOf = (tenantId: TenantId, endpointId: string) => ({
  tenantId,
  rowId: endpointId,
  purpose: SECRET_PURPOSE,
});

export interface DeliveryTuning {
  /** Waits after failed attempt 1, 2, …; one more failure after the last is `dead`. */
  readonly retryScheduleMs: readonly number[];
  /** ± share of each wait drawn at random, so retries of many endpoints do not arrive together. */
  readonly jitter: number;
  readonly timeoutMs: number;
  /** How long a claimed row is held before another process may take it over. */
  readonly leaseMs: number;
  readonly batch: number;
  /** Attempts kept per endpoint (the console's delivery log). */
  readonly keepAttempts: number;
}

export const DEFAULT_DELIVERY_TUNING: DeliveryTuning = Object.freeze({
  retryScheduleMs: Object.freeze([1_000, 5_000, 30_000, 120_000, 600_000]),
  jitter: 0.2,
  timeoutMs: 5_000,
  leaseMs: 30_000,
  batch: 10,
  keepAttempts: 50,
});

/** The wait after failed attempt `attempt` (1-based), jittered; null when the schedule is spent. */
export function retryDelayMs(
  attempt: number,
  t: DeliveryTuning,
  random: () => number = Math.random,
): number | null {
  const base = t.retryScheduleMs[attempt - 1];
  if (base === undefined) return null;
  return Math.max(0, Math.round(base * (1 - t.jitter + 2 * t.jitter * random())));
}

type Claimed = {
  id: number;
  /** The delivery row's own desk. */
  tenant_id: TenantId;
  endpoint_id: string;
  kind: string;
  payload: AlertPayload;
  attempts: number;
};

export class DeliverySender {
  readonly #db: Db;
  readonly #log: Logger;
  readonly #crypto: TokenCrypto | null;
  readonly #policy: TargetPolicy;
  readonly #t: DeliveryTuning;

  constructor(deps: {
    db: Db;
    log: Logger;
    crypto: TokenCrypto | null;
    policy: TargetPolicy;
    tuning: DeliveryTuning;
  }) {
    this.#db = deps.db;
    this.#log = deps.log;
    this.#crypto = deps.crypto;
    this.#policy = deps.policy;
    this.#t = deps.tuning;
  }

  /** Claims and sends one batch; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const claimed = await this.#db.transaction(async (tx) => {
      // No desk set: the queue's policy shows every desk's rows to the sender.
      const rows = await tx.execute<Claimed>(sql`
        update alert_deliveries d
           set status = 'sending', attempts = d.attempts + 1,
               lease_until = now() + ${`${this.#t.leaseMs} milliseconds`}::interval, updated_at = now()
         where d.id in (
           select id from alert_deliveries
            where (status = 'pending' and next_attempt_at <= now())
               or (status = 'sending' and lease_until < now())
            order by next_attempt_at
            limit ${this.#t.batch}
            for update skip locked)
        returning d.id, d.tenant_id, d.endpoint_id, d.kind, d.payload, d.attempts`);
      return [...rows];
    });
    await Promise.all(claimed.map((c) => this.#deliver(c)));
    return claimed.length;
  }

  async #deliver(c: Claimed): Promise<void> {
    const endpoint = await withTenant(this.#db, c.tenant_id, async (tx) => {
      const [e] = await tx
        .select({
          url: alertEndpoints.url,
          format: alertEndpoints.format,
          secretSealed: alertEndpoints.secretSealed,
          enabled: alertEndpoints.enabled,
        })
        .from(alertEndpoints)
        .where(and(eq(alertEndpoints.tenantId, c.tenant_id), eq(alertEndpoints.id, c.endpoint_id)));
      return e ?? null;
    });
    let result: SendResult;
    if (!endpoint?.enabled) {
      result = { statusCode: null, latencyMs: 0, error: 'endpoint disabled', delivered: false };
    } else {
      result = await this.#send(c, endpoint);
    }
    const final = !endpoint?.enabled;
    await this.#record(c, result, final);
  }

  async #send(
    c: Claimed,
    e: { url: string; format: WebhookFormat; secretSealed: string },
  ): Promise<SendResult> {
    let secret: string;
    try {
      if (!this.#crypto) throw new Error('no token crypto');
      secret = this.#crypto.decrypt(e.secretSealed, bindingOf(c.tenant_id, c.endpoint_id));
    } catch {
      // The message of a decryption error says nothing about the secret; keep it generic anyway.
      return { statusCode: null, latencyMs: 0, error: 'signing secret unavailable', delivered: false };
    }
    const body = bodyFor(e.format, c.payload);
    const ts = Math.floor(Date.now() / 1000);
    return postWebhook(
      e.url,
      {
        [TIMESTAMP_HEADER]: String(ts),
        [SIGNATURE_HEADER]: signWebhook(secret, ts, body),
        [DELIVERY_HEADER]: `dlv_${c.id}`,
        [EVENT_HEADER]: c.kind,
      },
      body,
      { policy: this.#policy, timeoutMs: this.#t.timeoutMs },
    );
  }

  async #record(c: Claimed, r: SendResult, final: boolean): Promise<void> {
    const delay = r.delivered || final ? null : retryDelayMs(c.attempts, this.#t);
    const outcome = r.delivered ? 'delivered' : delay === null ? 'dead' : 'retry';
    await withTenant(this.#db, c.tenant_id, async (tx) => {
      const updated = await tx
        .update(alertDeliveries)
        .set({
          status: outcome === 'retry' ? 'pending' : outcome,
          nextAttemptAt: delay === null ? sql`now()` : sql`now() + ${`${delay} milliseconds`}::interval`,
          leaseUntil: null,
          lastStatusCode: r.statusCode,
          lastError: r.error,
          updatedAt: new Date(),
        })
        .where(
          and(
            eq(alertDeliveries.id, c.id),
            eq(alertDeliveries.status, 'sending'),
            eq(alertDeliveries.attempts, c.attempts),
          ),
        )
        .returning({ id: alertDeliveries.id });
      if (updated.length === 0) return; // taken over after the lease ran out: its holder records
      await tx.insert(alertDeliveryAttempts).values({
        tenantId: c.tenant_id,
        endpointId: c.endpoint_id,
        deliveryId: c.id,
        kind: c.kind,
        attempt: c.attempts,
        outcome,
        statusCode: r.statusCode,
        latencyMs: r.latencyMs,
        error: r.error,
      });
      await tx.execute(sql`
        delete from alert_delivery_attempts
         where endpoint_id = ${c.endpoint_id}::uuid
           and id < (select id from alert_delivery_attempts where endpoint_id = ${c.endpoint_id}::uuid
                      order by id desc offset ${this.#t.keepAttempts - 1} limit 1)`);
    });
    this.#log.debug(
      { deliveryId: c.id, endpointId: c.endpoint_id, attempt: c.attempts, outcome, statusCode: r.statusCode },
      'alert webhook attempt',
    );
  }
}
