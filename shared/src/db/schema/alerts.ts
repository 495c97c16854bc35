import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { ALERT_KINDS, ALERT_SEVERITIES, DELIVERY_STATUSES, WEBHOOK_FORMATS } from '../../schemas/alerts.ts';
import { createdAt, pkId, tstz, updatedAt } from './columns.ts';
import { deskTenantId, ownerUserId, tenants } from './identity.ts';

/**
 * Desk alerts (migration 0024, server/src/alerts/): events for the notification centre, webhook
 * endpoints, the durable delivery queue and its attempt log. All under RLS by desk; the delivery
 * queue is also visible without a desk so any server process can claim due rows.
 */

export const alertSettings = pgTable('alert_settings', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  proposalWaitMinutes: integer('proposal_wait_minutes').notNull().default(15),
  dailyLossWarnPct: integer('daily_loss_warn_pct').notNull().default(80),
  updatedBy: uuid('updated_by'),
  updatedAt: updatedAt(),
});

export const alertEvents = pgTable(
  'alert_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: deskTenantId(),
    kind: text('kind', { enum: ALERT_KINDS }).notNull(),
    severity: text('severity', { enum: ALERT_SEVERITIES }).notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    sourceKey: text('source_key').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('alert_events_tenant_id_source_key_key').on(t.tenantId, t.sourceKey),
    index('alert_events_tenant_id_idx').on(t.tenantId, t.id.desc()),
  ],
);

export const alertReads = pgTable(
  'alert_reads',
  {
    tenantId: deskTenantId(),
    userId: ownerUserId(),
    eventId: bigint('event_id', { mode: 'number' })
      .notNull()
      .references(() => alertEvents.id, { onDelete: 'cascade' }),
    readAt: tstz('read_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.eventId] })],
);

export const alertEndpoints = pgTable(
  'alert_endpoints',
  {
    id: pkId(),
    tenantId: deskTenantId(),
    name: text('name').notNull(),
    url: text('url').notNull(),
    format: text('format', { enum: WEBHOOK_FORMATS }).notNull(),
    events: text('events').array().notNull(),
    /** The signing secret sealed with the token crypto (bound to desk and row); never returned. */
    secretSealed: text('secret_sealed').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('alert_endpoints_tenant_idx').on(t.tenantId)],
);

export const alertDeliveries = pgTable(
  'alert_deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: deskTenantId(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => alertEndpoints.id, { onDelete: 'cascade' }),
    eventId: bigint('event_id', { mode: 'number' }).references(() => alertEvents.id, {
      onDelete: 'cascade',
    }),
    kind: text('kind').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: tstz('next_attempt_at').notNull().defaultNow(),
    leaseUntil: tstz('lease_until'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('alert_deliveries_endpoint_id_event_id_key').on(t.endpointId, t.eventId),
    index('alert_deliveries_due_idx').on(t.nextAttemptAt).where(sql`status IN ('pending', 'sending')`),
  ],
);

export const alertDeliveryAttempts = pgTable(
  'alert_delivery_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: deskTenantId(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => alertEndpoints.id, { onDelete: 'cascade' }),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => alertDeliveries.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    attempt: integer('attempt').notNull(),
    outcome: text('outcome', { enum: ['delivered', 'retry', 'dead'] }).notNull(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
    createdAt: createdAt(),
  },
  (t) => [index('alert_delivery_attempts_endpoint_idx').on(t.endpointId, t.id.desc())],
);
