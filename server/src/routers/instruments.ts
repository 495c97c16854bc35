import {
  instrumentLoadInput,
  instrumentSearchHit,
  instrumentSearchInput,
  instrumentStatus,
  instrumentUpsertInput,
  instrumentView,
} from '@aegis/shared/schemas/market-data';
import { instrumentSymbol } from '@aegis/shared/schemas/order';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import { actorOf } from '../auth/principal.ts';
import { instrumentLoadResult, loadVenueInstruments } from '../market/instrument-load.ts';
import { instrumentRegistryOf } from '../market/instrument-registry.ts';
import { createTRPCRouter, deskProcedure, protectedProcedure } from '../trpc.ts';

/**
 * The instrument registry (docs/instruments.md): reads for every desk member; edits and venue
 * loads for platform administrators only (instruments are shared by every desk).
 */
const venueFilter = safeText(32)
  .regex(/^[A-Za-z0-9._-]+$/, 'only letters, digits and . _ -')
  .optional();

export const instrumentsRouter = createTRPCRouter({
  search: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(instrumentSearchInput)
    .output(z.array(instrumentSearchHit))
    .query(({ ctx, input }) => instrumentRegistryOf(ctx.db).search(input)),

  get: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ symbol: instrumentSymbol }))
    .output(instrumentView)
    .query(({ ctx, input }) => instrumentRegistryOf(ctx.db).require(input.symbol)),

  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z
        .strictObject({
          venue: venueFilter,
          /** The `nextCursor` of the previous page. */
          cursor: instrumentSymbol.optional(),
          limit: z.number().int().min(1).max(1000).default(200),
        })
        .default({ limit: 200 }),
    )
    .output(z.object({ items: z.array(instrumentView), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => instrumentRegistryOf(ctx.db).list(ctx.tx, input)),

  upsert: protectedProcedure
    .meta({ scope: 'admin', permission: 'instruments.manage' })
    .input(instrumentUpsertInput)
    .output(instrumentView)
    .mutation(({ ctx, input }) =>
      instrumentRegistryOf(ctx.db).upsert(input, actorOf(ctx.principal), {
        requestId: ctx.requestId,
        ip: ctx.ip,
      }),
    ),

  setStatus: protectedProcedure
    .meta({ scope: 'admin', permission: 'instruments.manage' })
    .input(z.strictObject({ symbol: instrumentSymbol, status: instrumentStatus }))
    .output(instrumentView)
    .mutation(({ ctx, input }) =>
      instrumentRegistryOf(ctx.db).setStatus(input.symbol, input.status, actorOf(ctx.principal), {
        requestId: ctx.requestId,
        ip: ctx.ip,
      }),
    ),

  load: protectedProcedure
    .meta({ scope: 'admin', permission: 'instruments.manage' })
    .input(instrumentLoadInput)
    .output(instrumentLoadResult)
    .mutation(async ({ ctx, input }) => {
      const result = await loadVenueInstruments(
        ctx.db,
        instrumentRegistryOf(ctx.db),
        ctx.config,
        input,
        actorOf(ctx.principal),
        { requestId: ctx.requestId, ip: ctx.ip },
      );
      ctx.log.info({ load: result }, 'instruments loaded');
      return result;
    }),
});
