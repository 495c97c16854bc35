import { idempotencyKey, instrumentSymbol, orderView } from '@aegis/shared/schemas/order';
import { z } from 'zod';
import { actorOf } from '../auth/principal.ts';
import { flatten } from '../execution/flatten.ts';
import { instrumentRegistryOf } from '../market/instrument-registry.ts';
import { deskProcedure } from '../trpc.ts';
import { executionOf } from './execution-context.ts';

/**
 * `positions.flatten`: cancel the desk's working orders and close every position (or those of
 * `symbols`) at market. Risk-reducing, so a `trade` key may do it (audited with the key's name)
 * and it works while a halt is engaged; a repeat closes nothing twice.
 */
export const flattenProcedure = deskProcedure
  .meta({ scope: 'trade', permission: 'orders.place', riskReducing: true })
  .input(
    z.strictObject({
      idempotencyKey,
      symbols: z.array(instrumentSymbol).min(1).max(200).optional(),
    }),
  )
  .output(
    z.object({ cancelled: z.array(orderView), closing: z.array(orderView), unchanged: z.array(z.string()) }),
  )
  .mutation(async ({ ctx, input }) => {
    if (input.symbols) {
      const registry = instrumentRegistryOf(ctx.db);
      for (const [i, s] of input.symbols.entries()) await registry.require(s, `symbols.${i}`);
    }
    return flatten(ctx.db, executionOf(ctx).orders, {
      tenantId: ctx.desk.id,
      actor: actorOf(ctx.principal),
      origin: ctx.principal.kind === 'api_key' ? 'api' : 'human',
      idempotencyKey: input.idempotencyKey,
      symbols: input.symbols,
      requestId: ctx.requestId,
      ip: ctx.ip,
    });
  });
