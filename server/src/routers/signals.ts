import { AppError } from '@aegis/shared/errors';
import { asSignalId, signalIdSchema, type TenantId } from '@aegis/shared/ids';
import type { SignalView } from '@aegis/shared/schemas/signal';
import {
  listSignalsInputSchema,
  signalDecisionKindSchema,
  signalDecisionViewSchema,
  signalViewSchema,
} from '@aegis/shared/schemas/signal';
import { safeText } from '@aegis/shared/schemas/text';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { streamsOf } from '../agent/runtime.ts';
import { deskInstruments } from '../agent/settings.ts';
import { withTenant } from '../db/database.ts';
import { orderflowAround } from '../orderflow/service.ts';
import { type ChannelFeed, openChannelFeed } from '../signals/channel-feed.ts';
import {
  decisionsOf,
  decodeEventId,
  type FeedPosition,
  feedHead,
  getSignalView,
  listSignals,
  recordDecision,
  type StoredSignal,
  signalEventId,
  signalsAfter,
} from '../signals/service.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * Signals (market-wide, from the engine) as a desk sees them: listed and streamed for the desk's
 * instruments (agent settings; all when none are set), with the desk's own order flow and
 * decisions around each one.
 */
const orderflowContextSchema = z.object({
  id: z.string(),
  tsEvent: z.string(),
  source: z.string(),
  sequence: z.number(),
  venue: z.string(),
  kind: z.enum(['trade', 'quote', 'depth']),
  side: z.enum(['buy', 'sell']).nullable(),
  price: z.string().nullable(),
  size: z.string().nullable(),
  bid: z.string().nullable(),
  ask: z.string().nullable(),
  bidSize: z.string().nullable(),
  askSize: z.string().nullable(),
});

const matches = (
  s: SignalView,
  f: { instrument?: string | undefined; minScore?: number | undefined },
  symbols: readonly string[] | null,
) =>
  (!symbols || symbols.includes(s.symbol)) &&
  (!f.instrument || f.instrument === s.symbol) &&
  (f.minScore === undefined || s.score >= f.minScore);

export const signalsRouter = createTRPCRouter({
  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(listSignalsInputSchema)
    .output(z.object({ items: z.array(signalViewSchema), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => listSignals(ctx.tx, input, await deskInstruments(ctx.tx, ctx.desk.id))),

  get: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z.strictObject({
        id: signalIdSchema,
        /** Order flow within this many ms either side of the signal's event time. */
        windowMs: z.number().int().min(0).max(3_600_000).default(60_000),
        limit: z.number().int().min(1).max(2000).default(200),
      }),
    )
    .output(
      z.object({
        signal: signalViewSchema,
        orderflow: z.array(orderflowContextSchema),
        decisions: z.array(signalDecisionViewSchema),
      }),
    )
    .query(async ({ ctx, input }) => {
      const signal = await getSignalView(ctx.tx, input.id);
      if (!signal) {
        throw new AppError('NOT_FOUND', 'id: no such signal', { reason: 'unknown_reference', field: 'id' });
      }
      const [orderflow, decisions] = [
        await orderflowAround(
          ctx.tx,
          ctx.desk.id,
          signal.symbol,
          new Date(signal.tsEvent),
          input.windowMs,
          input.limit,
        ),
        await decisionsOf(ctx.tx, ctx.desk.id, asSignalId(signal.id)),
      ];
      return { signal, orderflow, decisions };
    }),

  decide: deskProcedure
    .meta({ scope: 'trade', permission: 'signals.decide' })
    .input(
      z
        .strictObject({
          signalId: signalIdSchema,
          decision: signalDecisionKindSchema,
          note: safeText(2000, { multiline: true }).optional(),
        })
        .refine((i) => i.decision !== 'note' || i.note !== undefined, {
          path: ['note'],
          message: 'a note needs text',
        }),
    )
    .output(signalDecisionViewSchema)
    .mutation(({ ctx, input }) =>
      recordDecision(ctx.tx, {
        tenantId: ctx.desk.id,
        signalId: input.signalId,
        userId: ctx.principal.user.id,
        decision: input.decision,
        note: input.note ?? null,
      }),
    ),

  /**
   * New signals for the desk, live (SSE). Each event's id is the signal's place in the feed
   * (`signals.stream_id`, numbered in the order signals are stored): a client that reconnects with
   * `lastEventId` first gets every signal stored after it (from the database), one stored late
   * with an earlier signal time included, then live ones.
   *
   * The feed is opened by the resolver itself, before tRPC answers: a client that has seen the
   * stream start (onStarted) gets every signal stored from then on. A generator resolver would run
   * only when the stream is first read, after the client was told it is connected, so a signal
   * stored in between was lost (a CLI announcing "live" could not keep that promise).
   */
  onNew: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z
        .strictObject({
          lastEventId: safeText(200, { min: 0 }).nullish(),
          instrument: safeText(64).optional(),
          minScore: z.number().min(0).max(1).optional(),
        })
        .default({}),
    )
    .subscription(async ({ ctx, input, signal }) => {
      const streams = streamsOf(ctx);
      // Subscribe before the catch-up read so nothing falls between the two.
      const feed = await openChannelFeed(ctx.bus, streams.signalStored, { signal });
      // The generator's finally closes the feed, but only once it has been read: a request that
      // ends before that must not leave its bus subscription behind.
      signal?.addEventListener('abort', () => void feed.close(), { once: true });
      try {
        const after = input.lastEventId ? decodeEventId(input.lastEventId, 'lastEventId') : null;
        const symbols = await withTenant(ctx.db, ctx.desk.id, (tx) => deskInstruments(tx, ctx.desk.id));
        return liveSignals(ctx.db, ctx.desk.id, feed, input, symbols, after);
      } catch (e) {
        await feed.close();
        throw e;
      }
    }),
});

const CATCH_UP_PAGE = 500;

/**
 * What `onNew` streams: the signals stored after `resumeAfter` (if any), then the live feed, in
 * feed order and each once. The feed can deliver out of order (two instances publish after their
 * commits, in either order): a place that does not follow the last one sent is read from the
 * database with everything before it, since the storing lock commits places in order.
 */
async function* liveSignals(
  db: Parameters<typeof withTenant>[0],
  deskId: TenantId,
  feed: ChannelFeed,
  filter: { instrument?: string | undefined; minScore?: number | undefined },
  symbols: readonly string[] | null,
  resumeAfter: FeedPosition | null,
) {
  async function* stored(from: FeedPosition, upTo: number) {
    let after = from;
    for (;;) {
      const at = after;
      const page = await withTenant(db, deskId, (tx) => signalsAfter(tx, at, upTo, symbols, CATCH_UP_PAGE));
      yield* page;
      const last = page[page.length - 1];
      if (!last || page.length < CATCH_UP_PAGE) return;
      after = { streamId: last.streamId };
    }
  }
  try {
    // Read after the feed was subscribed to: every place past it comes from the feed.
    const head = await withTenant(db, deskId, (tx) => feedHead(tx));
    let sent = resumeAfter && 'streamId' in resumeAfter ? Math.max(resumeAfter.streamId, head) : head;
    if (resumeAfter) {
      for await (const { streamId, signal: s } of stored(resumeAfter, head)) {
        if (matches(s, filter, symbols)) yield tracked(signalEventId(streamId), s);
      }
    }
    for await (const message of feed) {
      const live = JSON.parse(message) as StoredSignal;
      // At or before the last place sent: a redelivered entry published again, or caught up. No
      // place: published by a server from before migration 0028 (a rolling upgrade), not numbered.
      if (typeof live.streamId !== 'number' || live.streamId <= sent) continue;
      const next = live.streamId === sent + 1 ? [live] : stored({ streamId: sent }, live.streamId);
      for await (const { streamId, signal: s } of next) {
        if (matches(s, filter, symbols)) yield tracked(signalEventId(streamId), s);
      }
      sent = live.streamId;
    }
  } finally {
    await feed.close();
  }
}
