import { lessonViewSchema, tradeOutcomeInputSchema } from '@aegis/shared/schemas/lesson';
import { z } from 'zod';
import { audit } from '../audit/service.ts';
import { actorOf } from '../auth/principal.ts';
import { assertKnownInstrument, recordOutcome } from '../lessons/service.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { decisionsOf } from './proposals.ts';

/** Closed trades reported back: each loss (and large win) becomes a lesson the agent recalls. */
export const tradesRouter = createTRPCRouter({
  recordOutcome: deskProcedure
    .meta({ scope: 'trade', permission: 'trades.record' })
    .input(tradeOutcomeInputSchema)
    .output(z.object({ outcomeId: z.string(), pnl: z.string(), lesson: lessonViewSchema.nullable() }))
    .mutation(async ({ ctx, input }) => {
      await assertKnownInstrument(ctx.tx, input.instrument);
      const recorded = await recordOutcome(ctx.tx, ctx.desk.id, input, decisionsOf(ctx).embedder);
      await audit.record(ctx.tx, {
        action: 'trades.recordOutcome',
        actor: actorOf(ctx.principal),
        targetType: 'trade_outcome',
        targetId: recorded.outcomeId,
        payload: input,
        details: `${input.side} ${input.quantity} ${input.instrument} pnl ${recorded.pnl}${recorded.lesson ? ` → lesson ${recorded.lesson.id}` : ''}`,
      });
      return recorded;
    }),
});
