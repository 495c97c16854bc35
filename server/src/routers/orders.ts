import { orders } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { asOrderId, comboIdSchema, orderIdSchema } from '@aegis/shared/ids';
import { comboCheckView, comboView, listCombosInput, placeComboInput } from '@aegis/shared/schemas/combo';
import {
  fillView,
  idempotencyKey,
  listOrdersInput,
  orderView,
  placeOrderInput,
} from '@aegis/shared/schemas/order';
import { tracked } from '@trpc/server';
import { and, asc, eq, gt, or } from 'drizzle-orm';
import { z } from 'zod';
import { actorOf } from '../auth/principal.ts';
import { withTenant } from '../db/database.ts';
import { getCombo, listCombos } from '../execution/combo-service.ts';
import { toOrderView } from '../execution/order-rows.ts';
import { getOrderWithFills, listOrders } from '../execution/queries.ts';
import { orderUpdatesChannel } from '../execution/types.ts';
import { instrumentRegistryOf } from '../market/instrument-registry.ts';
import { openChannelFeed } from '../signals/channel-feed.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf, liveStreamInput } from './execution-context.ts';
import { orderDetailProcedure } from './order-detail.ts';

/**
 * Orders: thin procedures over the execution service. `place` needs an idempotency key (scoped
 * to desk, principal and procedure): a retry with the same key and order returns the same order,
 * a different order under the same key is a CONFLICT. A governor denial is not an error: the
 * order comes back `denied` with every rule's verdict.
 */
export const ordersRouter = createTRPCRouter({
  place: deskProcedure
    // The group commit is the order's transaction: no request transaction waits idle beside it.
    .meta({ scope: 'trade', permission: 'orders.place', ownTransactions: true })
    .input(z.strictObject({ idempotencyKey, order: placeOrderInput }))
    .output(orderView)
    .mutation(async ({ ctx, input }) => {
      // Refused at the edge with the closest symbols (risk-context still refuses as a backstop).
      await instrumentRegistryOf(ctx.db).require(input.order.symbol, 'order.symbol');
      return executionOf(ctx).orders.place({
        tenantId: ctx.desk.id,
        actor: actorOf(ctx.principal),
        origin: ctx.principal.kind === 'api_key' ? 'api' : 'human',
        input: input.order,
        idempotencyKey: input.idempotencyKey,
        requestId: ctx.requestId,
        ip: ctx.ip,
      });
    }),

  /**
   * A multi-leg (combo) order: risk-checked as a whole, filled all-or-none (docs/combo-orders.md).
   * Idempotent like `place`; a denial is the combo `denied` with every verdict, not an error.
   */
  placeCombo: deskProcedure
    .meta({ scope: 'trade', permission: 'orders.place' })
    .input(z.strictObject({ idempotencyKey, combo: placeComboInput }))
    .output(comboView)
    .mutation(async ({ ctx, input }) => {
      const registry = instrumentRegistryOf(ctx.db);
      for (const [i, l] of input.combo.legs.entries())
        await registry.require(l.symbol, `combo.legs.${i}.symbol`);
      return executionOf(ctx).combos.place({
        tenantId: ctx.desk.id,
        actor: actorOf(ctx.principal),
        origin: ctx.principal.kind === 'api_key' ? 'api' : 'human',
        input: input.combo,
        idempotencyKey: input.idempotencyKey,
        requestId: ctx.requestId,
        ip: ctx.ip,
      });
    }),

  /** The governor's verdict on a combo (dry run, nothing written), with its maximum loss. */
  checkCombo: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(placeComboInput)
    .output(comboCheckView)
    .query(async ({ ctx, input }) => {
      const registry = instrumentRegistryOf(ctx.db);
      for (const [i, l] of input.legs.entries()) await registry.require(l.symbol, `legs.${i}.symbol`);
      const d = await executionOf(ctx).combos.check(
        ctx.desk.id,
        input,
        ctx.principal.kind === 'api_key' ? 'api' : 'human',
      );
      return { allowed: d.allowed, verdicts: [...d.verdicts], maxLoss: d.maxLoss, netPrice: d.netPrice };
    }),

  /** Cancels every leg of a combo (always allowed: it reduces risk). */
  cancelCombo: deskProcedure
    .meta({ scope: 'trade', permission: 'orders.cancel', riskReducing: true })
    .input(z.strictObject({ comboId: comboIdSchema }))
    .output(comboView)
    .mutation(({ ctx, input }) =>
      executionOf(ctx).combos.cancel(ctx.desk.id, input.comboId, actorOf(ctx.principal), {
        requestId: ctx.requestId,
        ip: ctx.ip,
      }),
    ),

  /** One combo with its legs. */
  combo: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ id: comboIdSchema }))
    .output(comboView)
    .query(({ ctx, input }) => getCombo(ctx.tx, ctx.desk.id, input.id)),

  /** The desk's combos, newest first. */
  combos: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(listCombosInput.default({ limit: 100 }))
    .output(z.array(comboView))
    .query(({ ctx, input }) => listCombos(ctx.tx, ctx.desk.id, input.limit)),

  cancel: deskProcedure
    .meta({ scope: 'trade', permission: 'orders.cancel', riskReducing: true })
    .input(z.strictObject({ orderId: orderIdSchema }))
    .output(orderView)
    .mutation(({ ctx, input }) =>
      executionOf(ctx).orders.cancel(ctx.desk.id, input.orderId, actorOf(ctx.principal), {
        requestId: ctx.requestId,
        ip: ctx.ip,
      }),
    ),

  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(listOrdersInput.default({ status: 'all', limit: 100 }))
    .output(z.array(orderView))
    .query(async ({ ctx, input }) => {
      if (input.symbol) await instrumentRegistryOf(ctx.db).require(input.symbol, 'symbol');
      return listOrders(ctx.tx, ctx.desk.id, input);
    }),

  get: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ id: orderIdSchema }))
    .output(z.object({ order: orderView, fills: z.array(fillView) }))
    .query(({ ctx, input }) => getOrderWithFills(ctx.tx, ctx.desk.id, input.id)),

  /** Everything about one order: timeline, fills, verdict, origin, audit (the console's drawer). */
  detail: orderDetailProcedure,

  /**
   * Live order changes of the desk (SSE); each event carries the order as it is now. Each event
   * id is a resume point (the order's updated_at and id): a client that reconnects with
   * `lastEventId` — to this server or another — first gets every order changed since, from
   * the database, then the live feed.
   */
  updates: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(liveStreamInput)
    .subscription(async function* ({ ctx, input, signal }) {
      // Subscribe before the catch-up read so nothing falls between the two.
      const feed = await openChannelFeed(ctx.bus, orderUpdatesChannel(ctx.desk.id), { signal });
      try {
        const sent = new Map<string, number>();
        const after = input?.lastEventId ? decodeOrderCursor(input.lastEventId) : null;
        if (after) {
          const rows = await withTenant(ctx.db, ctx.desk.id, (tx) =>
            tx
              .select()
              .from(orders)
              .where(
                and(
                  eq(orders.tenantId, ctx.desk.id),
                  or(
                    gt(orders.updatedAt, after.at),
                    and(eq(orders.updatedAt, after.at), gt(orders.id, after.id)),
                  ),
                ),
              )
              .orderBy(asc(orders.updatedAt), asc(orders.id))
              .limit(1000),
          );
          for (const r of rows) {
            const order = toOrderView(r);
            sent.set(order.id, order.version);
            yield tracked(orderCursor(order), order);
          }
        }
        for await (const message of feed) {
          const { id } = JSON.parse(message) as { id: string };
          const { order } = await withTenant(ctx.db, ctx.desk.id, (tx) =>
            getOrderWithFills(tx, ctx.desk.id, asOrderId(id)),
          );
          if ((sent.get(order.id) ?? -1) >= order.version) continue; // caught up already
          sent.set(order.id, order.version);
          yield tracked(orderCursor(order), order);
        }
      } finally {
        await feed.close();
      }
    }),
});

/** `<updated_at ISO>|<order id>`, base64url: where a reconnecting `updates` stream resumes. */
function orderCursor(o: { id: string; updatedAt: string }): string {
  return Buffer.from(`${o.updatedAt}|${o.id}`).toString('base64url');
}

function decodeOrderCursor(raw: string): { at: Date; id: string } {
  const [ts, id] = Buffer.from(raw, 'base64url').toString().split('|');
  const at = new Date(ts ?? '');
  if (!id || !z.uuid().safeParse(id).success || Number.isNaN(at.getTime()))
    throw new AppError('BAD_INPUT', 'invalid last event id', { field: 'lastEventId' });
  return { at, id };
}
