import { sql } from 'drizzle-orm';
import { boolean, doublePrecision, index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, decimal, pkId, updatedAt } from './columns.ts';
import { deskTenantId, tenants } from './identity.ts';

/**
 * The delta-neutral hedger (migration 0020, server/src/hedging/): its settings per desk and
 * what it did. Both under RLS by desk.
 */

export interface HedgeTargetRow {
  readonly underlying: string;
  readonly hedgeSymbol: string;
  /** Decimal string, delta units. */
  readonly band: string;
}

export const hedgeSettings = pgTable('hedge_settings', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled').notNull().default(false),
  targets: jsonb('targets').$type<HedgeTargetRow[]>().notNull().default(sql`'[]'::jsonb`),
  updatedBy: uuid('updated_by'),
  updatedAt: updatedAt(),
});

export const hedgeActions = pgTable(
  'hedge_actions',
  {
    id: pkId(),
    tenantId: deskTenantId(),
    underlying: text('underlying').notNull(),
    hedgeSymbol: text('hedge_symbol').notNull(),
    netDeltaBefore: doublePrecision('net_delta_before').notNull(),
    band: decimal('band').notNull(),
    action: text('action', { enum: ['none', 'proposed', 'placed', 'skipped'] }).notNull(),
    side: text('side', { enum: ['buy', 'sell'] }),
    quantity: decimal('quantity'),
    reason: text('reason').notNull(),
    proposalId: uuid('proposal_id'),
    orderId: uuid('order_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    createdAt: createdAt(),
  },
  (t) => [
    index('hedge_actions_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('hedge_actions_tenant_underlying_idx').on(t.tenantId, t.underlying, t.createdAt),
  ],
);
