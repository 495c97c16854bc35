import { bigint, index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { ORDER_STATUSES } from '../../orders/statuses.ts';
import { decimal, tenantId, tstz } from './columns.ts';

/**
 * An order's timeline: one row per status change or change of the filled quantity, written by
 * a trigger on `orders` (drizzle/0025_order_events.sql) in the transaction that made the change.
 * Append-only for the application role.
 */
export const orderEvents = pgTable(
  'order_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    orderId: uuid('order_id').notNull(),
    ts: tstz('ts').notNull(),
    fromStatus: text('from_status', { enum: ORDER_STATUSES }),
    toStatus: text('to_status', { enum: ORDER_STATUSES }).notNull(),
    filledQuantity: decimal('filled_quantity').notNull(),
    rejectReason: text('reject_reason'),
  },
  (t) => [index('order_events_order_idx').on(t.tenantId, t.orderId, t.id)],
);
