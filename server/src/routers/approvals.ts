import { proposalIdSchema, type TenantId, type UserId } from '@aegis/shared/ids';
import { orderView } from '@aegis/shared/schemas/order';
import { proposalViewSchema } from '@aegis/shared/schemas/proposal';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import { actorOf, type Principal } from '../auth/principal.ts';
import type { DecideRequest } from '../proposals/workflow.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { decisionsOf } from './proposals.ts';

/**
 * A trader's (or admin's) decision on a proposal. Human sessions only, never an API key;
 * approving also needs a recent password re-entry (permission `proposals.approve`). Approval
 * executes through the execution service with the idempotency key `proposal:<id>`.
 */
const decideInput = z.strictObject({
  proposalId: proposalIdSchema,
  reason: safeText(1000, { multiline: true }).optional(),
});
/** Approving also chooses the account the order goes to (absent or null: the paper account). */
const approveInput = decideInput.extend({ brokerConnectionId: z.uuid().nullish() });

/** Who decides on which proposal, from the request (the same for approve and reject). */
interface DecidingContext {
  readonly desk: { readonly id: TenantId };
  readonly principal: Principal & { readonly user: { readonly id: UserId } };
  readonly requestId: string;
  readonly ip: string | null;
}
const decideRequest = (ctx: DecidingContext, input: z.infer<typeof decideInput>): DecideRequest => ({
  tenantId: ctx.desk.id,
  proposalId: input.proposalId,
  actor: actorOf(ctx.principal),
  userId: ctx.principal.user.id,
  reason: input.reason ?? null,
  requestId: ctx.requestId,
  ip: ctx.ip,
});

export const approvalsRouter = createTRPCRouter({
  approve: deskProcedure
    .meta({ scope: 'trade', permission: 'proposals.approve', humanOnly: true, reauth: true })
    .input(approveInput)
    .output(z.object({ proposal: proposalViewSchema, order: orderView.nullable() }))
    .mutation(({ ctx, input }) =>
      decisionsOf(ctx).workflow.approve({
        ...decideRequest(ctx, input),
        origin: 'human',
        brokerConnectionId: input.brokerConnectionId ?? null,
      }),
    ),

  reject: deskProcedure
    .meta({ scope: 'trade', permission: 'proposals.reject', humanOnly: true })
    .input(decideInput)
    .output(proposalViewSchema)
    .mutation(({ ctx, input }) => decisionsOf(ctx).workflow.reject(decideRequest(ctx, input))),
});
