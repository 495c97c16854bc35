import { AppError, ErrorCode } from '@aegis/shared/errors';
import {
  optionPreferencesView,
  presetTargetsView,
  type recommendationEvent,
  recommendInput,
  saveOptionPreferencesInput,
} from '@aegis/shared/schemas/option-recommendation';
import { z } from 'zod';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

const notYet = (): never => {
  throw new AppError(ErrorCode.UNAVAILABLE, 'options recommendations are not available yet');
};

/** Option recommendations (docs/options.md): presets, the user's saved capital, and the streamed rationale. */
export const optionsRouter = createTRPCRouter({
  presets: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).default({}))
    .output(z.array(presetTargetsView))
    .query(() => notYet()),

  preferences: deskProcedure
    .meta({ scope: 'read', permission: 'options.recommend' })
    .input(z.strictObject({}).default({}))
    .output(optionPreferencesView)
    .query(() => notYet()),

  savePreferences: deskProcedure
    .meta({ scope: 'read', permission: 'options.recommend' })
    .input(saveOptionPreferencesInput)
    .output(optionPreferencesView)
    .mutation(() => notYet()),

  /** The recommendation's layers as they are computed, then the result (SSE). */
  recommend: deskProcedure
    .meta({ scope: 'read', permission: 'options.recommend' })
    .input(recommendInput)
    .subscription(async function* (): AsyncGenerator<z.infer<typeof recommendationEvent>> {
      yield notYet();
    }),
});
