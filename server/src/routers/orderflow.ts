import {
  ingestInputSchema,
  ingestResultSchema,
  MAX_INGEST_BATCH,
  sequenceGapSchema,
} from '@aegis/shared/schemas/orderflow';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import { findGaps, ingestOrderflow } from '../orderflow/service.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * Order flow a desk feeds in (scripts with a `trade`-scoped key, or a trader's session). The
 * service validates the whole batch before writing anything; see orderflow/service.ts.
 */
const ingestInput = z.preprocess(
  // One event on its own (`{ event }`) is a batch of one. Not a z.union: a union's error is
  // only "(input): Invalid input"; one schema names the failing field.
  (raw) =>
    raw !== null &&
    typeof raw === 'object' &&
    !Array.isArray(raw) &&
    Object.keys(raw).length === 1 &&
    'event' in raw
      ? { events: [(raw as { event: unknown }).event] }
      : raw,
  ingestInputSchema,
);

export const orderflowRouter = createTRPCRouter({
  ingest: deskProcedure
    .meta({ scope: 'trade', permission: 'orderflow.ingest' })
    .input(ingestInput)
    .output(ingestResultSchema)
    .mutation(({ ctx, input }) =>
      ingestOrderflow(
        ctx.tx,
        // No bus, no quote book: ingested flow is the desk's research data, never market data.
        {},
        ctx.desk.id,
        input.events,
      ),
    ),

  /** Sequence gaps in the stored events, per source. */
  gaps: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z
        .strictObject({
          source: safeText(64).optional(),
          fromSequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
          toSequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
          limit: z.number().int().min(1).max(MAX_INGEST_BATCH).default(500),
        })
        .default({ limit: 500 }),
    )
    .output(z.array(sequenceGapSchema))
    .query(({ ctx, input }) => findGaps(ctx.tx, ctx.desk.id, input)),
});
