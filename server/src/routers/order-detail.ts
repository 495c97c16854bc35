import { orderIdSchema } from '@aegis/shared/ids';
import { orderDetailView } from '@aegis/shared/schemas/order-detail';
import { z } from 'zod';
import { authorize } from '../auth/permissions.ts';
import { getOrderDetail } from '../execution/order-detail.ts';
import { deskProcedure } from '../trpc.ts';

/**
 * `orders.detail`: one order with its timeline, fills, the governor's verdict, the proposal and
 * signal it came from (and who approved it) and its audit rows (for those who may read the audit log) — the console's order drawer.
 */
export const orderDetailProcedure = deskProcedure
  .meta({ scope: 'read', permission: 'desk.read' })
  .input(z.strictObject({ id: orderIdSchema }))
  .output(orderDetailView)
  .query(async ({ ctx, input }) => {
    const detail = await getOrderDetail(ctx.tx, ctx.desk.id, input.id);
    // The audit rows only for those who may read the audit log (desk admins; a key needs `admin`).
    const denied = authorize(
      'audit.read',
      {
        kind: ctx.principal.kind,
        role: ctx.desk.role,
        isPlatformAdmin: ctx.principal.user.isPlatformAdmin,
        scopes: ctx.principal.kind === 'api_key' ? ctx.principal.apiKey.scopes : [],
        reauthenticatedAt: null,
      },
      new Date(),
      0,
    );
    return denied === null ? detail : { ...detail, audit: [] };
  });
