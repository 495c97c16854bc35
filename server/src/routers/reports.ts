import {
  blotterRowView,
  dayPnlView,
  exportInput,
  exportView,
  instrumentPnlView,
  reportRange,
} from '@aegis/shared/schemas/reports';
import { z } from 'zod';
import { exportCsv } from '../reports/export.ts';
import { blotter, pnlByDayReport, pnlByInstrument } from '../reports/queries.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf, noInput } from './execution-context.ts';

/**
 * Desk reports (read scope): P&L by instrument and by day, the trade blotter, and CSV exports
 * of orders, fills, positions and daily P&L — the same rows the console and `aegis reports` show.
 */
export const reportsRouter = createTRPCRouter({
  pnlByInstrument: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .output(z.array(instrumentPnlView))
    .query(({ ctx }) => {
      const ex = executionOf(ctx);
      return pnlByInstrument(ctx.tx, ctx.desk.id, ex.quotes);
    }),

  pnlByDay: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(reportRange)
    .output(z.array(dayPnlView))
    .query(({ ctx, input }) => pnlByDayReport(ctx.tx, ctx.desk.id, input)),

  blotter: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z
        .strictObject({ range: reportRange, limit: z.number().int().min(1).max(1000).default(200) })
        .default({ range: {}, limit: 200 }),
    )
    .output(z.array(blotterRowView))
    .query(({ ctx, input }) => blotter(ctx.tx, ctx.desk.id, input.range, input.limit)),

  /** A CSV file's content (the console saves it, the CLI writes it). */
  export: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(exportInput)
    .output(exportView)
    .query(({ ctx, input }) => {
      const ex = executionOf(ctx);
      return exportCsv(ctx.tx, ctx.desk.id, input, {
        quotes: ex.quotes,
        startingCapital: ex.options.startingCapital,
        now: new Date(),
      });
    }),
});
