import { pnlSummary } from '@aegis/shared/schemas/order-accounting';
import { pnlSummary as summarize } from '../execution/queries.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf, noInput } from './execution-context.ts';

/** Desk P&L: average-cost realized, unrealized at the latest marks, fees, daily, equity. */
export const pnlRouter = createTRPCRouter({
  summary: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .output(pnlSummary)
    .query(({ ctx }) => {
      const ex = executionOf(ctx);
      return summarize(ctx.tx, ctx.desk.id, ex.quotes, ex.options.startingCapital, new Date());
    }),
});
