import { placeOrderInput, ruleVerdict } from '@aegis/shared/schemas/order';
import {
  getRiskLimitsInput,
  removeRiskLimitInput,
  resetRiskLimitsInput,
  riskLimitsScopeView,
  setRiskLimitsInput,
} from '@aegis/shared/schemas/order-risk';
import { z } from 'zod';
import { actorOf } from '../auth/principal.ts';
import { getLimits, removeLimit, resetLimits, setLimits } from '../execution/limits.ts';
import { instrumentRegistryOf } from '../market/instrument-registry.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf } from './execution-context.ts';

/**
 * Risk limits (desk '*' and per instrument) and the governor's dry run. Every change is an
 * admin's, re-authenticated and audited with the effective limits before and after; removing a
 * limit ("no limit") is its own procedure so no partial update can switch a protection off.
 */
export const riskRouter = createTRPCRouter({
  limits: createTRPCRouter({
    /** Effective limits per scope, each field with its value and source. */
    get: deskProcedure
      .meta({ scope: 'read', permission: 'desk.read' })
      .input(getRiskLimitsInput)
      .output(z.array(riskLimitsScopeView))
      .query(({ ctx, input }) => getLimits(ctx.tx, ctx.desk.id, input?.symbol)),

    /** Merges the given fields into the scope; `{}` is refused. */
    set: deskProcedure
      .meta({ scope: 'admin', permission: 'risk.update', reauth: true })
      .input(setRiskLimitsInput)
      .output(riskLimitsScopeView)
      .mutation(({ ctx, input }) => setLimits(ctx.tx, ctx.desk.id, input, actorOf(ctx.principal))),

    /** No limit for one field of one scope, until set or reset. */
    remove: deskProcedure
      .meta({ scope: 'admin', permission: 'risk.update', reauth: true })
      .input(removeRiskLimitInput)
      .output(riskLimitsScopeView)
      .mutation(({ ctx, input }) => removeLimit(ctx.tx, ctx.desk.id, input, actorOf(ctx.principal))),

    /** One field, or the whole scope, back to what it inherits. */
    reset: deskProcedure
      .meta({ scope: 'admin', permission: 'risk.update', reauth: true })
      .input(resetRiskLimitsInput)
      .output(riskLimitsScopeView)
      .mutation(({ ctx, input }) => resetLimits(ctx.tx, ctx.desk.id, input, actorOf(ctx.principal))),
  }),

  /** What the governor would say about this order now, rule by rule; nothing is written. */
  check: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(placeOrderInput)
    .output(z.object({ allowed: z.boolean(), verdicts: z.array(ruleVerdict) }))
    .query(async ({ ctx, input }) => {
      await instrumentRegistryOf(ctx.db).require(input.symbol, 'symbol');
      const d = await executionOf(ctx).orders.check(
        ctx.desk.id,
        input,
        ctx.principal.kind === 'api_key' ? 'api' : 'human',
      );
      return { allowed: d.allowed, verdicts: [...d.verdicts] };
    }),
});
