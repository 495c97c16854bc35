import { AppError } from '@aegis/shared/errors';
import { deskNameSchema, deskSchema, isoTimestampSchema, roleSchema } from '@aegis/shared/schemas/identity';
import { z } from 'zod';
import { audit } from '../audit/service.ts';
import { listUserDesksCached } from '../auth/memberships.ts';
import { actorOf } from '../auth/principal.ts';
import { withTenant } from '../db/database.ts';
import { listAllDesks } from '../provisioning/find-user.ts';
import { createDesk } from '../provisioning/service.ts';
import { createTRPCRouter, protectedProcedure } from '../trpc.ts';

/**
 * Desks (tenants): platform administrators create them and may list every desk (`all`);
 * everyone lists their own.
 */
export const desksRouter = createTRPCRouter({
  create: protectedProcedure
    .meta({ scope: 'admin', permission: 'desks.create' })
    .input(z.strictObject({ name: deskNameSchema }))
    .output(deskSchema)
    .mutation(async ({ ctx, input }) => {
      const desk = await createDesk(ctx.db, { name: input.name, creatorId: ctx.principal.user.id });
      // The desk's own chain starts here; RLS wants its tenant setting for the insert.
      await withTenant(ctx.db, desk.id, (tx) =>
        audit.record(tx, {
          action: 'desks.create',
          actor: actorOf(ctx.principal),
          tenantId: desk.id,
          requestId: ctx.requestId,
          ip: ctx.ip,
          targetType: 'desk',
          targetId: desk.id,
          payload: { name: input.name },
          details: `desk "${desk.slug}" created`,
        }),
      );
      return desk;
    }),

  list: protectedProcedure
    .meta({ scope: 'read', permission: 'session.read' })
    .input(z.strictObject({ all: z.boolean().optional() }).optional())
    .output(
      z.array(
        deskSchema.extend({
          /** The caller's role; null on a desk the caller has none on (`all`). */
          role: roleSchema.nullable(),
          createdAt: isoTimestampSchema.optional(),
        }),
      ),
    )
    .query(async ({ ctx, input }) => {
      if (input?.all) {
        if (!ctx.principal.user.isPlatformAdmin) {
          throw new AppError('FORBIDDEN', 'Platform administrators only', {
            reason: 'platform_admin_required',
          });
        }
        return listAllDesks(ctx.db, ctx.principal.user.id);
      }
      const desks = await listUserDesksCached(ctx, ctx.principal.user.id);
      const p = ctx.principal;
      return p.kind === 'api_key' ? desks.filter((d) => d.id === p.apiKey.tenantId) : desks;
    }),
});
