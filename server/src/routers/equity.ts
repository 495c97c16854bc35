import { equityPoint, equitySeriesInput } from '@aegis/shared/schemas/order-accounting';
import { z } from 'zod';
import { equitySeries } from '../execution/queries.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/** The desk's equity curve: one snapshot per fill and per interval (oldest first). */
export const equityRouter = createTRPCRouter({
  series: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(equitySeriesInput.default({ limit: 2000 }))
    .output(z.array(equityPoint))
    .query(({ ctx, input }) => equitySeries(ctx.tx, ctx.desk.id, input)),
});
