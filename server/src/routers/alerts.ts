import { alertEndpoints } from '@aegis/shared/db';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import {
  alertFeedItem,
  alertListView,
  alertSettingsView,
  createdEndpointView,
  createEndpointInput,
  deliveriesInput,
  deliveryAttemptView,
  endpointIdInput,
  endpointView,
  listAlertsInput,
  markAlertsReadInput,
  updateAlertSettingsInput,
  updateEndpointInput,
} from '@aegis/shared/schemas/alerts';
import { tracked } from '@trpc/server';
import { and, count, eq } from 'drizzle-orm';
import { z } from 'zod';
import { ALERT_DELIVERY_CHANNEL, alertFeedChannel } from '../alerts/channels.ts';
import { bindingOf } from '../alerts/delivery-sender.ts';
import { alertTargetPolicy } from '../alerts/runtime.ts';
import { newWebhookSecret } from '../alerts/signature.ts';
import {
  endpointViewOf,
  enqueueTestDelivery,
  latestEvent,
  listAlertEvents,
  listAttempts,
  listEndpoints,
  markRead,
  readAlertSettings,
  unreadCount,
  upsertAlertSettings,
} from '../alerts/store.ts';
import { checkTargetUrl, isTargetRefused } from '../alerts/target-guard.ts';
import { record as recordAudit } from '../audit/service.ts';
import { tokenCryptoOf } from '../auth/oauth/crypto-registry.ts';
import { sealOrRefuse } from '../auth/oauth/link-service.ts';
import { actorOf } from '../auth/principal.ts';
import { type Tx, withTenant } from '../db/database.ts';
import { openChannelFeed } from '../signals/channel-feed.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { liveStreamInput } from './execution-context.ts';

/**
 * Desk alerts: every member reads the desk's notifications and marks them read (per person);
 * desk admins configure the webhook endpoints and the thresholds (the matrix's rule for desk
 * configuration by admins, `agent.configure`). docs/alerts.md.
 */

const MAX_ENDPOINTS_PER_DESK = 10;
const READ = { scope: 'read', permission: 'desk.read' } as const;
const CONFIGURE = { scope: 'admin', permission: 'alerts.manage' } as const;

async function endpointRow(tx: Tx, tenantId: TenantId, id: string) {
  const [row] = await tx
    .select()
    .from(alertEndpoints)
    .where(and(eq(alertEndpoints.tenantId, tenantId), eq(alertEndpoints.id, id)));
  if (!row) throw new AppError(ErrorCode.NOT_FOUND, 'no such endpoint');
  return row;
}

export const alertsRouter = createTRPCRouter({
  list: deskProcedure
    .meta(READ)
    .input(listAlertsInput.default({ unreadOnly: false, limit: 50 }))
    .output(alertListView)
    .query(async ({ ctx, input }) => ({
      events: await listAlertEvents(ctx.tx, ctx.desk.id, ctx.principal.user.id, input),
      unread: await unreadCount(ctx.tx, ctx.desk.id, ctx.principal.user.id),
    })),

  /** Marks events read for the caller (not for the rest of the desk). */
  markRead: deskProcedure
    .meta(READ)
    .input(markAlertsReadInput)
    .output(z.object({ marked: z.number().int(), unread: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      const marked = await markRead(ctx.tx, ctx.desk.id, ctx.principal.user.id, input);
      const unread = await unreadCount(ctx.tx, ctx.desk.id, ctx.principal.user.id);
      await ctx.bus.publish(alertFeedChannel(ctx.desk.id), JSON.stringify({ read: ctx.principal.user.id }));
      return { marked, unread };
    }),

  /** Live (SSE): the unread count and newest event now, then after every change. */
  feed: deskProcedure
    .meta(READ)
    .input(liveStreamInput)
    .subscription(async function* ({ ctx, signal }) {
      const feed = await openChannelFeed(ctx.bus, alertFeedChannel(ctx.desk.id), { signal });
      const userId = ctx.principal.user.id;
      const snapshot = () =>
        withTenant(ctx.db, ctx.desk.id, async (tx) =>
          alertFeedItem.parse({
            unread: await unreadCount(tx, ctx.desk.id, userId),
            latest: await latestEvent(tx, ctx.desk.id, userId),
          }),
        );
      try {
        let seq = 0;
        yield tracked(String(seq++), await snapshot());
        for await (const _ of feed) yield tracked(String(seq++), await snapshot());
      } finally {
        await feed.close();
      }
    }),

  settings: deskProcedure
    .meta(READ)
    .input(z.strictObject({}).default({}))
    .output(alertSettingsView)
    .query(({ ctx }) => readAlertSettings(ctx.tx, ctx.desk.id)),

  updateSettings: deskProcedure
    .meta(CONFIGURE)
    .input(updateAlertSettingsInput)
    .output(alertSettingsView)
    .mutation(async ({ ctx, input }) => {
      const { before, after } = await upsertAlertSettings(ctx.tx, ctx.desk.id, input, ctx.principal.user.id);
      await recordAudit(ctx.tx, {
        action: 'alerts.settings',
        actor: actorOf(ctx.principal),
        targetType: 'desk',
        targetId: ctx.desk.id,
        requestId: ctx.requestId,
        payload: { before, after },
        details: `alerts: proposals wait ${after.proposalWaitMinutes} min, daily loss warns at ${after.dailyLossWarnPct}%`,
      });
      return after;
    }),

  endpoints: deskProcedure
    .meta(CONFIGURE)
    .input(z.strictObject({}).default({}))
    .output(z.array(endpointView))
    .query(({ ctx }) => listEndpoints(ctx.tx, ctx.desk.id)),

  /** Creates an endpoint; the answer carries its signing secret, shown this once. */
  createEndpoint: deskProcedure
    .meta(CONFIGURE)
    .input(createEndpointInput)
    .output(createdEndpointView)
    .mutation(async ({ ctx, input }) => {
      try {
        checkTargetUrl(input.url, alertTargetPolicy());
      } catch (err) {
        if (isTargetRefused(err))
          throw new AppError(ErrorCode.BAD_INPUT, `url: ${err.message}`, { ...err.details }, { cause: err });
        throw err;
      }
      const [n] = await ctx.tx
        .select({ n: count() })
        .from(alertEndpoints)
        .where(eq(alertEndpoints.tenantId, ctx.desk.id));
      if ((n?.n ?? 0) >= MAX_ENDPOINTS_PER_DESK)
        throw new AppError(ErrorCode.CONFLICT, `a desk has at most ${MAX_ENDPOINTS_PER_DESK} endpoints`);
      const id = crypto.randomUUID();
      const secret = newWebhookSecret();
      const sealed = sealOrRefuse(tokenCryptoOf(ctx.config), secret, bindingOf(ctx.desk.id, id));
      const [row] = await ctx.tx
        .insert(alertEndpoints)
        .values({
          id,
          tenantId: ctx.desk.id,
          name: input.name,
          url: input.url,
          format: input.format,
          events: [...new Set(input.events)],
          secretSealed: sealed,
          createdBy: ctx.principal.user.id,
        })
        .returning();
      const view = endpointViewOf(row!);
      await recordAudit(ctx.tx, {
        action: 'alerts.endpoint.create',
        actor: actorOf(ctx.principal),
        targetType: 'alert_endpoint',
        targetId: id,
        requestId: ctx.requestId,
        payload: { name: view.name, target: view.target, format: view.format, events: view.events },
        details: `webhook endpoint "${view.name}" (${view.target}, ${view.format}) created`,
      });
      return { endpoint: view, secret };
    }),

  updateEndpoint: deskProcedure
    .meta(CONFIGURE)
    .input(updateEndpointInput)
    .output(endpointView)
    .mutation(async ({ ctx, input }) => {
      const before = await endpointRow(ctx.tx, ctx.desk.id, input.endpointId);
      const [row] = await ctx.tx
        .update(alertEndpoints)
        .set({
          ...(input.name !== undefined && { name: input.name }),
          ...(input.events !== undefined && { events: [...new Set(input.events)] }),
          ...(input.enabled !== undefined && { enabled: input.enabled }),
          updatedAt: new Date(),
        })
        .where(and(eq(alertEndpoints.tenantId, ctx.desk.id), eq(alertEndpoints.id, input.endpointId)))
        .returning();
      const view = endpointViewOf(row!);
      await recordAudit(ctx.tx, {
        action: 'alerts.endpoint.update',
        actor: actorOf(ctx.principal),
        targetType: 'alert_endpoint',
        targetId: input.endpointId,
        requestId: ctx.requestId,
        payload: {
          before: { name: before.name, events: before.events, enabled: before.enabled },
          after: { name: view.name, events: view.events, enabled: view.enabled },
        },
        details: `webhook endpoint "${view.name}" updated`,
      });
      return view;
    }),

  deleteEndpoint: deskProcedure
    .meta(CONFIGURE)
    .input(endpointIdInput)
    .output(z.object({ deleted: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const row = await endpointRow(ctx.tx, ctx.desk.id, input.endpointId);
      await ctx.tx
        .delete(alertEndpoints)
        .where(and(eq(alertEndpoints.tenantId, ctx.desk.id), eq(alertEndpoints.id, input.endpointId)));
      await recordAudit(ctx.tx, {
        action: 'alerts.endpoint.delete',
        actor: actorOf(ctx.principal),
        targetType: 'alert_endpoint',
        targetId: input.endpointId,
        requestId: ctx.requestId,
        details: `webhook endpoint "${row.name}" deleted`,
      });
      return { deleted: true };
    }),

  /** Queues a `test` event to one endpoint; its attempts appear in the delivery log. */
  sendTest: deskProcedure
    .meta(CONFIGURE)
    .input(endpointIdInput)
    .output(z.object({ deliveryId: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      const row = await endpointRow(ctx.tx, ctx.desk.id, input.endpointId);
      if (!row.enabled) throw new AppError(ErrorCode.PRECONDITION_FAILED, 'the endpoint is disabled');
      const deliveryId = await enqueueTestDelivery(ctx.tx, ctx.desk.id, input.endpointId);
      // The sender claims only committed rows; the nudge may arrive first, so its poll still finds it.
      await ctx.bus.publish(ALERT_DELIVERY_CHANNEL, '{}');
      return { deliveryId };
    }),

  /** The endpoint's delivery log, newest first (the last 50 attempts are kept). */
  deliveries: deskProcedure
    .meta(CONFIGURE)
    .input(deliveriesInput)
    .output(z.array(deliveryAttemptView))
    .query(async ({ ctx, input }) => {
      await endpointRow(ctx.tx, ctx.desk.id, input.endpointId);
      return listAttempts(ctx.tx, ctx.desk.id, input.endpointId, input.limit);
    }),
});
