import { AppError, ErrorCode } from '@aegis/shared/errors';
import { deskGreeksView } from '@aegis/shared/schemas/greeks';
import { z } from 'zod';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

const notYet = (): never => {
  throw new AppError(ErrorCode.UNAVAILABLE, 'desk Greeks are not available yet');
};

/** The desk's live Greeks: net delta, gamma, vega, theta and each position's contribution. */
export const greeksRouter = createTRPCRouter({
  current: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).default({}))
    .output(deskGreeksView)
    .query(() => notYet()),

  /** Live (SSE): the desk's Greeks whenever a position or a price moves them. */
  updates: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).default({}))
    .subscription(async function* (): AsyncGenerator<z.infer<typeof deskGreeksView>> {
      yield notYet();
    }),
});
