// One file: engaging, releasing and the cancel sweep share the durability protocol described
// below (latch, row with a deadline, publish, retry until the row lands, then cancel); each step
// relies on the ones before it, so the protocol stays readable in one place.
import { halts, orders, outbox, tenants } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { isDeadlineExceeded, withDeadline } from '@aegis/shared/deadline';
import { asComboId, asTenantId, type TenantId } from '@aegis/shared/ids';
import { applyOrderEvent } from '@aegis/shared/orders/state';
import type { HaltState } from '@aegis/shared/schemas/order-risk';
import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { Tx } from '../db/database.ts';
import { transientKindOf } from '../transient-errors.ts';
import { syncCombo } from './combo-rows.ts';
import { haltLatch } from './halt-latch.ts';
import { toOrderState } from './order-rows.ts';
import { readHalt, WORKING_STATUSES } from './risk-context.ts';
import { lockDeskOrders, setAuditContext } from './service.ts';
import { type Actor, type ExecutionDeps, HALT_CHANNEL, type RequestMeta } from './types.ts';

/**
 * The halt: one global row (platform admins) and one row per desk in `halts`.
 * PostgreSQL is the truth — every order reads both rows in its own transaction, so a halt works
 * with Redis down and survives restarts. Redis pub/sub (`aegis:halt`) only makes other processes
 * (servers' live subscriptions, the engine) hear about it within milliseconds.
 *
 * Engaging a desk switch: (1) commit the row (+ audit) at once; (2) publish; (3) under the desk's
 * order lock, in one transaction, a cancel (pending_cancel + outbox row) for every working order.
 * An order that was already past its halt read when (1) committed finishes before (3)
 * gets the lock, so it is cancelled too; every later order is denied. If the process dies
 * between (1) and (3), the switch still holds and every order is denied; the cancels of step 3
 * are re-run by `cancelAllDesks` at start (see runtime.start). Engaging the global switch commits the global row first (from then on every desk's
 * new orders are denied) and then sweeps each desk the same way. Releasing a desk switch never
 * lifts the global one: they are separate rows and an order passes only when both are released.
 *
 * Engaging while PostgreSQL is unreachable (docs/runbook.md, "Halt trading"): the engage never waits on a dead database
 * and its acknowledgement always means "no new order will be accepted":
 *   0. Before anything else the halt is latched in this process (halt-latch.ts), which every
 *      order transaction reads together with the rows (readHalt), before writing the order.
 *   1. The row is written with a deadline (ENGAGE_DB_DEADLINE_MS). Landed: as above, and the
 *      answer says `durable: true`.
 *   2. Not landed (database unreachable, or no answer in time): the halt is published with
 *      `durable: false`, so every other server process latches it too; the answer says
 *      `durable: false`; this process retries the row until it lands (idempotent: a retry that
 *      finds the row engaged at the same instant writes nothing twice), then runs the cancels of
 *      step 3, publishes `durable: true` and drops the latch.
 * Why that is enough: an order is accepted only by committing it to PostgreSQL. While the
 * database is down no process can commit one; from the acknowledgement on this process refuses
 * in the order transaction itself, and the other processes from the moment the message reaches
 * them (milliseconds; Redis down as well: from the moment the row lands, which this process
 * retries every RETRY_MAX_MS at most). An order already past its halt read when the
 * engage came in is cancelled by step 3, as before.
 */
export interface HaltMessage {
  readonly scope: 'global' | 'desk';
  /** Branded where the message is parsed (parseHaltMessage): only this platform publishes it. */
  readonly tenantId: TenantId | null;
  readonly engaged: boolean;
  readonly ts: string;
  /** false: acknowledged and latched, the PostgreSQL row not written yet (absent: written). */
  readonly durable?: boolean;
}

export interface EngageResult {
  readonly state: HaltState;
  /** Orders that got a cancel, per desk. */
  readonly cancelsQueued: number;
  /** The `halts` row is committed (false: latched and published; the write is retried). */
  readonly durable: boolean;
}

const PUBLISH_TIMEOUT_MS = 500;
/** How long an engage waits for its PostgreSQL write before answering from the latch. */
const ENGAGE_DB_DEADLINE_MS = 2000;
/** lock_timeout and statement_timeout of an engage's transaction: below the caller's deadline. */
const ENGAGE_SERVER_TIMEOUT_MS = 1500;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;

/**
 * The engage's write did not land in time; treated like an unreachable database. The shared
 * deadline with its own reason `halt_engage_deadline`: only `unreachable` below asks for it, and
 * a deadline of some other call inside the write is that call's failure, not the engage's.
 */
const ENGAGE_DEADLINE = 'halt_engage_deadline';
const engageDeadline = <T>(p: Promise<T>): Promise<T> =>
  withDeadline(p, ENGAGE_DB_DEADLINE_MS, 'halt engage write', { reason: ENGAGE_DEADLINE });

/** SQLSTATEs of our own timeouts: 57014 statement timeout, 55P03 lock timeout. */
const TIMED_OUT_SQLSTATES = new Set(['57014', '55P03']);

/** The write could not land in time: unreachable, restarting, or stuck behind a lock. */
function unreachable(err: unknown): boolean {
  if (isDeadlineExceeded(err, ENGAGE_DEADLINE) || transientKindOf(err) !== null) return true;
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TIMED_OUT_SQLSTATES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
/** A switch's key in the pending durable writes: 'global', or the desk id (null: none, the global switch). */
const latchKey = (scope: 'global' | 'desk', tenantId: TenantId | null): string =>
  scope === 'global' ? 'global' : (tenantId ?? '');

/** What an engage names: the scope, the desk, who and why. */
export interface EngageRequest {
  readonly scope: 'global' | 'desk';
  readonly tenantId: TenantId;
  readonly actor: Actor;
  /** Who, in words, for the audit row (a key's name, a person's email); default: none. */
  readonly actorLabel?: string;
  readonly reason: string;
  readonly meta?: RequestMeta;
}

export class Halts {
  readonly #deps: ExecutionDeps;
  readonly #onCancelsQueued: (tenantId: TenantId) => void;
  readonly #clock: () => Date;

  constructor(deps: ExecutionDeps, onCancelsQueued: (tenantId: TenantId) => void) {
    this.#deps = deps;
    this.#onCancelsQueued = onCancelsQueued;
    this.#clock = deps.clock ?? (() => new Date());
    this.#listenForLatches();
  }

  async engage(p: EngageRequest): Promise<EngageResult> {
    const now = this.#clock();
    const deskId = p.scope === 'desk' ? p.tenantId : null;
    // 0. Latched first: from here this process refuses new orders whatever the database does.
    haltLatch.engage(p.scope, deskId);
    try {
      // 1. The switch, committed at once (no waiting on the desk's order lock): every order that
      //    takes the lock after this commit reads it and is denied. Orders already past that
      //    read finish as working orders and are cancelled in step 3, which does take the lock.
      await engageDeadline(this.#writeEngaged(p, now));
    } catch (err) {
      if (!unreachable(err)) {
        haltLatch.clear(p.scope, deskId);
        throw err;
      }
      // 2. The database did not take it: latched here, published for the other processes, and
      //    written as soon as PostgreSQL takes writes again.
      this.#deps.log.error(
        { err, scope: p.scope },
        'halt engaged while PostgreSQL is unreachable: latched and published; retrying the durable write',
      );
      await this.#publish({
        scope: p.scope,
        tenantId: deskId,
        engaged: true,
        ts: now.toISOString(),
        durable: false,
      });
      this.#retryUntilDurable(p, now);
      return { state: this.#latchedState(p, now), cancelsQueued: 0, durable: false };
    }
    haltLatch.clear(p.scope, deskId);
    const cancels = await this.#afterDurable(p, now);
    return { state: await this.status(p.tenantId), cancelsQueued: cancels, durable: true };
  }

  /** Tell every process, then a cancel for every working order (desk, or every desk for global). */
  async #afterDurable(
    p: { scope: 'global' | 'desk'; tenantId: TenantId; actor: Actor; meta?: RequestMeta },
    now: Date,
  ): Promise<number> {
    const deskId = p.scope === 'desk' ? p.tenantId : null;
    // Tell every process (bounded; PostgreSQL already holds the truth).
    await this.#publish({ scope: p.scope, tenantId: deskId, engaged: true, ts: now.toISOString() });
    // 3. A cancel for every working order, in one transaction per desk, then to the dispatcher.
    return p.scope === 'desk'
      ? this.#cancelDesk(p.tenantId, p.actor, now, p.meta ?? {})
      : this.cancelAllDesks(p.actor, now);
  }

  /**
   * The row and its audit entry, once: a retry that finds the switch engaged at this engage's
   * instant (an earlier attempt committed after its deadline) writes nothing.
   */
  async #writeEngaged(p: EngageRequest, now: Date): Promise<void> {
    const write = async (tx: Tx) => {
      const deskId = p.scope === 'desk' ? p.tenantId : null;
      // The server gives up before this caller does (ENGAGE_DB_DEADLINE_MS): an attempt the
      // caller abandoned is rolled back instead of committing later beside its retry.
      await tx.execute(
        sql`select set_config('lock_timeout', ${`${ENGAGE_SERVER_TIMEOUT_MS}ms`}, true), set_config('statement_timeout', ${`${ENGAGE_SERVER_TIMEOUT_MS}ms`}, true)`,
      );
      const [current] = await tx
        .select({
          engaged: halts.engaged,
          engagedAt: halts.engagedAt,
          updatedAt: halts.updatedAt,
        })
        .from(halts)
        .where(
          and(
            eq(halts.scope, p.scope),
            deskId === null ? isNull(halts.tenantId) : eq(halts.tenantId, deskId),
          ),
        )
        .for('update');
      // Landed already (an attempt that committed after its deadline), or the switch changed
      // after this engage's instant (released, engaged anew): a retry must not undo that.
      if (current?.engaged && current.engagedAt?.getTime() === now.getTime()) return;
      if (current && current.updatedAt.getTime() > now.getTime()) return;
      await setAuditContext(tx, p.meta ?? {});
      await upsertSwitch(tx, p.scope, deskId, true, p.actor, p.reason, now);
      await recordAudit(tx, {
        action: 'halt.engage',
        actor: p.actor,
        targetType: 'halt',
        targetId: p.scope === 'global' ? 'global' : `desk:${p.tenantId}`,
        ...(p.scope === 'global' && { tenantId: null }),
        payload: { scope: p.scope, reason: p.reason, ...(p.actorLabel ? { by: p.actorLabel } : {}) },
        details: `${p.scope} halt engaged${p.actorLabel ? ` by ${p.actorLabel}` : ''}: ${p.reason}`,
      });
    };
    if (p.scope === 'desk') await withTenant(this.#deps.db, p.tenantId, write);
    else await this.#deps.db.transaction(write);
  }

  /** Pending durable writes by latch key, so two engages of one switch share one retry loop. */
  readonly #retrying = new Map<string, Promise<void>>();

  #retryUntilDurable(
    p: { scope: 'global' | 'desk'; tenantId: TenantId; actor: Actor; reason: string; meta?: RequestMeta },
    now: Date,
  ): void {
    const key = latchKey(p.scope, p.tenantId);
    if (this.#retrying.has(key)) return;
    const run = (async () => {
      let wait = RETRY_MIN_MS;
      for (let attempt = 1; ; attempt++) {
        await new Promise((r) => setTimeout(r, wait).unref());
        try {
          await engageDeadline(this.#writeEngaged(p, now));
          break;
        } catch (err) {
          if (!unreachable(err)) {
            // Not a connectivity problem: keep the latch (fail safe) and keep trying, loudly.
            this.#deps.log.error(
              { err, attempt },
              'halt: durable write failed; the latch still refuses orders',
            );
          }
          wait = Math.min(RETRY_MAX_MS, wait * 2);
        }
      }
      this.#deps.log.info({ scope: p.scope }, 'halt: durable write landed after the database came back');
      haltLatch.clear(p.scope, p.scope === 'desk' ? p.tenantId : null);
      await this.#afterDurable(p, now).catch((err: unknown) =>
        // The switch is durable; the start-up sweep (enforceHalts) finishes the cancels.
        this.#deps.log.error({ err }, 'halt: cancels after the durable write failed'),
      );
    })().finally(() => this.#retrying.delete(key));
    this.#retrying.set(key, run);
  }

  /** Settles once every pending durable write has landed (tests, shutdown). */
  async durable(): Promise<void> {
    while (this.#retrying.size > 0) await Promise.all([...this.#retrying.values()]);
  }

  /** The state as acknowledged from the latch, with the database unreachable. */
  #latchedState(p: { scope: 'global' | 'desk'; tenantId: TenantId; reason: string }, now: Date): HaltState {
    const flags = haltLatch.flags(p.tenantId);
    const view = (engaged: boolean, mine: boolean) => ({
      engaged,
      reason: mine ? p.reason : null,
      engagedAt: mine ? now.toISOString() : null,
    });
    return {
      halted: true,
      global: view(flags.global, p.scope === 'global'),
      desk: view(flags.desk, p.scope === 'desk'),
    };
  }

  /**
   * Halts engaged elsewhere while PostgreSQL was unreachable (`durable: false` messages) are
   * latched here too; `durable` or a release clears them. Subscribed once per instance, on the
   * channel the runtime already listens to (the bus shares one subscriber connection).
   */
  #listenForLatches(): void {
    this.#deps.bus
      .subscribe(HALT_CHANNEL, (raw) => {
        const m = parseHaltMessage(raw);
        if (!m) return;
        const deskId = m.scope === 'desk' ? m.tenantId : null;
        if (m.scope === 'desk' && !deskId) return;
        if (m.engaged && m.durable === false) haltLatch.engage(m.scope, deskId);
        else if (!this.#retrying.has(latchKey(m.scope, deskId))) haltLatch.clear(m.scope, deskId);
      })
      .catch((err: unknown) =>
        this.#deps.log.warn({ err }, 'halt latch: subscription unavailable (PostgreSQL stays the truth)'),
      );
  }

  /** Every desk: cancel each working order (under the desk's order lock), audited per desk. */
  async cancelAllDesks(actor: Actor, now: Date): Promise<number> {
    const desks = await this.#deps.db.select({ id: tenants.id }).from(tenants);
    let total = 0;
    for (const d of desks) total += await this.#cancelDesk(asTenantId(d.id), actor, now, {});
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
      const deskId = asTenantId(d.id);
      const halted = await withTenant(this.#deps.db, deskId, (tx) => readHalt(tx, deskId));
      if (halted.global || halted.desk)
        total += await this.#cancelDesk(deskId, { type: 'system', id: 'halt' }, this.#clock(), {});
    }
    return total;
  }

  async #cancelDesk(tenantId: TenantId, actor: Actor, now: Date, meta: RequestMeta): Promise<number> {
    const n = await withTenant(this.#deps.db, tenantId, async (tx) => {
      await setAuditContext(tx, meta);
      await lockDeskOrders(tx, tenantId);
      const c = await cancelWorkingOrders(tx, tenantId, now);
      if (c > 0) {
        await recordAudit(tx, {
          action: 'halt.cancel_all',
          actor,
          targetType: 'halt',
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
    tenantId: TenantId;
    actor: Actor;
    /** Who released it, in words (the alert says so, as an engage's does). */
    actorLabel?: string;
    meta?: RequestMeta;
  }): Promise<HaltState> {
    const now = this.#clock();
    const write = async (tx: Tx, tenantId: TenantId | null) => {
      await setAuditContext(tx, p.meta ?? {});
      await upsertSwitch(tx, p.scope, tenantId, false, p.actor, null, now);
      await recordAudit(tx, {
        action: 'halt.release',
        actor: p.actor,
        targetType: 'halt',
        targetId: p.scope === 'global' ? 'global' : `desk:${p.tenantId}`,
        ...(p.scope === 'global' && { tenantId: null }),
        payload: { scope: p.scope, ...(p.actorLabel ? { by: p.actorLabel } : {}) },
        details: `${p.scope} halt released${p.actorLabel ? ` by ${p.actorLabel}` : ''}`,
      });
    };
    if (p.scope === 'desk') await withTenant(this.#deps.db, p.tenantId, (tx) => write(tx, p.tenantId));
    else await this.#deps.db.transaction((tx) => write(tx, null));
    // A release is durable by now: no latch of this switch may keep refusing orders.
    haltLatch.clear(p.scope, p.scope === 'desk' ? p.tenantId : null);
    await this.#publish({
      scope: p.scope,
      tenantId: p.scope === 'desk' ? p.tenantId : null,
      engaged: false,
      ts: now.toISOString(),
    });
    return this.status(p.tenantId);
  }

  async status(tenantId: TenantId): Promise<HaltState> {
    const rows = await withTenant(this.#deps.db, tenantId, (tx) =>
      tx
        .select()
        .from(halts)
        .where(or(isNull(halts.tenantId), eq(halts.tenantId, tenantId))),
    );
    const g = rows.find((r) => r.scope === 'global');
    const d = rows.find((r) => r.scope === 'desk');
    const view = (r: typeof g) => ({
      engaged: r?.engaged ?? false,
      reason: r?.engaged ? (r.reason ?? null) : null,
      engagedAt: r?.engaged ? (r.engagedAt?.toISOString() ?? null) : null,
    });
    const global = view(g);
    const desk = view(d);
    return { halted: global.engaged || desk.engaged, global, desk };
  }

  /** Fire-and-forget speed-up; bounded so a dead Redis never delays a halt. */
  async #publish(m: HaltMessage): Promise<void> {
    try {
      await withDeadline(
        this.#deps.bus.publish(HALT_CHANNEL, JSON.stringify(m)),
        PUBLISH_TIMEOUT_MS,
        'halt publish',
        {
          unref: true,
        },
      );
    } catch (err) {
      this.#deps.log.warn({ err, scope: m.scope }, 'halt publish failed; PostgreSQL remains the truth');
    }
  }
}

async function upsertSwitch(
  tx: Tx,
  scope: 'global' | 'desk',
  tenantId: TenantId | null,
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
    .update(halts)
    .set(values)
    .where(
      and(eq(halts.scope, scope), tenantId === null ? isNull(halts.tenantId) : eq(halts.tenantId, tenantId)),
    )
    .returning({ id: halts.id });
  if (updated.length > 0) return;
  // Raw SQL takes ISO strings (drizzle's client serializes timestamps from strings).
  const iso = now.toISOString();
  // First use: insert; a concurrent first insert loses on the unique index and retries as update.
  await tx.execute(sql`
    insert into halts (scope, tenant_id, engaged, reason, engaged_by, engaged_at, released_by, released_at, updated_at)
    values (${scope}, ${tenantId}, ${engaged}, ${reason}, ${engaged ? userId : null}, ${engaged ? iso : null}::timestamptz,
            ${engaged ? null : userId}, ${engaged ? null : iso}::timestamptz, ${iso}::timestamptz)
    on conflict (scope, coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid))
    do update set engaged = excluded.engaged, reason = coalesce(excluded.reason, halts.reason),
                  engaged_by = coalesce(excluded.engaged_by, halts.engaged_by),
                  engaged_at = coalesce(excluded.engaged_at, halts.engaged_at),
                  released_by = coalesce(excluded.released_by, halts.released_by),
                  released_at = coalesce(excluded.released_at, halts.released_at),
                  updated_at = excluded.updated_at`);
}

/**
 * pending_cancel + an outbox cancel for every working order of the desk, in bulk (caller holds
 * the desk's order lock). Each transition is still checked by the state machine first.
 * Bracket legs are left working: they are reduce-only exits (a halt must never strip a position
 * of its stop); the legs of an entry that never filled go with the entry's cancel.
 */
async function cancelWorkingOrders(tx: Tx, tenantId: TenantId, now: Date): Promise<number> {
  const working = await tx
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.tenantId, tenantId),
        isNull(orders.bracketRole),
        inArray(
          orders.status,
          WORKING_STATUSES.filter((s) => s !== 'pending_cancel'),
        ),
      ),
    )
    // In id order, as every transaction that locks several orders does (no deadlock between them).
    .orderBy(asc(orders.id))
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
  // Combo legs (locked above, so legs before combo as everywhere): their combos show the cancel.
  for (const comboId of new Set(working.flatMap((o) => (o.comboId ? [o.comboId] : []))))
    await syncCombo(tx, tenantId, asComboId(comboId), now);
  return working.length;
}

export function parseHaltMessage(raw: string): HaltMessage | null {
  try {
    const m = JSON.parse(raw) as HaltMessage;
    return (m.scope === 'global' || m.scope === 'desk') &&
      typeof m.engaged === 'boolean' &&
      (m.durable === undefined || typeof m.durable === 'boolean')
      ? m
      : null;
  } catch {
    return null;
  }
}
