import { createHash } from 'node:crypto';
import { strategyPositionView } from '@aegis/shared/schemas/combo';
import { type PositionView, positionView } from '@aegis/shared/schemas/order-accounting';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { withTenant } from '../db/database.ts';
import { listPositions } from '../execution/queries.ts';
import { listStrategyPositions } from '../execution/strategy-positions.ts';
import { positionUpdatesChannel } from '../execution/types.ts';
import { openChannelFeed } from '../signals/channel-feed.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf, liveStreamInput, noInput } from './execution-context.ts';
import { flattenProcedure } from './flatten.ts';

/** Positions (average cost) marked to the latest quotes. */
export const positionsRouter = createTRPCRouter({
  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .output(z.array(positionView))
    .query(({ ctx }) => {
      const ex = executionOf(ctx);
      return listPositions(ctx.tx, ctx.desk.id, ex.quotes);
    }),

  /** Cancel working orders and close positions at market (risk-reducing; see flatten.ts). */
  flatten: flattenProcedure,

  /** Positions and P&L per strategy (each filled combo, per leg), marked to the latest quotes. */
  strategies: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .output(z.array(strategyPositionView))
    .query(({ ctx }) => listStrategyPositions(ctx.tx, ctx.desk.id, executionOf(ctx).quotes)),

  /**
   * Live: the desk's positions after every fill (SSE). Each event is the whole book, its id the
   * book's version (`bookVersion`). A client that reconnects with `lastEventId` — to this server
   * or another — first gets the book as it is now if it differs from the one that id names (so a
   * fill missed while away arrives), nothing if it is the same; a new client gets it always.
   */
  updates: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(liveStreamInput)
    .subscription(async function* ({ ctx, input, signal }) {
      const ex = executionOf(ctx);
      // Subscribe before the first read so a fill between the two is not missed.
      const feed = await openChannelFeed(ctx.bus, positionUpdatesChannel(ctx.desk.id), {
        signal,
        maxBuffered: 1000,
      });
      let held = input?.lastEventId ?? null;
      const changed = async () => {
        const book = await withTenant(ctx.db, ctx.desk.id, (tx) => listPositions(tx, ctx.desk.id, ex.quotes));
        const version = bookVersion(book);
        if (version === held) return null; // the client has this book already
        held = version;
        return tracked(version, book);
      };
      try {
        const first = await changed();
        if (first) yield first;
        for await (const _ of feed) {
          const next = await changed();
          if (next) yield next;
        }
      } finally {
        await feed.close();
      }
    }),
});

/**
 * The version of a book: a digest of every position's booked fields (not its mark, which moves
 * with quotes). A fill rewrites its position's row, `updatedAt` included, so a book that shows a
 * fill the other does not has another version. A digest rather than a time cursor: fills of
 * concurrent transactions commit in any order of their timestamps, and a cursor past a later
 * stamp would skip an earlier one committed after it.
 */
function bookVersion(book: readonly PositionView[]): string {
  const rows = book
    .map((p) => [p.symbol, p.quantity, p.avgCost, p.realizedPnl, p.fees, p.openedAt, p.updatedAt].join('|'))
    .sort();
  return createHash('sha256').update(rows.join('\n')).digest('base64url').slice(0, 22);
}
