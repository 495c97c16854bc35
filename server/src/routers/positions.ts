import { strategyPositionView } from '@aegis/shared/schemas/combo';
import { positionView } from '@aegis/shared/schemas/order-accounting';
import { z } from 'zod';
import { withTenant } from '../db/database.ts';
import { listPositions } from '../execution/queries.ts';
import { listStrategyPositions } from '../execution/strategy-positions.ts';
import { positionUpdatesChannel } from '../execution/types.ts';
import { openChannelFeed } from '../signals/channel-feed.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf, noInput } from './execution-context.ts';
import { flattenProcedure } from './flatten.ts';

/** Positions (average cost) marked to the latest quotes. */
export const positionsRouter = createTRPCRouter({
  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .output(z.array(positionView))
    .query(({ ctx }) => {
      const ex = executionOf(ctx);
      return listPositions(ctx.tx, ctx.desk.id, ex.quotes, ex.options.startingCapital, new Date());
    }),

  /** Cancel working orders and close positions at market (risk-reducing; see flatten.ts). */
  flatten: flattenProcedure,

  /** Positions and P&L per strategy (each filled combo, per leg), marked to the latest quotes. */
  strategies: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .output(z.array(strategyPositionView))
    .query(({ ctx }) => listStrategyPositions(ctx.tx, ctx.desk.id, executionOf(ctx).quotes)),

  /** Live: the desk's positions after every fill (SSE), starting with the current ones. */
  updates: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .subscription(async function* ({ ctx, signal }) {
      const ex = executionOf(ctx);
      const feed = await openChannelFeed(ctx.bus, positionUpdatesChannel(ctx.desk.id), {
        signal,
        maxBuffered: 1000,
      });
      const read = () =>
        withTenant(ctx.db, ctx.desk.id, (tx) =>
          listPositions(tx, ctx.desk.id, ex.quotes, ex.options.startingCapital, new Date()),
        );
      try {
        yield await read();
        for await (const _ of feed) yield await read();
      } finally {
        await feed.close();
      }
    }),
});
