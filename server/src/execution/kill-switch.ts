import { killSwitches, orders, outbox, tenants } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { applyOrderEvent } from '@aegis/shared/orders/state';
import type { HaltState } from '@aegis/shared/schemas/order-risk';
import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { Tx } from '../db/database.ts';
import { toOrderState } from './order-rows.ts';
import { readHalt, WORKING_STATUSES } from './risk-context.ts';
import { lockDeskOrders, setAuditContext } from './service.ts';
import { type Actor, type ExecutionDeps, HALT_CHANNEL, type RequestMeta } from './types.ts';

/**
 * The kill switch: one global row (platform admins) and one row per desk in `kill_switches`.
 * PostgreSQL is the truth — every order reads both rows in its own transaction, so a halt works
 * with Redis down and survives restarts. Redis pub/sub (`aegis:halt`) only makes other processes
 * (servers' live subscriptions, the engine) hear about it within milliseconds.
 *
 * Engaging a desk switch: (1) commit the row (+ audit) at once; (2) publish; (3) under the desk's
 * order lock, in one transaction, a cancel (pending_cancel + outbox row) for every working order.
 * An order that was already past its kill-switch read when (1) committed finishes before (3)
 * gets the lock, so it is cancelled too; every later order is denied. If the process dies
 * between (1) and (3), the switch still holds and every order is denied; the cancels of step 3
 * are re-run by `cancelAllDesks` at start (see runtime.start). Engaging the global switch commits the global row first (from then on every desk's
 * new orders are denied) and then sweeps each desk the same way. Releasing a desk switch never
 * lifts the global one: they are separate rows and an order passes only when both are released.
 */
export interface HaltMessage {
  readonly scope: 'global' | 'desk';
  readonly tenantId: string | null;
  readonly engaged: boolean;
  readonly ts: string;
}

export interface EngageResult {
  readonly state: HaltState;
  /** Orders that got a cancel, per desk. */
  readonly cancelsQueued: number;
}

const PUBLISH_TIMEOUT_MS = 500;

export class KillSwitch {
  readonly #deps: ExecutionDeps;
  readonly #onCancelsQueued: (tenantId: string) => void;
  readonly #clock: () => Date;

  constructor(deps: ExecutionDeps, onCancelsQueued: (tenantId: string) => void) {
    this.#deps = deps;
    this.#onCancelsQueued = onCancelsQueued;
    this.#clock = deps.clock ?? (() => new Date());
  }

  async engage(p: {
    scope: 'global' | 'desk';
    tenantId: string;
    actor: Actor;
    reason: string;
    meta?: RequestMeta;
  }): Promise<EngageResult> {
    const now = this.#clock();
    let cancels = 0;
    if (p.scope === 'desk') {
      // 1. The switch, committed at once (no waiting on the desk's order lock): every order that
      //    takes the lock after this commit reads it and is denied. Orders already past that
      //    read finish as working orders and are cancelled in step 3, which does take the lock.
      await withTenant(this.#deps.db, p.tenantId, async (tx) => {
        await setAuditContext(tx, p.meta ?? {});
        await upsertSwitch(tx, 'desk', p.tenantId, true, p.actor, p.reason, now);
        await recordAudit(tx, {
          action: 'halt.engage',
          actor: p.actor,
          targetType: 'kill_switch',
          targetId: `desk:${p.tenantId}`,
          payload: { scope: 'desk', reason: p.reason },
          details: `desk halt engaged: ${p.reason}`,
        });
      });
      // 2. Tell every process (bounded; PostgreSQL already holds the truth).
      await this.#publish({ scope: 'desk', tenantId: p.tenantId, engaged: true, ts: now.toISOString() });
      // 3. A cancel for every working order, in one transaction, then straight to the dispatcher.
      cancels = await this.#cancelDesk(p.tenantId, p.actor, now, p.meta ?? {});
    } else {
      await this.#deps.db.transaction(async (tx) => {
        await setAuditContext(tx, p.meta ?? {});
        await upsertSwitch(tx, 'global', null, true, p.actor, p.reason, now);
        await recordAudit(tx, {
          action: 'halt.engage',
          actor: p.actor,
          targetType: 'kill_switch',
          targetId: 'global',
          tenantId: null,
          payload: { scope: 'global', reason: p.reason },
          details: `global halt engaged: ${p.reason}`,
        });
      });
      cancels = await this.cancelAllDesks(p.actor, now);
    }
    await this.#publish({
      scope: p.scope,
      tenantId: p.scope === 'desk' ? p.tenantId : null,
      engaged: true,
      ts: now.toISOString(),
    });
    return { state: await this.status(p.tenantId), cancelsQueued: cancels };
  }

  /** Every desk: cancel each working order (under the desk's order lock), audited per desk. */
  async cancelAllDesks(actor: Actor, now: Date): Promise<number> {
    const desks = await this.#deps.db.select({ id: tenants.id }).from(tenants);
    let total = 0;
    for (const d of desks) total += await this.#cancelDesk(d.id, actor, now, {});
    return total;
  }

  /**
   * On start: every desk under a halt (its own or the global one) gets its working orders
   * cancelled, finishing an engage that died between committing the switch and its cancels.
   */
  async enforceHalts(): Promise<number> {
    const desks = await this.#deps.db.select({ id: tenants.id }).from(tenants);
    let total = 0;
    for (const d of desks) {
      const halted = await withTenant(this.#deps.db, d.id, (tx) => readHalt(tx, d.id));
      if (halted.global || halted.desk)
        total += await this.#cancelDesk(d.id, { type: 'system', id: 'kill-switch' }, this.#clock(), {});
    }
    return total;
  }

  async #cancelDesk(tenantId: string, actor: Actor, now: Date, meta: RequestMeta): Promise<number> {
    const n = await withTenant(this.#deps.db, tenantId, async (tx) => {
      await setAuditContext(tx, meta);
      await lockDeskOrders(tx, tenantId);
      const c = await cancelWorkingOrders(tx, tenantId, now);
      if (c > 0) {
        await recordAudit(tx, {
          action: 'halt.cancel_all',
          actor,
          targetType: 'kill_switch',
          targetId: `desk:${tenantId}`,
          payload: { cancels: c },
          details: `halt: cancel sent for ${c} working orders`,
        });
      }
      return c;
    });
    if (n > 0) this.#onCancelsQueued(tenantId);
    return n;
  }

  async release(p: {
    scope: 'global' | 'desk';
    tenantId: string;
    actor: Actor;
    meta?: RequestMeta;
  }): Promise<HaltState> {
    const now = this.#clock();
    const write = async (tx: Tx, tenantId: string | null) => {
      await setAuditContext(tx, p.meta ?? {});
      await upsertSwitch(tx, p.scope, tenantId, false, p.actor, null, now);
      await recordAudit(tx, {
        action: 'halt.release',
        actor: p.actor,
        targetType: 'kill_switch',
        targetId: p.scope === 'global' ? 'global' : `desk:${p.tenantId}`,
        ...(p.scope === 'global' && { tenantId: null }),
        payload: { scope: p.scope },
        details: `${p.scope} halt released`,
      });
    };
    if (p.scope === 'desk') await withTenant(this.#deps.db, p.tenantId, (tx) => write(tx, p.tenantId));
    else await this.#deps.db.transaction((tx) => write(tx, null));
    await this.#publish({
      scope: p.scope,
      tenantId: p.scope === 'desk' ? p.tenantId : null,
      engaged: false,
      ts: now.toISOString(),
    });
    return this.status(p.tenantId);
  }

  async status(tenantId: string): Promise<HaltState> {
    const rows = await withTenant(this.#deps.db, tenantId, (tx) =>
      tx
        .select()
        .from(killSwitches)
        .where(or(isNull(killSwitches.tenantId), eq(killSwitches.tenantId, tenantId))),
    );
    const g = rows.find((r) => r.scope === 'global');
    const d = rows.find((r) => r.scope === 'desk');
    const view = (r: typeof g) => ({
      engaged: r?.engaged ?? false,
      reason: r?.engaged ? (r.reason ?? null) : null,
      engagedAt: r?.engaged ? (r.engagedAt ?? null) : null,
    });
    const global = view(g);
    const desk = view(d);
    return { halted: global.engaged || desk.engaged, global, desk };
  }

  /** Fire-and-forget speed-up; bounded so a dead Redis never delays a halt. */
  async #publish(m: HaltMessage): Promise<void> {
    try {
      await Promise.race([
        this.#deps.bus.publish(HALT_CHANNEL, JSON.stringify(m)),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('publish timed out')), PUBLISH_TIMEOUT_MS).unref(),
        ),
      ]);
    } catch (err) {
      this.#deps.log.warn({ err, scope: m.scope }, 'halt publish failed; PostgreSQL remains the truth');
    }
  }
}

async function upsertSwitch(
  tx: Tx,
  scope: 'global' | 'desk',
  tenantId: string | null,
  engaged: boolean,
  actor: Actor,
  reason: string | null,
  now: Date,
): Promise<void> {
  const userId = actor.type === 'user' ? actor.id : null;
  const values = engaged
    ? { engaged: true, reason, engagedBy: userId, engagedAt: now, updatedAt: now }
    : { engaged: false, releasedBy: userId, releasedAt: now, updatedAt: now };
  const updated = await tx
    .update(killSwitches)
    .set(values)
    .where(
      and(
        eq(killSwitches.scope, scope),
        tenantId === null ? isNull(killSwitches.tenantId) : eq(killSwitches.tenantId, tenantId),
      ),
    )
    .returning({ id: killSwitches.id });
  if (updated.length > 0) return;
  // Raw SQL takes ISO strings (drizzle's client serializes timestamps from strings).
  const iso = now.toISOString();
  // First use: insert; a concurrent first insert loses on the unique index and retries as update.
  await tx.execute(sql`
    insert into kill_switches (scope, tenant_id, engaged, reason, engaged_by, engaged_at, released_by, released_at, updated_at)
    values (${scope}, ${tenantId}, ${engaged}, ${reason}, ${engaged ? userId : null}, ${engaged ? iso : null}::timestamptz,
            ${engaged ? null : userId}, ${engaged ? null : iso}::timestamptz, ${iso}::timestamptz)
    on conflict (scope, coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid))
    do update set engaged = excluded.engaged, reason = coalesce(excluded.reason, kill_switches.reason),
                  engaged_by = coalesce(excluded.engaged_by, kill_switches.engaged_by),
                  engaged_at = coalesce(excluded.engaged_at, kill_switches.engaged_at),
                  released_by = coalesce(excluded.released_by, kill_switches.released_by),
                  released_at = coalesce(excluded.released_at, kill_switches.released_at),
                  updated_at = excluded.updated_at`);
}

/**
 * pending_cancel + an outbox cancel for every working order of the desk, in bulk (caller holds
 * the desk's order lock). Each transition is still checked by the state machine first.
 */
async function cancelWorkingOrders(tx: Tx, tenantId: string, now: Date): Promise<number> {
  const working = await tx
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.tenantId, tenantId),
        inArray(
          orders.status,
          WORKING_STATUSES.filter((s) => s !== 'pending_cancel'),
        ),
      ),
    )
    .for('update');
  if (working.length === 0) return 0;
  for (const o of working) applyOrderEvent(toOrderState(o), { type: 'OrderCancelRequested' });
  const ids = working.map((o) => o.id);
  await tx
    .update(orders)
    .set({ status: 'pending_cancel', version: sql`${orders.version} + 1`, updatedAt: now })
    .where(inArray(orders.id, ids));
  await tx.insert(outbox).values(
    working.map((o) => ({
      tenantId,
      topic: 'broker.cancel',
      aggregateId: o.id,
      payload: { orderId: o.id, clientOrderId: o.clientOrderId },
      availableAt: now,
    })),
  );
  return working.length;
}

export function parseHaltMessage(raw: string): HaltMessage | null {
  try {
    const m = JSON.parse(raw) as HaltMessage;
    return (m.scope === 'global' || m.scope === 'desk') && typeof m.engaged === 'boolean' ? m : null;
  } catch {
    return null;
  }
}
