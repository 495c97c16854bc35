import { presetViews } from '@aegis/shared/options/presets';
import {
  optionPreferencesView,
  presetTargetsView,
  type RecommendationEvent,
  recommendInput,
  saveOptionPreferencesInput,
} from '@aegis/shared/schemas/option-recommendation';
import { z } from 'zod';
import { readPreferences, savePreferences } from '../options/preferences.ts';
import { openRecommendation } from '../options/recommend-service.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * Option recommendations (docs/option-recommendations.md): the presets, the person's saved
 * capital and preset, and the streamed rationale (context, filters, scoring, sizing, the
 * governor's verdict, then the result). Reads only: nothing is placed or audited.
 */
export const optionsRouter = createTRPCRouter({
  presets: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).default({}))
    .output(z.array(presetTargetsView))
    .query(() => presetViews()),

  preferences: deskProcedure
    .meta({ scope: 'read', permission: 'options.recommend' })
    .input(z.strictObject({}).default({}))
    .output(optionPreferencesView)
    .query(({ ctx }) => readPreferences(ctx.tx, { tenantId: ctx.desk.id, userId: ctx.principal.user.id })),

  savePreferences: deskProcedure
    .meta({ scope: 'read', permission: 'options.recommend' })
    .input(saveOptionPreferencesInput)
    .output(optionPreferencesView)
    .mutation(({ ctx, input }) =>
      savePreferences(ctx.tx, { tenantId: ctx.desk.id, userId: ctx.principal.user.id }, input),
    ),

  /** The recommendation's layers as they are computed, then the result (SSE). */
  recommend: deskProcedure
    .meta({ scope: 'read', permission: 'options.recommend' })
    .input(recommendInput)
    .subscription(
      ({ ctx, input }): Promise<AsyncGenerator<RecommendationEvent>> =>
        openRecommendation(
          ctx,
          {
            tenantId: ctx.desk.id,
            userId: ctx.principal.user.id,
            origin: ctx.principal.kind === 'api_key' ? 'api' : 'human',
          },
          input,
        ),
    ),
});
