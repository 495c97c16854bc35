import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { applyFill, flatPosition } from '@aegis/shared/accounting/position';
import { agentSettings, fills, orders, positions, tradeOutcomes } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { AppError, ErrorCode, isAppErrorFor } from '@aegis/shared/errors';
import { asComboId, asOrderId, type OrderId, type TenantId } from '@aegis/shared/ids';
import { isoFromMicros } from '@aegis/shared/market/micro-time';
import { applyOrderEvent, isStale, type OrderEvent, type OrderState } from '@aegis/shared/orders/state';
import { isLossStreak } from '@aegis/shared/risk/circuit-breaker';
import type { OrderView } from '@aegis/shared/schemas/order';
import { and, desc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { ExecutionReport } from '../brokers/types.ts';
import type { Tx } from '../db/database.ts';
import { syncCombo } from './combo-rows.ts';
import { type OrderRow, toOrderState, toOrderView } from './order-rows.ts';
import { loadLimits } from './risk-context.ts';
import type { ExecutionDeps, ExecutionOptions } from './types.ts';
import { valueDesk, writeEquitySnapshot } from './valuation.ts';

export type ReportOutcome = 'applied' | 'duplicate' | 'stale' | 'unknown_order' | 'illegal';

export interface ReportResult {
  readonly outcome: ReportOutcome;
  readonly order?: OrderView;
  /** Set when the fill tripped the loss-streak circuit breaker. */
  readonly circuitBreakerTripped?: boolean;
}

function eventOf(r: ExecutionReport): OrderEvent {
  switch (r.kind) {
    case 'accepted':
      return { type: 'OrderAccepted', ...(r.brokerOrderId && { brokerOrderId: r.brokerOrderId }) };
    case 'rejected':
      return { type: 'OrderRejected', reason: r.reason ?? 'rejected by broker' };
    case 'fill':
      return { type: 'OrderFilled', executionId: r.executionId, quantity: r.lastQty!, price: r.lastPx! };
    case 'cancelled':
      return { type: 'OrderCancelled' };
    case 'expired':
      return { type: 'OrderExpired' };
    case 'cancel_rejected':
      return { type: 'OrderCancelRejected', reason: r.reason ?? 'cancel rejected' };
    case 'restated':
      return { type: 'OrderRestated', quantity: r.orderQty!, ...(r.reason && { reason: r.reason }) };
  }
}

/** A repeated terminal report (the order already has that status) carries nothing new. */
const TERMINAL_OF: Partial<Record<ExecutionReport['kind'], OrderState['status']>> = {
  rejected: 'rejected',
  cancelled: 'cancelled',
  expired: 'expired',
};

/**
 * Applies one broker execution report in one transaction: the order's state machine, and for a
 * fill the fill row (deduplicated by execution id: a unique index), the position (average cost),
 * a closed-trade record when it realized P&L, the loss-streak circuit breaker and an equity
 * snapshot. Reports may repeat and arrive out of order: fills commute, a late acknowledgement is
 * stale, and an illegal transition is logged and refused, never applied.
 */
export async function applyExecutionReport(
  deps: ExecutionDeps,
  opts: ExecutionOptions,
  tenantId: TenantId,
  r: ExecutionReport,
  now: Date,
): Promise<ReportResult> {
  return withTenant(deps.db, tenantId, async (tx): Promise<ReportResult> => {
    const [row] = await tx
      .select()
      .from(orders)
      .where(and(eq(orders.tenantId, tenantId), eq(orders.clientOrderId, r.clientOrderId)))
      .for('update');
    if (!row) {
      deps.log.warn(
        { tenantId, clientOrderId: r.clientOrderId, kind: r.kind },
        'execution report for an unknown order',
      );
      return { outcome: 'unknown_order' };
    }
    const state = toOrderState(row);
    const event = eventOf(r);
    if (isStale(state, event) || TERMINAL_OF[r.kind] === row.status) return { outcome: 'stale' };

    if (r.kind === 'fill') {
      const inserted = await tx
        .insert(fills)
        .values({
          tenantId,
          orderId: row.id,
          executionId: r.executionId,
          // To the µs when the broker has it (cast from text: a Date parameter keeps ms only).
          ts:
            r.tsEventUs === undefined
              ? r.tsEvent
              : sql<Date>`${isoFromMicros(r.tsEventUs)}::text::timestamptz`,
          symbol: row.symbol,
          side: row.side,
          quantity: r.lastQty!,
          price: r.lastPx!,
          fee: r.fee ?? '0',
          liquidity: r.liquidity ?? null,
        })
        .onConflictDoNothing()
        .returning({ id: fills.id });
      if (inserted.length === 0) return { outcome: 'duplicate' };
    }

    let next: OrderState;
    try {
      next = applyOrderEvent(state, event);
    } catch (err) {
      // Never applied. A fill that cannot be applied (overfill) still rolls back its fill row:
      // reconciliation compares with the broker and halts automation on the mismatch.
      deps.log.error(
        { err, tenantId, orderId: row.id, kind: r.kind, status: row.status },
        'illegal order transition',
      );
      throw illegalReport(asOrderId(row.id));
    }
    const [updated] = await tx
      .update(orders)
      .set({
        status: next.status,
        quantity: next.quantity,
        filledQuantity: next.filledQuantity,
        avgFillPrice: next.avgFillPrice,
        brokerOrderId: row.brokerOrderId ?? r.brokerOrderId,
        rejectReason: next.rejectReason,
        fees: r.kind === 'fill' ? sql`${orders.fees} + ${r.fee ?? '0'}::numeric` : orders.fees,
        version: sql`${orders.version} + 1`,
        updatedAt: now,
      })
      .where(eq(orders.id, row.id))
      .returning();
    let tripped = false;
    if (r.kind === 'fill') tripped = await applyFillToBook(deps, opts, tx, tenantId, row, r, now);
    // A combo leg: the combo's status and net price move with it, in the same transaction.
    if (row.comboId) await syncCombo(tx, tenantId, asComboId(row.comboId), now);
    return { outcome: 'applied', order: toOrderView(updated!), circuitBreakerTripped: tripped };
  }).catch((err: unknown): ReportResult => {
    if (isAppErrorFor(err, ErrorCode.ILLEGAL_TRANSITION, ILLEGAL_REPORT)) return { outcome: 'illegal' };
    throw err;
  });
}

/** A report that changes only the order's state (no fill): what `applyExecutionReports` takes. */
export const isStateOnlyReport = (r: ExecutionReport): boolean => r.kind !== 'fill';

/**
 * Applies a run of reports that change only orders' states (acknowledgements, rejects, cancels,
 * expiries, restatements: no fill) in one transaction: the orders are read and locked with one
 * statement, each report goes through the state machine in memory in arrival order (a second
 * report of the same order sees the first one's result), and the changed orders are written with
 * one statement. Outcomes are the ones `applyExecutionReport` gives each report applied alone, one
 * after another; an illegal report is refused alone (it wrote nothing; the others still apply).
 * The order view comes with the last applied report of each order.
 */
export async function applyExecutionReports(
  deps: Pick<ExecutionDeps, 'db' | 'log'>,
  tenantId: TenantId,
  reports: readonly ExecutionReport[],
  now: Date,
): Promise<ReportResult[]> {
  if (reports.some((r) => !isStateOnlyReport(r)))
    throw new AppError(ErrorCode.INTERNAL, 'applyExecutionReports takes no fills');
  return withTenant(deps.db, tenantId, async (tx) => {
    const ids = [...new Set(reports.map((r) => r.clientOrderId))];
    // Locked in id order: two transactions locking several of a desk's orders cannot deadlock.
    const rows = await tx
      .select()
      .from(orders)
      .where(and(eq(orders.tenantId, tenantId), inArray(orders.clientOrderId, ids)))
      .orderBy(orders.id)
      .for('update');
    const byClientId = new Map(
      rows.map((row) => [
        row.clientOrderId,
        { row, state: toOrderState(row), brokerOrderId: row.brokerOrderId, applied: 0, last: -1 },
      ]),
    );
    const results: ReportResult[] = reports.map((r, i) => {
      const o = byClientId.get(r.clientOrderId);
      if (!o) {
        deps.log.warn(
          { tenantId, clientOrderId: r.clientOrderId, kind: r.kind },
          'execution report for an unknown order',
        );
        return { outcome: 'unknown_order' };
      }
      const event = eventOf(r);
      if (isStale(o.state, event) || TERMINAL_OF[r.kind] === o.state.status) return { outcome: 'stale' };
      try {
        o.state = applyOrderEvent(o.state, event);
      } catch (err) {
        deps.log.error(
          { err, tenantId, orderId: o.row.id, kind: r.kind, status: o.state.status },
          'illegal order transition',
        );
        return { outcome: 'illegal' };
      }
      o.brokerOrderId ??= r.brokerOrderId ?? null;
      o.applied++;
      o.last = i;
      return { outcome: 'applied' };
    });
    const changed = [...byClientId.values()].filter((o) => o.applied > 0);
    if (changed.length === 0) return results;
    const values = changed.map((o) => ({
      id: o.row.id,
      status: o.state.status,
      quantity: o.state.quantity,
      filled_quantity: o.state.filledQuantity,
      avg_fill_price: o.state.avgFillPrice,
      broker_order_id: o.brokerOrderId,
      reject_reason: o.state.rejectReason,
      applied: o.applied,
    }));
    const updated = await tx
      .update(orders)
      .set({
        status: sql`v.status`,
        quantity: sql`v.quantity`,
        filledQuantity: sql`v.filled_quantity`,
        avgFillPrice: sql`v.avg_fill_price`,
        brokerOrderId: sql`v.broker_order_id`,
        rejectReason: sql`v.reject_reason`,
        version: sql`${orders.version} + v.applied`,
        updatedAt: now,
      })
      .from(
        sql`jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as v(id uuid, status text, quantity numeric, filled_quantity numeric, avg_fill_price numeric, broker_order_id text, reject_reason text, applied int)`,
      )
      .where(sql`${orders.id} = v.id`)
      .returning(getTableColumns(orders));
    const views = new Map(updated.map((u) => [u.clientOrderId, toOrderView(u)]));
    // A combo leg: the combo's status and net price move with it, in the same transaction.
    for (const comboId of new Set(changed.map((o) => o.row.comboId).filter((c) => c !== null)))
      await syncCombo(tx, tenantId, asComboId(comboId), now);
    for (const o of changed) {
      const view = views.get(o.row.clientOrderId);
      if (!view) throw new AppError(ErrorCode.INTERNAL, 'order update returned nothing');
      results[o.last] = { outcome: 'applied', order: view, circuitBreakerTripped: false };
    }
    return results;
  });
}

/**
 * A report the order's state machine refuses: thrown to roll the transaction back, caught just
 * above as the `illegal` outcome. An AppError ILLEGAL_TRANSITION with reason `illegal_report`, not
 * a class: the reason keeps it apart from any other ILLEGAL_TRANSITION raised in the transaction,
 * which must still propagate.
 */
const ILLEGAL_REPORT = 'illegal_report';
const illegalReport = (orderId: OrderId) =>
  new AppError(ErrorCode.ILLEGAL_TRANSITION, `illegal transition for order ${orderId}`, {
    reason: ILLEGAL_REPORT,
    orderId,
  });

async function applyFillToBook(
  deps: ExecutionDeps,
  opts: ExecutionOptions,
  tx: Tx,
  tenantId: TenantId,
  order: OrderRow,
  r: ExecutionReport,
  now: Date,
): Promise<boolean> {
  const [pos] = await tx
    .select()
    .from(positions)
    .where(and(eq(positions.tenantId, tenantId), eq(positions.symbol, order.symbol)))
    .for('update');
  const [inst] = await tx.execute<{ multiplier: string }>(
    sql`select multiplier::text as multiplier from instruments where symbol = ${order.symbol}`,
  );
  const multiplier = inst?.multiplier ?? '1';
  const before = pos
    ? {
        symbol: pos.symbol,
        quantity: pos.quantity,
        avgCost: pos.avgCost,
        realizedPnl: pos.realizedPnl,
        fees: pos.fees,
      }
    : flatPosition(order.symbol);
  const effect = applyFill(before, {
    side: order.side,
    quantity: r.lastQty!,
    price: r.lastPx!,
    fee: r.fee ?? '0',
    multiplier,
  });
  const was = dec(before.quantity);
  const is = dec(effect.position.quantity);
  // Opened from flat or flipped through zero: a new position starts now; flat: none.
  const openedAt = is.isZero()
    ? null
    : was.isZero() || was.isPos() !== is.isPos()
      ? r.tsEvent
      : (pos?.openedAt ?? r.tsEvent);
  await tx
    .insert(positions)
    .values({ tenantId, ...effect.position, openedAt, updatedAt: now })
    .onConflictDoUpdate({
      target: [positions.tenantId, positions.symbol],
      set: {
        quantity: effect.position.quantity,
        avgCost: effect.position.avgCost,
        realizedPnl: effect.position.realizedPnl,
        fees: effect.position.fees,
        openedAt,
        updatedAt: now,
      },
    });

  let tripped = false;
  if (!dec(effect.closedQuantity).isZero()) {
    // A closing fill is a closed trade: its P&L net of this fill's fee feeds the circuit breaker.
    const pnl = dec(effect.realized).minus(dec(r.fee ?? '0'));
    await tx.insert(tradeOutcomes).values({
      tenantId,
      proposalId: order.proposalId,
      symbol: order.symbol,
      side: was.isPos() ? 'buy' : 'sell',
      quantity: effect.closedQuantity,
      entryPrice: before.avgCost,
      exitPrice: r.lastPx!,
      pnl: decStr(pnl),
      openedAt: pos?.openedAt ?? r.tsEvent,
      closedAt: r.tsEvent,
    });
    tripped = await tripCircuitBreakerIfStreak(tx, tenantId, order.symbol);
  }
  const valuation = await valueDesk(tx, tenantId, deps.quotes, opts.startingCapital, now);
  await writeEquitySnapshot(tx, tenantId, valuation, 'fill', now);
  return tripped;
}

/**
 * After N consecutive losing trades each worse than the threshold, automated trading stops for
 * the desk (agent_settings.automation_enabled = false) until a person re-enables it; audited.
 */
async function tripCircuitBreakerIfStreak(tx: Tx, tenantId: TenantId, symbol: string): Promise<boolean> {
  const limits = await loadLimits(tx, tenantId, symbol);
  const count = limits.lossStreakCount;
  const threshold = limits.lossStreakThreshold;
  // Null only when a desk admin removed the streak limit (limits.ts): nothing to trip on.
  if (count === null || threshold === null) return false;
  const recent = await tx
    .select({ pnl: tradeOutcomes.pnl })
    .from(tradeOutcomes)
    .where(eq(tradeOutcomes.tenantId, tenantId))
    .orderBy(desc(tradeOutcomes.closedAt), desc(tradeOutcomes.createdAt))
    .limit(Math.max(1, count));
  if (
    !isLossStreak(
      recent.map((x) => x.pnl),
      count,
      threshold,
    )
  )
    return false;
  const [current] = await tx
    .select({ enabled: agentSettings.automationEnabled })
    .from(agentSettings)
    .where(eq(agentSettings.tenantId, tenantId));
  if (current && !current.enabled) return false;
  const reason = `circuit breaker: ${count} consecutive losses worse than ${threshold}`;
  await tx
    .insert(agentSettings)
    .values({ tenantId, automationEnabled: false, automationDisabledReason: reason })
    .onConflictDoUpdate({
      target: agentSettings.tenantId,
      set: { automationEnabled: false, automationDisabledReason: reason, updatedAt: sql`now()` },
    });
  await recordAudit(tx, {
    action: 'risk.circuit_breaker',
    actor: { type: 'system', id: 'execution' },
    targetType: 'desk',
    targetId: tenantId,
    outcome: 'ok',
    payload: { count, threshold, pnls: recent.map((x) => x.pnl) },
    details: reason,
  });
  return true;
}
