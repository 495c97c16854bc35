import { AppError, ErrorCode } from '@aegis/shared/errors';
import {
  hedgeActionView,
  hedgingSettingsView,
  updateHedgingSettingsInput,
} from '@aegis/shared/schemas/greeks';
import { z } from 'zod';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

const notYet = (): never => {
  throw new AppError(ErrorCode.UNAVAILABLE, 'the delta-neutral hedger is not available yet');
};

/** The delta-neutral hedger of a desk: its settings and what it did. */
export const hedgingRouter = createTRPCRouter({
  settings: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).default({}))
    .output(hedgingSettingsView)
    .query(() => notYet()),

  update: deskProcedure
    .meta({ scope: 'admin', permission: 'hedging.manage' })
    .input(updateHedgingSettingsInput)
    .output(hedgingSettingsView)
    .mutation(() => notYet()),

  actions: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ limit: z.number().int().min(1).max(200).default(50) }).default({ limit: 50 }))
    .output(z.array(hedgeActionView))
    .query(() => notYet()),
});
