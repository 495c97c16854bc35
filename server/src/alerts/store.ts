import {
  alertDeliveries,
  alertDeliveryAttempts,
  alertEndpoints,
  alertEvents,
  alertSettings,
  tenants,
} from '@aegis/shared/db';
import type { TenantId, UserId } from '@aegis/shared/ids';
import type {
  AlertEventView,
  AlertKind,
  DeliveryAttemptView,
  EndpointView,
} from '@aegis/shared/schemas/alerts';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import type { AlertPayload } from './payload.ts';

/**
 * Rows of the alert tables, read and written inside a desk transaction (RLS applies).
 */

export interface NewAlertEvent {
  readonly kind: AlertKind;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly title: string;
  readonly body: string;
  readonly data?: Record<string, unknown>;
  /** What caused it (`audit:<id>`, `fill:<id>`, `proposal:<id>`, `daily_loss:<day>`): written once. */
  readonly sourceKey: string;
}

export const DEFAULT_ALERT_SETTINGS = Object.freeze({ proposalWaitMinutes: 15, dailyLossWarnPct: 80 });

export function payloadOf(
  row: typeof alertEvents.$inferSelect,
  desk: { id: string; name: string },
): AlertPayload {
  return {
    id: `evt_${row.id}`,
    kind: row.kind,
    severity: row.severity,
    desk,
    title: row.title,
    body: row.body,
    data: row.data,
    createdAt: row.createdAt.toISOString(),
  };
}

async function deskOf(tx: Tx, tenantId: TenantId): Promise<{ id: string; name: string }> {
  const [t] = await tx
    .select({ id: tenants.id, name: tenants.name })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  return t ?? { id: tenantId, name: tenantId };
}

/**
 * Writes the event unless its cause was recorded already (by this or another server process),
 * and in the same transaction one delivery per enabled endpoint of the desk that wants its kind.
 * Returns the new event's id, or null when it existed.
 */
export async function recordAlertEvent(tx: Tx, tenantId: TenantId, e: NewAlertEvent): Promise<number | null> {
  const [row] = await tx
    .insert(alertEvents)
    .values({
      tenantId,
      kind: e.kind,
      severity: e.severity,
      title: e.title,
      body: e.body,
      data: e.data ?? {},
      sourceKey: e.sourceKey,
    })
    .onConflictDoNothing({ target: [alertEvents.tenantId, alertEvents.sourceKey] })
    .returning();
  if (!row) return null;
  const payload = payloadOf(row, await deskOf(tx, tenantId));
  await tx.execute(sql`
    insert into alert_deliveries (tenant_id, endpoint_id, event_id, kind, payload)
    select ${tenantId}::uuid, e.id, ${row.id}, ${row.kind}, ${JSON.stringify(payload)}::jsonb
      from alert_endpoints e
     where e.tenant_id = ${tenantId}::uuid and e.enabled and ${row.kind} = any(e.events)
    on conflict (endpoint_id, event_id) do nothing`);
  return row.id;
}

/** A test delivery to one endpoint (no notification-centre event). */
export async function enqueueTestDelivery(tx: Tx, tenantId: TenantId, endpointId: string): Promise<number> {
  const desk = await deskOf(tx, tenantId);
  const now = new Date();
  const payload: AlertPayload = {
    id: `evt_test_${now.getTime()}`,
    kind: 'test',
    severity: 'info',
    desk,
    title: 'Test event',
    body: 'A test event from the Aegis console: this endpoint is reachable and verifies signatures.',
    data: {},
    createdAt: now.toISOString(),
  };
  const [row] = await tx
    .insert(alertDeliveries)
    .values({ tenantId, endpointId, eventId: null, kind: 'test', payload: { ...payload } })
    .returning({ id: alertDeliveries.id });
  return row!.id;
}

export function eventView(row: typeof alertEvents.$inferSelect, read: boolean): AlertEventView {
  return {
    id: row.id,
    kind: row.kind,
    severity: row.severity,
    title: row.title,
    body: row.body,
    data: row.data,
    createdAt: row.createdAt.toISOString(),
    read,
  };
}

export async function listAlertEvents(
  tx: Tx,
  tenantId: TenantId,
  userId: UserId,
  q: { unreadOnly: boolean; limit: number; beforeId?: number | undefined },
): Promise<AlertEventView[]> {
  const readSub = sql<boolean>`exists (select 1 from alert_reads r where r.user_id = ${userId}::uuid and r.event_id = ${alertEvents.id})`;
  const rows = await tx
    .select({ e: alertEvents, read: readSub })
    .from(alertEvents)
    .where(
      and(
        eq(alertEvents.tenantId, tenantId),
        q.beforeId === undefined ? undefined : lt(alertEvents.id, q.beforeId),
        q.unreadOnly ? sql`not ${readSub}` : undefined,
      ),
    )
    .orderBy(desc(alertEvents.id))
    .limit(q.limit);
  return rows.map((r) => eventView(r.e, r.read));
}

export async function unreadCount(tx: Tx, tenantId: TenantId, userId: UserId): Promise<number> {
  const [r] = await tx.execute<{ n: number }>(sql`
    select count(*)::int as n from alert_events e
     where e.tenant_id = ${tenantId}::uuid
       and not exists (select 1 from alert_reads r where r.user_id = ${userId}::uuid and r.event_id = e.id)`);
  return r?.n ?? 0;
}

export async function latestEvent(
  tx: Tx,
  tenantId: TenantId,
  userId: UserId,
): Promise<AlertEventView | null> {
  const [first] = await listAlertEvents(tx, tenantId, userId, { unreadOnly: false, limit: 1 });
  return first ?? null;
}

export async function markRead(
  tx: Tx,
  tenantId: TenantId,
  userId: UserId,
  which: { ids?: number[] | undefined; all?: true | undefined },
): Promise<number> {
  const rows =
    which.all || !which.ids
      ? await tx.execute(sql`
          insert into alert_reads (tenant_id, user_id, event_id)
          select ${tenantId}::uuid, ${userId}::uuid, e.id from alert_events e where e.tenant_id = ${tenantId}::uuid
          on conflict do nothing returning event_id`)
      : await tx.execute(sql`
          insert into alert_reads (tenant_id, user_id, event_id)
          select ${tenantId}::uuid, ${userId}::uuid, e.id from alert_events e
           where e.tenant_id = ${tenantId}::uuid and e.id = any(${`{${which.ids.join(',')}}`}::bigint[])
          on conflict do nothing returning event_id`);
  return rows.length;
}

export async function readAlertSettings(tx: Tx, tenantId: TenantId) {
  const [row] = await tx.select().from(alertSettings).where(eq(alertSettings.tenantId, tenantId));
  return {
    proposalWaitMinutes: row?.proposalWaitMinutes ?? DEFAULT_ALERT_SETTINGS.proposalWaitMinutes,
    dailyLossWarnPct: row?.dailyLossWarnPct ?? DEFAULT_ALERT_SETTINGS.dailyLossWarnPct,
    updatedAt: row?.updatedAt.toISOString() ?? null,
  };
}

export async function upsertAlertSettings(
  tx: Tx,
  tenantId: TenantId,
  patch: { proposalWaitMinutes?: number | undefined; dailyLossWarnPct?: number | undefined },
  userId: UserId,
) {
  const current = await readAlertSettings(tx, tenantId);
  const next = {
    proposalWaitMinutes: patch.proposalWaitMinutes ?? current.proposalWaitMinutes,
    dailyLossWarnPct: patch.dailyLossWarnPct ?? current.dailyLossWarnPct,
  };
  const now = new Date();
  await tx
    .insert(alertSettings)
    .values({ tenantId, ...next, updatedBy: userId, updatedAt: now })
    .onConflictDoUpdate({
      target: alertSettings.tenantId,
      set: { ...next, updatedBy: userId, updatedAt: now },
    });
  return { before: current, after: { ...next, updatedAt: now.toISOString() } };
}

/** Scheme, host and port: what the console shows of a target (a chat webhook's path is a credential). */
export function targetLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(invalid)';
  }
}

export async function listEndpoints(tx: Tx, tenantId: TenantId): Promise<EndpointView[]> {
  const rows = await tx
    .select()
    .from(alertEndpoints)
    .where(eq(alertEndpoints.tenantId, tenantId))
    .orderBy(alertEndpoints.createdAt);
  const last = await tx.execute<{
    endpoint_id: string;
    outcome: string;
    status_code: number | null;
    created_at: string;
  }>(sql`
    select distinct on (endpoint_id) endpoint_id, outcome, status_code, created_at::text
      from alert_delivery_attempts where tenant_id = ${tenantId}::uuid
     order by endpoint_id, id desc`);
  const byEndpoint = new Map(last.map((l) => [l.endpoint_id, l]));
  return rows.map((r) => endpointViewOf(r, byEndpoint.get(r.id)));
}

export function endpointViewOf(
  r: typeof alertEndpoints.$inferSelect,
  last?: { outcome: string; status_code: number | null; created_at: string } | undefined,
): EndpointView {
  return {
    id: r.id,
    name: r.name,
    target: targetLabel(r.url),
    format: r.format,
    events: r.events as AlertKind[],
    enabled: r.enabled,
    createdAt: r.createdAt.toISOString(),
    lastDelivery: last
      ? {
          outcome: last.outcome as 'delivered' | 'retry' | 'dead',
          statusCode: last.status_code,
          at: new Date(last.created_at).toISOString(),
        }
      : null,
  };
}

export async function listAttempts(
  tx: Tx,
  tenantId: TenantId,
  endpointId: string,
  limit: number,
): Promise<DeliveryAttemptView[]> {
  const rows = await tx
    .select()
    .from(alertDeliveryAttempts)
    .where(
      and(eq(alertDeliveryAttempts.tenantId, tenantId), eq(alertDeliveryAttempts.endpointId, endpointId)),
    )
    .orderBy(desc(alertDeliveryAttempts.id))
    .limit(limit);
  return rows.map((r) => ({
    id: r.id,
    deliveryId: r.deliveryId,
    kind: r.kind,
    attempt: r.attempt,
    outcome: r.outcome,
    statusCode: r.statusCode,
    latencyMs: r.latencyMs,
    error: r.error,
    createdAt: r.createdAt.toISOString(),
  }));
}
