import { queryInstantString, rangeInOrder } from '@aegis/shared/schemas/instant';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES } from '../audit/chain.ts';
import { audit } from '../audit/service.ts';
import { createTRPCRouter, deskProcedure, protectedProcedure } from '../trpc.ts';

/**
 * The desk's audit trail: read with filters, and verify its hash chain. Desk admins only
 * (permission `audit.read`); RLS and the `tenantId` filter both scope it to the caller's desk.
 * The platform chain (sign-ins of unknown accounts, desk creation, bootstrap) is read by
 * platform administrators through `platformList` / `platformVerify` (permission `audit.platform`);
 * those run without a desk setting, where RLS shows platform rows only.
 */

const shortText = (max: number) => safeText(max);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

const auditEntry = z.object({
  id: z.number().int(),
  tenantId: z.string().nullable(),
  seq: z.number().int(),
  ts: z.string(),
  actorType: z.enum(AUDIT_ACTOR_TYPES),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  outcome: z.enum(AUDIT_OUTCOMES),
  requestId: z.string().nullable(),
  ip: z.string().nullable(),
  payloadDigest: z.string(),
  details: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});

const listInput = z
  .strictObject({
    /** Exact action, or a prefix ending in '.' or '*'. */
    action: shortText(128).optional(),
    actorType: z.enum(AUDIT_ACTOR_TYPES).optional(),
    actorId: shortText(128).optional(),
    targetType: shortText(64).optional(),
    targetId: shortText(128).optional(),
    outcome: z.enum(AUDIT_OUTCOMES).optional(),
    from: queryInstantString.optional(),
    to: queryInstantString.optional(),
    cursor: shortText(64).optional(),
    sinceSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    limit: z.number().int().min(1).max(200).default(50),
  })
  .superRefine(rangeInOrder)
  .default({ limit: 50 });

const verifyInput = z
  .strictObject({
    /** A head recorded earlier; verify then also fails if the chain no longer contains it. */
    anchor: z
      .strictObject({ seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), hash: hex64 })
      .optional(),
  })
  .default({});

const verifyOutput = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    tenantId: z.string().nullable(),
    rows: z.number().int(),
    head: z.object({ seq: z.number().int(), hash: z.string() }),
  }),
  z.object({
    ok: z.literal(false),
    tenantId: z.string().nullable(),
    rows: z.number().int(),
    brokenAtSeq: z.number().int(),
    reason: z.enum(['seq_gap', 'prev_hash_mismatch', 'hash_mismatch', 'anchor_missing']),
  }),
]);

type ListInput = z.output<typeof listInput>;

function listFilters(tenantId: string | null, input: ListInput) {
  return {
    tenantId,
    ...(input.action ? { action: input.action } : {}),
    ...(input.actorType ? { actorType: input.actorType } : {}),
    ...(input.actorId ? { actorId: input.actorId } : {}),
    ...(input.targetType ? { targetType: input.targetType } : {}),
    ...(input.targetId ? { targetId: input.targetId } : {}),
    ...(input.outcome ? { outcome: input.outcome } : {}),
    ...(input.from ? { from: new Date(input.from) } : {}),
    ...(input.to ? { to: new Date(input.to) } : {}),
    ...(input.cursor ? { cursor: input.cursor } : {}),
    ...(input.sinceSeq !== undefined ? { sinceSeq: input.sinceSeq } : {}),
    limit: input.limit,
  };
}

const listOutput = z.object({ items: z.array(auditEntry), nextCursor: z.string().nullable() });

export const auditRouter = createTRPCRouter({
  list: deskProcedure
    .meta({ scope: 'admin', permission: 'audit.read' })
    .input(listInput)
    .output(listOutput)
    .query(({ ctx, input }) => audit.list(ctx.tx, listFilters(ctx.desk.id, input))),

  verify: deskProcedure
    .meta({ scope: 'admin', permission: 'audit.read' })
    .input(verifyInput)
    .output(verifyOutput)
    .query(({ ctx, input }) =>
      audit.verify(ctx.tx, { tenantId: ctx.desk.id, ...(input.anchor ? { anchor: input.anchor } : {}) }),
    ),

  platformList: protectedProcedure
    .meta({ scope: 'admin', permission: 'audit.platform' })
    .input(listInput)
    .output(listOutput)
    .query(({ ctx, input }) => audit.list(ctx.db, listFilters(null, input))),

  platformVerify: protectedProcedure
    .meta({ scope: 'admin', permission: 'audit.platform' })
    .input(verifyInput)
    .output(verifyOutput)
    .query(({ ctx, input }) =>
      audit.verify(ctx.db, { tenantId: null, ...(input.anchor ? { anchor: input.anchor } : {}) }),
    ),
});
