import { placeOrderInput, ruleVerdict } from '@aegis/shared/schemas/order';
import { riskLimitsRow, setRiskLimitsInput } from '@aegis/shared/schemas/order-risk';
import { z } from 'zod';
import { actorOf } from '../auth/principal.ts';
import { getLimits, setLimits } from '../execution/limits.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf, noInput } from './execution-context.ts';

/** Risk limits (desk '*' and per instrument) and the governor's dry run. */
export const riskRouter = createTRPCRouter({
  limits: createTRPCRouter({
    get: deskProcedure
      .meta({ scope: 'read', permission: 'desk.read' })
      .input(noInput)
      .output(z.array(riskLimitsRow))
      .query(({ ctx }) => getLimits(ctx.tx, ctx.desk.id)),

    set: deskProcedure
      .meta({ scope: 'admin', permission: 'risk.update', reauth: true })
      .input(setRiskLimitsInput)
      .output(riskLimitsRow)
      .mutation(({ ctx, input }) => setLimits(ctx.tx, ctx.desk.id, input, actorOf(ctx.principal))),
  }),

  /** What the governor would say about this order now, rule by rule; nothing is written. */
  check: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(placeOrderInput)
    .output(z.object({ allowed: z.boolean(), verdicts: z.array(ruleVerdict) }))
    .query(async ({ ctx, input }) => {
      const d = await executionOf(ctx).orders.check(
        ctx.desk.id,
        input,
        ctx.principal.kind === 'api_key' ? 'api' : 'human',
      );
      return { allowed: d.allowed, verdicts: [...d.verdicts] };
    }),
});
