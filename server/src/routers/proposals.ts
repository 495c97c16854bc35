import { proposals } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { proposalIdSchema } from '@aegis/shared/ids';
import {
  type ProposalView,
  proposalStatusSchema,
  proposalViewSchema,
  riskRuleVerdictSchema,
} from '@aegis/shared/schemas/proposal';
import { safeText } from '@aegis/shared/schemas/text';
import { tracked } from '@trpc/server';
import { and, asc, eq, gt, or } from 'drizzle-orm';
import { z } from 'zod';
import type { DecisionsRuntime } from '../agent/runtime.ts';
import { streamsOf } from '../agent/runtime.ts';
import { withTenant } from '../db/database.ts';
import { getProposalRow, listProposals, orderInputOf, toProposalView } from '../proposals/store.ts';
import { openChannelFeed } from '../signals/channel-feed.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * The desk's proposal queue: list, one proposal with the governor's verdict per rule (as stored
 * when proposed, and re-checked now while it is pending), and the live queue (SSE, resumable).
 */
export function decisionsOf(ctx: { decisions?: DecisionsRuntime }): DecisionsRuntime {
  if (!ctx.decisions) throw new AppError('UNAVAILABLE', 'The decision service is not running');
  return ctx.decisions;
}

/** SSE event id of a proposal change: its update time and id (resume point). */
const changeId = (p: ProposalView) => Buffer.from(`${p.updatedAt}|${p.id}`).toString('base64url');

export const proposalsRouter = createTRPCRouter({
  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z
        .strictObject({
          status: proposalStatusSchema.optional(),
          cursor: safeText(200).optional(),
          limit: z.number().int().min(1).max(200).default(50),
        })
        .default({ limit: 50 }),
    )
    .output(z.object({ items: z.array(proposalViewSchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => listProposals(ctx.tx, ctx.desk.id, input)),

  get: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ id: proposalIdSchema }))
    .output(
      z.object({
        proposal: proposalViewSchema,
        /** The governor's verdict for the order right now (pending proposals only). */
        currentVerdict: z.object({ allowed: z.boolean(), rules: z.array(riskRuleVerdictSchema) }).nullable(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const row = await getProposalRow(ctx.tx, ctx.desk.id, input.id, false, 'id');
      const proposal = toProposalView(row);
      let currentVerdict: { allowed: boolean; rules: z.infer<typeof riskRuleVerdictSchema>[] } | null = null;
      if (row.status === 'pending' && ctx.execution) {
        try {
          const d = await ctx.execution.orders.check(ctx.desk.id, orderInputOf(row), 'human');
          currentVerdict = { allowed: d.allowed, rules: d.verdicts.map((v) => ({ ...v })) };
        } catch (err) {
          // The stored verdict still stands; a check that cannot run now (instrument removed,
          // execution unavailable) is no reason to hide the proposal.
          ctx.log.warn({ err, proposalId: row.id }, 'proposal re-check failed');
        }
      }
      return { proposal, currentVerdict };
    }),

  /** Every change to the desk's proposals, live; reconnecting with `lastEventId` catches up. */
  onChange: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ lastEventId: safeText(300, { min: 0 }).nullish() }).default({}))
    .subscription(async function* ({ ctx, input, signal }) {
      const tenantId = ctx.desk.id;
      const feed = await openChannelFeed(ctx.bus, streamsOf(ctx).proposalChanged(tenantId), { signal });
      try {
        const sent = new Map<string, string>();
        if (input.lastEventId) {
          const [ts, id] = Buffer.from(input.lastEventId, 'base64url').toString().split('|');
          const at = new Date(ts ?? '');
          if (!id || Number.isNaN(at.getTime())) throw new AppError('BAD_INPUT', 'invalid last event id');
          const rows = await withTenant(ctx.db, tenantId, (tx) =>
            tx
              .select()
              .from(proposals)
              .where(
                and(
                  eq(proposals.tenantId, tenantId),
                  or(gt(proposals.updatedAt, at), and(eq(proposals.updatedAt, at), gt(proposals.id, id))),
                ),
              )
              .orderBy(asc(proposals.updatedAt), asc(proposals.id))
              .limit(1000),
          );
          for (const r of rows) {
            const v = toProposalView(r);
            sent.set(v.id, v.updatedAt);
            yield tracked(changeId(v), v);
          }
        }
        for await (const message of feed) {
          const v = JSON.parse(message) as ProposalView;
          // Belt and braces: the channel is per desk, the payload must be too.
          if (sent.get(v.id) === v.updatedAt) continue;
          sent.delete(v.id);
          yield tracked(changeId(v), v);
        }
      } finally {
        await feed.close();
      }
    }),
});
