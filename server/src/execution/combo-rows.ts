import { dec } from '@aegis/shared/accounting/decimal';
import { combos, orders } from '@aegis/shared/db';
import { asComboId, type ComboId, type TenantId } from '@aegis/shared/ids';
import { comboStateOf } from '@aegis/shared/orders/combo';
import type { ComboView } from '@aegis/shared/schemas/combo';
import type { RuleVerdictView } from '@aegis/shared/schemas/order';
import { and, asc, eq, gt, inArray, ne, type SQL, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import { norm, type OrderRow, toOrderView } from './order-rows.ts';

/**
 * Combo rows in the books: the combo (table `combos`) and its legs (orders rows with `combo_id`
 * and `leg_ratio`). The combo's status, filled quantity and net price are derived from its legs
 * (shared/src/orders/combo.ts) in the transaction that changed a leg, so they never disagree.
 */
export type ComboRow = typeof combos.$inferSelect;

/** A combo read from its own table: its id is known to be a combo id (shared/src/ids.ts). */
export type BrandedComboView = ComboView & { readonly id: ComboId };

/** A leg's client order id: the combo's with its position, deterministic like the combo's. */
export const comboLegClientOrderId = (comboClientOrderId: string, index: number) =>
  `${comboClientOrderId}L${index + 1}`;

export function toComboView(c: ComboRow, legs: readonly OrderRow[]): BrandedComboView {
  return {
    id: asComboId(c.id),
    clientOrderId: c.clientOrderId,
    strategy: c.strategy,
    status: c.status,
    quantity: norm(c.quantity),
    orderType: c.orderType,
    netLimitPrice: c.netLimitPrice === null ? null : norm(c.netLimitPrice),
    filledQuantity: norm(c.filledQuantity),
    avgNetPrice: c.avgNetPrice === null ? null : norm(c.avgNetPrice),
    maxLoss: c.maxLoss === null ? null : norm(c.maxLoss),
    denial: (c.denial as RuleVerdictView[] | null) ?? null,
    proposalId: c.proposalId,
    legs: legs.map((l) => ({ ...toOrderView(l), ratio: l.legRatio ?? 1 })),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

/** The legs of a combo in their placement order (client order ids end in L1, L2 …). */
export async function comboLegs(
  tx: Tx,
  tenantId: TenantId,
  comboId: ComboId,
  lock = false,
): Promise<OrderRow[]> {
  const where = and(eq(orders.tenantId, tenantId), eq(orders.comboId, comboId));
  if (!lock) return tx.select().from(orders).where(where).orderBy(asc(orders.clientOrderId));
  // Locked in id order, as every transaction that locks several orders does (no deadlock
  // between them); handed back in leg order.
  const rows = await tx.select().from(orders).where(where).orderBy(asc(orders.id)).for('update');
  return rows.sort((a, b) =>
    a.clientOrderId < b.clientOrderId ? -1 : a.clientOrderId > b.clientOrderId ? 1 : 0,
  );
}

/** The legs of several combos, each combo's in placement order. */
export async function legsOfCombos(
  tx: Tx,
  tenantId: TenantId,
  comboIds: readonly ComboId[],
): Promise<OrderRow[]> {
  return tx
    .select()
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), inArray(orders.comboId, [...comboIds])))
    .orderBy(asc(orders.clientOrderId));
}

/** The desk's combos sent after `since` (denied ones were never sent): the throttle's and the duplicate guard's. */
export const combosSentSince = (tenantId: TenantId, since: Date): SQL =>
  and(eq(combos.tenantId, tenantId), ne(combos.status, 'denied'), gt(combos.createdAt, since))!;

export async function loadCombo(
  tx: Tx,
  tenantId: TenantId,
  comboId: ComboId,
  lock = false,
): Promise<{ combo: ComboRow; legs: OrderRow[] } | null> {
  // Locks are taken legs first, then the combo, everywhere (a report locks its leg, then the
  // combo in syncCombo), so a cancel and a report never wait on each other in a cycle.
  const legs = await comboLegs(tx, tenantId, comboId, lock);
  const q = tx
    .select()
    .from(combos)
    .where(and(eq(combos.tenantId, tenantId), eq(combos.id, comboId)));
  const [combo] = lock ? await q.for('update') : await q;
  if (!combo) return null;
  return { combo, legs };
}

/**
 * Brings the combo's status, filled quantity and average net price in line with its legs (in
 * the caller's transaction, after a leg changed). Returns the combo as it is now.
 */
export async function syncCombo(
  tx: Tx,
  tenantId: TenantId,
  comboId: ComboId,
  now: Date,
): Promise<BrandedComboView | null> {
  // The combo row is locked before its legs are read: two legs changed in concurrent
  // transactions then read each other's committed state, and the last one sets the status.
  const [combo] = await tx
    .select()
    .from(combos)
    .where(and(eq(combos.tenantId, tenantId), eq(combos.id, comboId)))
    .for('update');
  if (!combo) return null;
  const legs = await comboLegs(tx, tenantId, comboId);
  const s = comboStateOf(
    legs.map((l) => ({
      status: l.status,
      ratio: l.legRatio ?? 1,
      quantity: norm(l.quantity),
      filledQuantity: norm(l.filledQuantity),
      side: l.side,
      avgFillPrice: l.avgFillPrice === null ? null : norm(l.avgFillPrice),
    })),
  );
  const same =
    s.status === combo.status &&
    dec(s.filledQuantity).eq(dec(combo.filledQuantity)) &&
    (s.avgNetPrice === null
      ? combo.avgNetPrice === null
      : combo.avgNetPrice !== null && dec(s.avgNetPrice).eq(dec(combo.avgNetPrice)));
  if (same) return toComboView(combo, legs);
  const [updated] = await tx
    .update(combos)
    .set({
      status: s.status,
      filledQuantity: s.filledQuantity,
      avgNetPrice: s.avgNetPrice,
      version: sql`${combos.version} + 1`,
      updatedAt: now,
    })
    .where(eq(combos.id, comboId))
    .returning();
  return toComboView(updated!, legs);
}
