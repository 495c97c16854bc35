import {
  barSubscriptionInput,
  barsInput,
  barView,
  bookInput,
  bookView,
  quoteSubscriptionInput,
  quoteView,
  tradePrintView,
  tradesInput,
} from '@aegis/shared/schemas/market-data';
import { chainInput, chainView } from '@aegis/shared/schemas/option-chain';
import { instrumentSymbol } from '@aegis/shared/schemas/order';
import { safeText } from '@aegis/shared/schemas/text';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { marketDataOf, type Tracked } from '../market/market-data.ts';
import { optionChainOf } from '../market/option-chain.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * Market data (docs/market-data.md): quotes, bars, the book and time and sales, from the one
 * price source every server process reads (market/market-data.ts). Market data is not per desk,
 * but every call needs a signed-in caller (a session, or an API key with the read scope), so the
 * procedures are desk reads like the rest of the console's.
 */
const READ = { scope: 'read', permission: 'desk.read' } as const;

async function* asTracked<T>(events: AsyncGenerator<Tracked<T>>) {
  // yield* would not map; a for-await forwards the client's leaving (return) to `events`.
  for await (const e of events) yield tracked(e.id, e.data);
}

export const marketDataRouter = createTRPCRouter({
  quote: deskProcedure
    .meta(READ)
    .input(z.strictObject({ symbol: instrumentSymbol }))
    .output(quoteView)
    .query(({ ctx, input }) => marketDataOf(ctx).quote(ctx.tx, input.symbol)),

  quotes: deskProcedure
    .meta(READ)
    .input(z.strictObject({ symbols: z.array(instrumentSymbol).min(1).max(200) }))
    .output(z.array(quoteView))
    .query(({ ctx, input }) => marketDataOf(ctx).quotes(ctx.tx, input.symbols)),

  bars: deskProcedure
    .meta(READ)
    .input(barsInput)
    .output(z.array(barView))
    .query(({ ctx, input }) => marketDataOf(ctx).bars(ctx.tx, input)),

  book: deskProcedure
    .meta(READ)
    .input(bookInput)
    .output(bookView)
    .query(({ ctx, input }) => marketDataOf(ctx).book(input.symbol, input.levels)),

  trades: deskProcedure
    .meta(READ)
    .input(tradesInput)
    .output(z.array(tradePrintView))
    .query(({ ctx, input }) => marketDataOf(ctx).trades(ctx.tx, input.symbol, input.limit)),

  /**
   * Live quotes (SSE): the current quote of every symbol first, then changes (≤ 4/s per symbol).
   * Resuming (`lastEventId`) is by snapshot: the first events are the latest state again.
   * Opened by the resolver, so the listener is attached before the stream reports it started.
   */
  onQuotes: deskProcedure
    .meta(READ)
    .input(quoteSubscriptionInput)
    .subscription(async ({ ctx, input, signal }) =>
      asTracked(await marketDataOf(ctx).openQuoteStream(input.symbols, signal)),
    ),

  /**
   * Live bars (SSE): event ids are bucket times; `lastEventId` replays the bars since that one
   * from the database, then the forming bar as it changes and each bar as it closes.
   */
  onBars: deskProcedure
    .meta(READ)
    .input(barSubscriptionInput)
    .subscription(async ({ ctx, input, signal }) =>
      asTracked(
        await marketDataOf(ctx).openBarStream(input.symbol, input.interval, input.lastEventId, signal),
      ),
    ),

  /** The ladder, live (SSE): the current book, then each change (coalesced like quotes). */
  onBook: deskProcedure
    .meta(READ)
    .input(
      bookInput.extend({
        /** Accepted for the resumable-stream convention; the book resumes by snapshot. */
        lastEventId: safeText(200, { min: 0 }).nullish(),
      }),
    )
    .subscription(async ({ ctx, input, signal }) =>
      asTracked(await marketDataOf(ctx).openBookStream(input.symbol, input.levels, signal)),
    ),

  /**
   * The option chain of an underlying with Greeks, IV, liquidity and the filters applied
   * (docs/option-chains.md). A synthetic-venue underlying gets its synthetic chain listed on the
   * first call; other underlyings show the option instruments that reference them.
   */
  chain: deskProcedure
    .meta(READ)
    .input(chainInput)
    .output(chainView)
    .query(({ ctx, input }) => optionChainOf(ctx).chain(ctx.tx, input, ctx.log)),
});
