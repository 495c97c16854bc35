import type { TenantId, UserId } from '@aegis/shared/ids';
import { watchlistCreateInput, watchlistUpdateInput, watchlistView } from '@aegis/shared/schemas/market-data';
import { z } from 'zod';
import { instrumentRegistryOf } from '../market/instrument-registry.ts';
import {
  createWatchlist,
  listWatchlists,
  type Owner,
  removeWatchlist,
  updateWatchlist,
} from '../market/watchlists.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/** The caller's own watchlists on the current desk (docs/instruments.md). */
const ownerOf = (ctx: { desk: { id: TenantId }; principal: { user: { id: UserId } } }): Owner => ({
  tenantId: ctx.desk.id,
  userId: ctx.principal.user.id,
});

export const watchlistsRouter = createTRPCRouter({
  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).optional())
    .output(z.array(watchlistView))
    .query(({ ctx }) => listWatchlists(ctx.tx, ownerOf(ctx))),

  create: deskProcedure
    .meta({ scope: 'read', permission: 'watchlists.manage' })
    .input(watchlistCreateInput)
    .output(watchlistView)
    .mutation(({ ctx, input }) => createWatchlist(ctx.tx, instrumentRegistryOf(ctx.db), ownerOf(ctx), input)),

  update: deskProcedure
    .meta({ scope: 'read', permission: 'watchlists.manage' })
    .input(watchlistUpdateInput)
    .output(watchlistView)
    .mutation(({ ctx, input }) => updateWatchlist(ctx.tx, instrumentRegistryOf(ctx.db), ownerOf(ctx), input)),

  remove: deskProcedure
    .meta({ scope: 'read', permission: 'watchlists.manage' })
    .input(z.strictObject({ id: z.uuid() }))
    .output(z.object({ removed: z.literal(true) }))
    .mutation(({ ctx, input }) => removeWatchlist(ctx.tx, ownerOf(ctx), input.id)),
});
