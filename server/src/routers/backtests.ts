import { backtestStreams } from '@aegis/shared/bus/backtest-jobs';
import {
  backtestProgressSchema,
  backtestResultSchema,
  backtestSpecSchema,
  backtestStatusSchema,
  backtestViewSchema,
} from '@aegis/shared/schemas/backtest';
import { safeText } from '@aegis/shared/schemas/text';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { streamsOf } from '../agent/runtime.ts';
import { estimateBacktestCost } from '../backtests/estimate.ts';
import { openProgressStream } from '../backtests/progress-stream.ts';
import { enqueueBacktestJob } from '../backtests/queue.ts';
import {
  cancelBacktest,
  createBacktest,
  getBacktest,
  listBacktests,
  markNotEnqueued,
} from '../backtests/service.ts';
import {
  appendChunk,
  deleteUpload,
  finishUpload,
  listUploads,
  MAX_CHUNK_BYTES,
  MAX_UPLOAD_BYTES,
  startUpload,
} from '../backtests/uploads.ts';
import { instrumentRegistryOf } from '../market/instrument-registry.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * Backtests of the desk: created (validated spec; traders), queued as a job that an engine worker
 * runs (server/src/backtests/, engine/src/jobs/), listed, read with their result, cancelled and
 * followed live. Tick files come in through the upload procedures. RLS scopes everything to the
 * caller's desk: another desk's backtest is NOT_FOUND.
 */
const uploadView = z.object({
  id: z.string(),
  name: z.string(),
  format: z.enum(['csv', 'ticks']),
  sizeBytes: z.number().int(),
  receivedBytes: z.number().int(),
  chunks: z.number().int(),
  status: z.enum(['open', 'complete']),
  createdAt: z.string(),
});

const costEstimateSchema = z.object({
  decider: z.enum(['rules', 'openai']),
  model: z.string().nullable(),
  maxCalls: z.number().int().nullable(),
  promptTokens: z.number().int().nullable(),
  completionTokens: z.number().int().nullable(),
  usd: z.number().nullable(),
  usdPerSimulatedHour: z.number(),
  simulatedHours: z.number().nullable(),
  basis: z.string(),
});

const progressEventSchema = z.object({
  id: z.string(),
  status: backtestStatusSchema,
  progress: backtestProgressSchema.nullable(),
  error: z.string().nullable(),
});
export type BacktestProgressEventOutput = z.infer<typeof progressEventSchema>;

const backtestDetailSchema = backtestViewSchema.extend({
  result: backtestResultSchema.nullable(),
  startedAt: z.string().nullable(),
});

const idInput = z.strictObject({ id: z.uuid() });

export const backtestsRouter = createTRPCRouter({
  /** What the LLM decider would cost (zero for the rules): shown before `create`. */
  estimate: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(backtestSpecSchema)
    .output(costEstimateSchema)
    .query(({ input }) => estimateBacktestCost(input)),

  create: deskProcedure
    .meta({ scope: 'trade', permission: 'backtests.run' })
    .input(backtestSpecSchema)
    .output(backtestViewSchema)
    .mutation(async ({ ctx, input }) => {
      // The ticks table holds the registry's instruments; an upload or a simulation brings its own.
      if (input.data.kind === 'ticks_table')
        await instrumentRegistryOf(ctx.db).requireAll(input.instruments, 'instruments');
      const { view, jobId } = await createBacktest(ctx.tx, {
        tenantId: ctx.desk.id,
        userId: ctx.principal.user.id,
        spec: input,
      });
      // Queued inside the request transaction: a worker that reads the entry before the commit
      // waits for the row (engine/src/jobs/), and one for a rolled-back create finds none.
      const streams = backtestStreams(streamsOf(ctx).prefix);
      const entry = { jobId, backtestId: view.id, tenantId: ctx.desk.id };
      if (!(await enqueueBacktestJob(ctx.bus, streams, entry, ctx.log))) await markNotEnqueued(ctx.tx, jobId);
      ctx.log.info({ backtestId: view.id, jobId, data: input.data.kind }, 'backtest queued');
      return view;
    }),

  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z
        .strictObject({
          limit: z.number().int().min(1).max(200).default(50),
          cursor: safeText(100).optional(),
          status: backtestStatusSchema.optional(),
        })
        .default({ limit: 50 }),
    )
    .output(z.object({ items: z.array(backtestViewSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => listBacktests(ctx.tx, input)),

  /** One backtest with its result (null until it succeeded). */
  get: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(idInput)
    .output(backtestDetailSchema)
    .query(({ ctx, input }) => getBacktest(ctx.tx, input.id)),

  cancel: deskProcedure
    .meta({ scope: 'trade', permission: 'backtests.run' })
    .input(idInput)
    .output(backtestViewSchema)
    .mutation(async ({ ctx, input }) => {
      const { view, running } = await cancelBacktest(ctx.tx, input.id);
      if (running) {
        // The row says so (the worker reads it with each progress write); this is only faster.
        const streams = backtestStreams(streamsOf(ctx).prefix);
        await ctx.bus.publish(streams.cancel(input.id), 'cancel').catch((err) => {
          ctx.log.warn(
            { err, backtestId: input.id },
            'cancel message not published; the worker reads the row',
          );
        });
      }
      return view;
    }),

  /**
   * Live progress (SSE): the current state, then each progress report (about twice a second),
   * ending after the final status. Event ids are `<status>:<ticks>`; a reconnect simply starts
   * from the current state.
   */
  progress: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ id: z.uuid(), lastEventId: safeText(200, { min: 0 }).nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const streams = backtestStreams(streamsOf(ctx).prefix);
      const events = await openProgressStream(
        {
          db: ctx.db,
          bus: ctx.bus,
          channel: streams.progress(input.id),
          deskId: ctx.desk.id,
          backtestId: input.id,
        },
        signal,
      );
      for await (const e of events) {
        yield tracked(`${e.status}:${e.progress?.ticks ?? 0}`, progressEventSchema.parse(e));
      }
    }),

  /** Starts a tick-file upload: declared size (≤ 256 MiB) and sha-256, checked at `uploadFinish`. */
  uploadStart: deskProcedure
    .meta({ scope: 'trade', permission: 'backtests.run' })
    .input(
      z.strictObject({
        name: safeText(200),
        format: z.enum(['csv', 'ticks']),
        sizeBytes: z.number().int().min(1).max(MAX_UPLOAD_BYTES),
        sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'a sha-256 in hex (64 characters)'),
      }),
    )
    .output(uploadView.extend({ maxChunkBytes: z.number().int() }))
    .mutation(({ ctx, input }) =>
      startUpload(ctx.tx, { tenantId: ctx.desk.id, userId: ctx.principal.user.id, ...input }),
    ),

  /** One chunk, base64, in order from seq 0; at most 512 KiB decoded. */
  uploadChunk: deskProcedure
    .meta({ scope: 'trade', permission: 'backtests.run' })
    .input(
      z.strictObject({
        uploadId: z.uuid(),
        seq: z.number().int().min(0).max(MAX_UPLOAD_BYTES),
        data: z
          .string()
          .min(1)
          .max(Math.ceil(MAX_CHUNK_BYTES / 3) * 4)
          .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 (A-Z, a-z, 0-9, +, /, = padding)'),
      }),
    )
    .output(uploadView)
    .mutation(({ ctx, input }) => appendChunk(ctx.tx, { tenantId: ctx.desk.id, ...input })),

  /** Checks the size and sha-256 of what arrived; the upload can then back a backtest. */
  uploadFinish: deskProcedure
    .meta({ scope: 'trade', permission: 'backtests.run' })
    .input(z.strictObject({ uploadId: z.uuid() }))
    .output(uploadView.extend({ sha256: z.string() }))
    .mutation(({ ctx, input }) => finishUpload(ctx.tx, input.uploadId)),

  /** The desk's uploaded tick files, newest first. */
  uploads: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ limit: z.number().int().min(1).max(200).default(50) }).default({ limit: 50 }))
    .output(z.object({ items: z.array(uploadView) }))
    .query(async ({ ctx, input }) => ({ items: await listUploads(ctx.tx, input.limit) })),

  /** Deletes an upload (not while a queued or running backtest uses it). */
  uploadDelete: deskProcedure
    .meta({ scope: 'trade', permission: 'backtests.run' })
    .input(z.strictObject({ uploadId: z.uuid() }))
    .output(z.object({ id: z.string(), deleted: z.literal(true) }))
    .mutation(({ ctx, input }) => deleteUpload(ctx.tx, input.uploadId)),
});
