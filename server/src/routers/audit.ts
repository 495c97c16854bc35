import { hostname } from 'node:os';
import { AppError } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { queryInstantString, rangeInOrder } from '@aegis/shared/schemas/instant';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES } from '../audit/chain.ts';
import { deskView, platformTx, platformView, type ViewFilters } from '../audit/desk-view.ts';
import { exportAuditCsv } from '../audit/export.ts';
import { audit } from '../audit/service.ts';
import { chainLength, readVerifyJob, SYNC_VERIFY_MAX_ROWS, startVerifyJob } from '../audit/verify-job.ts';
import { createTRPCRouter, deskProcedure, protectedProcedure } from '../trpc.ts';

/**
 * The desk's audit trail: read with filters, export as CSV, and verify its hash chain. Desk
 * admins only (permission `audit.read`). `list` shows the desk's chain merged by time with the
 * platform events that concern the desk (its members' sign-ins and password changes, global
 * halts; see audit/desk-view.ts); each row names its `chain` and its actor in words (`actorName`).
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
  /** The chain the row (and its seq) belongs to: the desk's, or the platform's. */
  chain: z.enum(['desk', 'platform']),
  /** The actor in words: "Ada Lovelace", "key ci-bot (Ada Lovelace)", "decision agent", "system". */
  actorName: z.string(),
});

const filterFields = {
  /** Exact action, or a prefix ending in '.' or '*' (`auth.login`, `auth.`, `auth*`). */
  action: shortText(128).optional(),
  actorType: z.enum(AUDIT_ACTOR_TYPES).optional(),
  actorId: shortText(128).optional(),
  targetType: shortText(64).optional(),
  targetId: shortText(128).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  from: queryInstantString.optional(),
  to: queryInstantString.optional(),
  /** One chain only (`desk`: the desk's own chain, as before platform rows were merged in). */
  chain: z.enum(['desk', 'platform']).optional(),
};

const listInput = z
  .strictObject({
    ...filterFields,
    cursor: shortText(96).optional(),
    /** Desk-chain rows newer than this seq only (following the chain); platform rows are left out. */
    sinceSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    limit: z.number().int().min(1).max(200).default(50),
  })
  .superRefine(rangeInOrder)
  .default({ limit: 50 });

const exportInput = z.strictObject(filterFields).superRefine(rangeInOrder).default({});
const exportOutput = z.object({
  filename: z.string(),
  contentType: z.literal('text/csv'),
  csv: z.string(),
  rows: z.number().int(),
  truncated: z.boolean(),
});

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

type FilterInput = Partial<
  Pick<z.output<typeof listInput>, keyof typeof filterFields | 'cursor' | 'sinceSeq'>
>;

function viewFilters(input: FilterInput, limit: number): ViewFilters {
  return {
    ...(input.action ? { action: input.action } : {}),
    ...(input.actorType ? { actorType: input.actorType } : {}),
    ...(input.actorId ? { actorId: input.actorId } : {}),
    ...(input.targetType ? { targetType: input.targetType } : {}),
    ...(input.targetId ? { targetId: input.targetId } : {}),
    ...(input.outcome ? { outcome: input.outcome } : {}),
    ...(input.from ? { from: new Date(input.from) } : {}),
    ...(input.to ? { to: new Date(input.to) } : {}),
    ...(input.chain ? { chain: input.chain } : {}),
    ...(input.cursor ? { cursor: input.cursor } : {}),
    ...(input.sinceSeq !== undefined ? { sinceSeq: input.sinceSeq } : {}),
    limit,
  };
}

const verifyResult = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    rows: z.number().int(),
    head: z.object({ seq: z.number().int(), hash: z.string() }),
  }),
  z.object({
    ok: z.literal(false),
    rows: z.number().int(),
    brokenAtSeq: z.number().int(),
    reason: z.enum(['seq_gap', 'prev_hash_mismatch', 'hash_mismatch', 'anchor_missing']),
  }),
]);
const verifyJobOutput = z.object({
  id: z.string(),
  tenantId: z.string().nullable(),
  /** `interrupted`: the server walking the chain stopped (restart); start a new job. */
  status: z.enum(['running', 'succeeded', 'failed', 'interrupted']),
  checked: z.number().int(),
  total: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  result: verifyResult.nullable(),
  error: z.string().nullable(),
});
const verifyJobInput = z.strictObject({ jobId: z.uuid() });

/** The synchronous verify walks the chain inside the request: refused for long chains. */
async function refuseLongChain(tx: Parameters<typeof chainLength>[0], tenantId: TenantId | null) {
  const n = await chainLength(tx, tenantId);
  if (n > SYNC_VERIFY_MAX_ROWS) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `The chain has ${n} rows (over ${SYNC_VERIFY_MAX_ROWS}): verify it in the background with verifyStart and follow verifyProgress`,
      { reason: 'chain_too_long' },
    );
  }
}

const jobOwner = `${hostname()}:${process.pid}`;

const listOutput = z.object({ items: z.array(auditEntry), nextCursor: z.string().nullable() });

export const auditRouter = createTRPCRouter({
  list: deskProcedure
    .meta({ scope: 'admin', permission: 'audit.read' })
    .input(listInput)
    .output(listOutput)
    .query(({ ctx, input }) => deskView(ctx.tx, ctx.desk.id, viewFilters(input, input.limit))),

  /** The filtered view (as `list` pages through it) as CSV, up to 50,000 rows. */
  export: deskProcedure
    .meta({ scope: 'admin', permission: 'audit.read' })
    .input(exportInput)
    .output(exportOutput)
    .query(({ ctx, input }) =>
      exportAuditCsv((f) => deskView(ctx.tx, ctx.desk.id, f), viewFilters(input, 1000), new Date(), 'desk'),
    ),

  verify: deskProcedure
    .meta({ scope: 'admin', permission: 'audit.read' })
    .input(verifyInput)
    .output(verifyOutput)
    .query(async ({ ctx, input }) => {
      await refuseLongChain(ctx.tx, ctx.desk.id);
      return audit.verify(ctx.tx, {
        tenantId: ctx.desk.id,
        ...(input.anchor ? { anchor: input.anchor } : {}),
      });
    }),

  /** Verifies the desk's chain in the background; follow it with `verifyProgress`. */
  verifyStart: deskProcedure
    .meta({ scope: 'admin', permission: 'audit.read' })
    .input(verifyInput)
    .output(z.object({ jobId: z.string(), total: z.number().int() }))
    .mutation(({ ctx, input }) =>
      startVerifyJob(ctx.tx, ctx.db, ctx.log, {
        tenantId: ctx.desk.id,
        owner: jobOwner,
        ...(input.anchor ? { anchor: input.anchor } : {}),
      }),
    ),

  /** Rows checked so far of the total, and the result once done. */
  verifyProgress: deskProcedure
    .meta({ scope: 'admin', permission: 'audit.read' })
    .input(verifyJobInput)
    .output(verifyJobOutput)
    .query(async ({ ctx, input }) => {
      const job = await readVerifyJob(ctx.tx, input.jobId, ctx.desk.id);
      if (!job) throw new AppError('NOT_FOUND', 'No such verify job on this desk');
      return job;
    }),

  platformList: protectedProcedure
    .meta({ scope: 'admin', permission: 'audit.platform' })
    .input(listInput)
    .output(listOutput)
    .query(({ ctx, input }) => platformView(ctx.db, viewFilters(input, input.limit))),

  platformExport: protectedProcedure
    .meta({ scope: 'admin', permission: 'audit.platform' })
    .input(exportInput)
    .output(exportOutput)
    .query(({ ctx, input }) =>
      exportAuditCsv((f) => platformView(ctx.db, f), viewFilters(input, 1000), new Date(), 'platform'),
    ),

  platformVerify: protectedProcedure
    .meta({ scope: 'admin', permission: 'audit.platform' })
    .input(verifyInput)
    .output(verifyOutput)
    .query(async ({ ctx, input }) => {
      await platformTx(ctx.db, (tx) => refuseLongChain(tx, null));
      return audit.verify(ctx.db, { tenantId: null, ...(input.anchor ? { anchor: input.anchor } : {}) });
    }),

  platformVerifyStart: protectedProcedure
    .meta({ scope: 'admin', permission: 'audit.platform' })
    .input(verifyInput)
    .output(z.object({ jobId: z.string(), total: z.number().int() }))
    .mutation(({ ctx, input }) =>
      platformTx(ctx.db, (tx) =>
        startVerifyJob(tx, ctx.db, ctx.log, {
          tenantId: null,
          owner: jobOwner,
          ...(input.anchor ? { anchor: input.anchor } : {}),
        }),
      ),
    ),

  platformVerifyProgress: protectedProcedure
    .meta({ scope: 'admin', permission: 'audit.platform' })
    .input(verifyJobInput)
    .output(verifyJobOutput)
    .query(async ({ ctx, input }) => {
      const job = await platformTx(ctx.db, (tx) => readVerifyJob(tx, input.jobId, null));
      if (!job) throw new AppError('NOT_FOUND', 'No such platform verify job');
      return job;
    }),
});
