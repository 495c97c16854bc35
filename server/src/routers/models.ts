import { signalModels } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import {
  type SignalModelView,
  signalEvaluationSchema,
  signalModelViewSchema,
} from '@aegis/shared/schemas/signal-quality';
import { safeText } from '@aegis/shared/schemas/text';
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../db/database.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * The model registry (table `signal_models`, market-wide like signals): each model version with
 * its training data hash, metrics and the evaluation harness's latest result against the
 * baselines (`npm run eval:signals`). Read by the console's signal-quality page and
 * `aegis eval signals`.
 */
type ModelRow = typeof signalModels.$inferSelect;

function toModelView(row: ModelRow): SignalModelView {
  const evaluation = row.evaluation == null ? null : signalEvaluationSchema.safeParse(row.evaluation);
  return {
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    trainingDataHash: row.trainingDataHash,
    metrics: (row.metrics ?? {}) as Record<string, unknown>,
    // A row written by an older harness whose shape no longer parses shows no evaluation.
    evaluation: evaluation?.success ? evaluation.data : null,
    active: row.active,
  };
}

async function listModels(tx: Tx, limit: number): Promise<SignalModelView[]> {
  const rows = await tx
    .select()
    .from(signalModels)
    .orderBy(desc(signalModels.active), desc(signalModels.createdAt), desc(signalModels.version))
    .limit(limit);
  return rows.map(toModelView);
}

export const modelsRouter = createTRPCRouter({
  /** Model versions, the active one first, then newest first. */
  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ limit: z.number().int().min(1).max(200).default(50) }).default({ limit: 50 }))
    .output(z.object({ items: z.array(signalModelViewSchema) }))
    .query(async ({ ctx, input }) => ({ items: await listModels(ctx.tx, input.limit) })),

  get: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ version: safeText(200) }))
    .output(signalModelViewSchema)
    .query(async ({ ctx, input }) => {
      const [row] = await ctx.tx.select().from(signalModels).where(eq(signalModels.version, input.version));
      if (!row) {
        throw new AppError('NOT_FOUND', 'version: no such model', {
          reason: 'unknown_reference',
          field: 'version',
        });
      }
      return toModelView(row);
    }),

  /**
   * Signal quality per model version: the latest evaluation of each version that has one (engine
   * vs momentum vs mean reversion vs random at equal counts), the active model first.
   */
  quality: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ limit: z.number().int().min(1).max(50).default(10) }).default({ limit: 10 }))
    .output(z.object({ items: z.array(signalModelViewSchema) }))
    .query(async ({ ctx, input }) => ({
      items: (await listModels(ctx.tx, 200)).filter((m) => m.evaluation !== null).slice(0, input.limit),
    })),
});
