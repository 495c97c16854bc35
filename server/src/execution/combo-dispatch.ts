import { withTenant } from '@aegis/shared/db/client';
import type { ComboId, OrderId, TenantId } from '@aegis/shared/ids';
import { applyOrderEvent, isTerminal, type OrderEvent } from '@aegis/shared/orders/state';
import type { OrderView } from '@aegis/shared/schemas/order';
import { BrokerError, BrokerErrorCode } from '../brokers/types.ts';
import { backoff, isBrokerCallTimeout, withTimeout } from './broker-call.ts';
import type { BrokerRegistry, BrokerSession } from './broker-registry.ts';
import { comboLegs, loadCombo, syncCombo } from './combo-rows.ts';
import { norm, toOrderState, toOrderView, writeLegStatus } from './order-rows.ts';
import type { Outcome } from './outbox.ts';
import type { ExecutionDeps } from './types.ts';

/**
 * The dispatcher's combo commands: `broker.placeCombo` sends every leg in one native request
 * (all-or-none), `broker.cancelCombo` cancels them all. Both follow the single-order rules of
 * outbox.ts: the lease is checked before the call, a retry looks the legs up before any send,
 * a timeout leaves the legs `unknown` until the lookup resolves them, and a combo cancelled
 * before it was sent never reaches the broker.
 */
export interface ComboDispatchDeps {
  readonly deps: ExecutionDeps;
  readonly brokerTimeoutMs: number;
  readonly brokers: BrokerRegistry;
  readonly onOrderChanged: (tenantId: TenantId, order: OrderView) => void;
  readonly now: () => Date;
}

interface ComboRow {
  readonly attempts: number;
  /** Written with the combo (combo-service.ts): its row id in `combos` and its first leg's. */
  readonly payload: { comboId?: ComboId; orderId: OrderId; clientOrderId: string };
}

const PRE_BROKER = new Set(['pending_new', 'unknown', 'pending_cancel']);

export async function dispatchComboPlace(
  d: ComboDispatchDeps,
  tenantId: TenantId,
  session: BrokerSession,
  row: ComboRow,
): Promise<Outcome> {
  const comboId = row.payload.comboId;
  if (!comboId) return { done: true };
  const found = await withTenant(d.deps.db, tenantId, (tx) => loadCombo(tx, tenantId, comboId));
  if (!found || isTerminal(found.combo.status)) return { done: true };
  const { combo, legs } = found;
  // Already at the broker (a report arrived): nothing to send.
  if (legs.every((l) => !PRE_BROKER.has(l.status))) return { done: true };
  const firstAttempt = row.attempts <= 1;
  const cancelledBeforeSent = legs.some((l) => l.status === 'pending_cancel' || isTerminal(l.status));
  if (cancelledBeforeSent && firstAttempt) {
    // Cancelled (or a leg ended) before it was ever sent: no leg reaches the broker.
    await endLegs(d, tenantId, comboId, { type: 'OrderCancelled' });
    return { done: true };
  }
  const broker = session.adapter;
  if (!broker.capabilities.nativeCombos || !broker.placeCombo) {
    // Deny by default: a combo is never legged in one order at a time on a broker without them.
    const reason = `broker ${broker.name} has no native combo orders; combos are not legged in`;
    await endLegs(d, tenantId, comboId, { type: 'OrderRejected', reason });
    return { done: true };
  }
  if (!firstAttempt) {
    // A previous attempt may have reached the broker: adopt what it has, never send twice.
    session.lease.assertHeld();
    const known = await withTimeout(
      d.brokers.replay(tenantId, legs[0]!.clientOrderId, session.connectionId),
      d.brokerTimeoutMs,
    ).catch((err: unknown) => {
      if (isBrokerCallTimeout(err)) return undefined;
      throw err;
    });
    if (known === undefined)
      return { done: false, retryInMs: backoff(row.attempts), error: 'lookup timed out' };
    if (known) {
      for (const l of legs.slice(1)) await d.brokers.replay(tenantId, l.clientOrderId, session.connectionId);
      if (known.status === 'pending_new')
        return { done: false, retryInMs: backoff(row.attempts), error: 'in flight at the broker' };
      return { done: true };
    }
    if (cancelledBeforeSent) {
      await endLegs(d, tenantId, comboId, { type: 'OrderCancelled' });
      return { done: true };
    }
  }
  session.lease.assertHeld();
  try {
    await withTimeout(
      broker.placeCombo({
        comboId: combo.clientOrderId,
        orderType: combo.orderType,
        timeInForce: combo.timeInForce,
        quantity: norm(combo.quantity),
        netLimitPrice: combo.netLimitPrice === null ? null : norm(combo.netLimitPrice),
        maxLoss: combo.maxLoss === null ? null : norm(combo.maxLoss),
        legs: legs.map((l) => ({
          clientOrderId: l.clientOrderId,
          symbol: l.symbol,
          side: l.side,
          ratio: l.legRatio ?? 1,
          quantity: norm(l.quantity),
        })),
      }),
      d.brokerTimeoutMs,
    );
    return { done: true };
  } catch (err) {
    if (isBrokerCallTimeout(err)) {
      await endLegs(d, tenantId, comboId, { type: 'OrderStatusUnknown', reason: 'broker timeout' }, [
        'pending_new',
      ]);
      return { done: false, retryInMs: backoff(row.attempts), error: err.message };
    }
    if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.REJECTED) {
      await endLegs(d, tenantId, comboId, { type: 'OrderRejected', reason: err.message });
      return { done: true };
    }
    throw err;
  }
}

export async function dispatchComboCancel(
  d: ComboDispatchDeps,
  tenantId: TenantId,
  session: BrokerSession,
  row: ComboRow,
  placeBlocked: boolean,
): Promise<Outcome> {
  const comboId = row.payload.comboId;
  if (!comboId) return { done: true };
  const found = await withTenant(d.deps.db, tenantId, (tx) => loadCombo(tx, tenantId, comboId));
  if (!found || isTerminal(found.combo.status)) return { done: true };
  if (placeBlocked) return { done: false, retryInMs: 50, error: 'waiting for the combo to be dispatched' };
  const broker = session.adapter;
  session.lease.assertHeld();
  try {
    if (broker.cancelCombo)
      await withTimeout(broker.cancelCombo(found.combo.clientOrderId), d.brokerTimeoutMs);
    else await withTimeout(broker.cancelOrder(found.legs[0]!.clientOrderId), d.brokerTimeoutMs);
    return { done: true };
  } catch (err) {
    if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.NOT_FOUND) {
      // The broker never had it (skipped or rejected before arrival): cancelled here.
      await endLegs(d, tenantId, comboId, { type: 'OrderCancelled' });
      return { done: true };
    }
    if (isBrokerCallTimeout(err))
      return { done: false, retryInMs: backoff(row.attempts), error: err.message };
    throw err;
  }
}

/**
 * Applies one event to every leg that can take it (row locks held), then brings the combo in
 * line, in one transaction; legs that moved on are left as they are.
 */
async function endLegs(
  d: ComboDispatchDeps,
  tenantId: TenantId,
  comboId: ComboId,
  ev: OrderEvent,
  onlyFrom?: readonly string[],
): Promise<void> {
  const now = d.now();
  const views = await withTenant(d.deps.db, tenantId, async (tx) => {
    const legs = await comboLegs(tx, tenantId, comboId, true);
    const out: OrderView[] = [];
    for (const l of legs) {
      if (isTerminal(l.status) || (onlyFrom && !onlyFrom.includes(l.status))) continue;
      let next: ReturnType<typeof applyOrderEvent>;
      try {
        next = applyOrderEvent(toOrderState(l), ev);
      } catch (err) {
        d.deps.log.warn(
          { err, orderId: l.id, event: ev.type, status: l.status },
          'combo leg transition refused',
        );
        continue;
      }
      const u = await writeLegStatus(tx, l.id, next, now);
      if (u) out.push(toOrderView(u));
    }
    await syncCombo(tx, tenantId, comboId, now);
    return out;
  });
  for (const v of views) d.onOrderChanged(tenantId, v);
}
