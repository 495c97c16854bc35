import { OpenAIDecider } from '@aegis/shared/agent/openai-decider';
import { bucketCapacity, refillPerSecond, tokensAt } from '@aegis/shared/agent/proposal-gate';
import { agentSettings } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { asSignalId, proposalIdSchema, signalIdSchema } from '@aegis/shared/ids';
import { AGENT_SKIP_CODES, agentSkipViewSchema } from '@aegis/shared/schemas/agent-skip';
import { instrumentSymbol } from '@aegis/shared/schemas/order';
import { safeText } from '@aegis/shared/schemas/text';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import type { AgentStatusEvent } from '../agent/agent.ts';
import { type ChatSubject, modelAnswer, ruleAnswer } from '../agent/chat.ts';
import { agentProposalsLastHour, gateStateOf } from '../agent/gate-view.ts';
import { streamsOf } from '../agent/runtime.ts';
import { DEFAULT_AGENT_SETTINGS, readAgentSettings } from '../agent/settings.ts';
import { listSkips } from '../agent/skips.ts';
import { audit } from '../audit/service.ts';
import { authorize } from '../auth/permissions.ts';
import { actorOf } from '../auth/principal.ts';
import { withTenant } from '../db/database.ts';
import { readHalt } from '../execution/risk-context.ts';
import { instrumentRegistryOf } from '../market/instrument-registry.ts';
import { countPending, getProposalRow, toProposalView } from '../proposals/store.ts';
import { openChannelFeed } from '../signals/channel-feed.ts';
import { getSignalView } from '../signals/service.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { decisionsOf } from './proposals.ts';

/**
 * The desk's decision agent: its settings (mode, instruments, pace, risk preset), a chat about a
 * signal or proposal (streamed), and its live state. Switching to autonomous mode needs the
 * `desk.setMode` permission (admin, recent re-auth) and the server's global AUTONOMOUS_ENABLED;
 * a refused switch is audited.
 */
const settingsView = z.object({
  configured: z.boolean(),
  mode: z.enum(['confirmation', 'autonomous']),
  instruments: z.array(z.string()),
  maxProposalsPerHour: z.number().int(),
  riskPreset: z.enum(['conservative', 'balanced', 'aggressive']),
  proposalTtlSeconds: z.number().int(),
  minHoldingSeconds: z.number().int(),
  automationEnabled: z.boolean(),
  automationDisabledReason: z.string().nullable(),
  autonomousAllowed: z.boolean(),
  updatedAt: z.string().nullable(),
});

const settingsInput = z
  .strictObject({
    mode: z.enum(['confirmation', 'autonomous']).optional(),
    instruments: z.array(instrumentSymbol).max(200).optional(),
    maxProposalsPerHour: z.number().int().min(0).max(1000).optional(),
    riskPreset: z.enum(['conservative', 'balanced', 'aggressive']).optional(),
    proposalTtlSeconds: z.number().int().min(10).max(86_400).optional(),
    /** No opposite-side proposal on an instrument sooner, unless its stop or target was hit; 0 = off. */
    minHoldingSeconds: z.number().int().min(0).max(86_400).optional(),
    /** Re-enable automation after a circuit breaker cleared it (admins). */
    automationEnabled: z.boolean().optional(),
  })
  .refine((i) => Object.keys(i).length > 0, 'nothing to change');

const STATES = ['idle', 'thinking', 'waiting_for_approval', 'halted'] as const;

export const agentRouter = createTRPCRouter({
  settings: createTRPCRouter({
    get: deskProcedure
      .meta({ scope: 'read', permission: 'desk.read' })
      .input(z.strictObject({}).optional())
      .output(settingsView)
      .query(async ({ ctx }) => {
        const s = await readAgentSettings(ctx.tx, ctx.desk.id);
        const base = s ?? { ...DEFAULT_AGENT_SETTINGS, updatedAt: null };
        return {
          configured: s !== null,
          mode: base.mode,
          instruments: [...base.instruments],
          maxProposalsPerHour: base.maxProposalsPerHour,
          riskPreset: base.riskPreset,
          proposalTtlSeconds: base.proposalTtlSeconds,
          minHoldingSeconds: base.minHoldingSeconds,
          automationEnabled: base.automationEnabled,
          automationDisabledReason: base.automationDisabledReason,
          autonomousAllowed: ctx.config.autonomousEnabled,
          updatedAt: base.updatedAt?.toISOString() ?? null,
        };
      }),

    set: deskProcedure
      .meta({ scope: 'admin', permission: 'agent.configure' })
      .input(settingsInput)
      .output(z.object({ ok: z.literal(true) }))
      .mutation(async ({ ctx, input }) => {
        // Unknown symbols are refused with the closest known ones, never saved silently.
        if (input.instruments)
          await instrumentRegistryOf(ctx.db).requireAll(input.instruments, 'instruments');
        const current = await readAgentSettings(ctx.tx, ctx.desk.id);
        const currentMode = current?.mode ?? 'confirmation';
        const actor = actorOf(ctx.principal);
        if (input.mode && input.mode !== currentMode) {
          // A mode switch is its own permission: admin, human session, recent re-auth.
          const p = ctx.principal;
          const denial = authorize(
            'desk.setMode',
            {
              kind: p.kind,
              isPlatformAdmin: p.user.isPlatformAdmin,
              role: ctx.desk.role,
              scopes: p.kind === 'api_key' ? p.apiKey.scopes : [],
              reauthenticatedAt: p.kind === 'session' ? p.session.reauthenticatedAt : null,
            },
            new Date(),
            ctx.config.session.reauthWindowMs,
          );
          const refusal =
            denial ??
            (input.mode === 'autonomous' && !ctx.config.autonomousEnabled ? 'autonomous_disabled' : null);
          if (refusal) {
            // The request transaction rolls back with the error: audit the refusal on its own.
            await withTenant(ctx.db, ctx.desk.id, (tx) =>
              audit.record(tx, {
                action: 'agent.setMode',
                actor,
                outcome: 'denied',
                targetType: 'desk',
                targetId: ctx.desk.id,
                requestId: ctx.requestId,
                payload: { from: currentMode, to: input.mode, reason: refusal },
                details: `${currentMode} → ${input.mode} refused: ${refusal}`,
              }),
            );
            if (refusal === 'autonomous_disabled') {
              throw new AppError('FORBIDDEN', 'Autonomous mode is disabled on this server', {
                reason: 'autonomous_disabled',
              });
            }
            throw new AppError(
              'FORBIDDEN',
              'Changing the mode needs an admin with a recent password re-entry',
              {
                reason: refusal,
                permission: 'desk.setMode',
              },
            );
          }
        }
        const values = {
          ...(input.mode ? { mode: input.mode } : {}),
          ...(input.instruments ? { instruments: [...new Set(input.instruments)] } : {}),
          ...(input.maxProposalsPerHour !== undefined
            ? { maxProposalsPerHour: input.maxProposalsPerHour }
            : {}),
          ...(input.riskPreset ? { riskPreset: input.riskPreset } : {}),
          ...(input.proposalTtlSeconds !== undefined ? { proposalTtlSeconds: input.proposalTtlSeconds } : {}),
          ...(input.minHoldingSeconds !== undefined ? { minHoldingSeconds: input.minHoldingSeconds } : {}),
          ...(input.automationEnabled !== undefined
            ? {
                automationEnabled: input.automationEnabled,
                ...(input.automationEnabled ? { automationDisabledReason: null } : {}),
              }
            : {}),
          updatedBy: ctx.principal.user.id,
          updatedAt: new Date(),
        };
        await ctx.tx
          .insert(agentSettings)
          .values({ tenantId: ctx.desk.id, ...values })
          .onConflictDoUpdate({ target: agentSettings.tenantId, set: values });
        await audit.record(ctx.tx, {
          action: input.mode && input.mode !== currentMode ? 'agent.setMode' : 'agent.configure',
          actor,
          targetType: 'desk',
          targetId: ctx.desk.id,
          payload: input,
          details: Object.entries(input)
            .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
            .join(' ')
            .slice(0, 500),
        });
        return { ok: true as const };
      }),
  }),

  /**
   * Signals the agent let go, newest first, each with its code and reason; and the proposal
   * budget as it stands (the token bucket of shared/src/agent/proposal-gate.ts).
   */
  skips: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z
        .strictObject({
          limit: z.number().int().min(1).max(200).default(50),
          instrument: instrumentSymbol.optional(),
          code: z.enum(AGENT_SKIP_CODES).optional(),
        })
        .default({ limit: 50 }),
    )
    .output(
      z.object({
        items: z.array(agentSkipViewSchema),
        budget: z.object({
          maxProposalsPerHour: z.number().int(),
          proposalsLastHour: z.number().int(),
          capacity: z.number().int(),
          tokens: z.number(),
          /** Seconds until the next whole token; 0 when one is available. */
          nextTokenInSeconds: z.number().int(),
          minHoldingSeconds: z.number().int(),
        }),
      }),
    )
    .query(async ({ ctx, input }) => {
      const now = new Date();
      const settings = await readAgentSettings(ctx.tx, ctx.desk.id);
      const max = settings?.maxProposalsPerHour ?? DEFAULT_AGENT_SETTINGS.maxProposalsPerHour;
      const tokens = tokensAt(settings ? gateStateOf(settings) : null, max, now.getTime());
      return {
        items: await listSkips(ctx.tx, ctx.desk.id, {
          limit: input.limit,
          symbol: input.instrument,
          code: input.code,
        }),
        budget: {
          maxProposalsPerHour: max,
          proposalsLastHour: await agentProposalsLastHour(ctx.tx, ctx.desk.id, now),
          capacity: bucketCapacity(max),
          tokens: Math.round(tokens * 100) / 100,
          nextTokenInSeconds: tokens >= 1 || max <= 0 ? 0 : Math.ceil((1 - tokens) / refillPerSecond(max)),
          minHoldingSeconds: settings?.minHoldingSeconds ?? DEFAULT_AGENT_SETTINGS.minHoldingSeconds,
        },
      };
    }),

  /** Ask about a signal or a proposal; the answer streams as text chunks (SSE). */
  chat: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(
      z
        .strictObject({
          question: safeText(2000, { multiline: true }),
          signalId: signalIdSchema.optional(),
          proposalId: proposalIdSchema.optional(),
        })
        .refine((i) => i.signalId || i.proposalId, 'name a signal or a proposal'),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const tenantId = ctx.desk.id;
      const subject: ChatSubject = await withTenant(ctx.db, tenantId, async (tx) => {
        const proposal = input.proposalId
          ? toProposalView(await getProposalRow(tx, tenantId, input.proposalId))
          : null;
        const signalId = input.signalId ?? proposal?.signalId ?? null;
        const sig = signalId ? await getSignalView(tx, asSignalId(signalId)) : null;
        if (input.signalId && !sig) {
          throw new AppError('NOT_FOUND', 'signalId: no such signal', {
            reason: 'unknown_reference',
            field: 'signalId',
          });
        }
        return { signal: sig, proposal };
      });
      const decider = decisionsOf(ctx).agent.decider;
      const chunks =
        decider instanceof OpenAIDecider
          ? modelAnswer(decider.client, decider.model, input.question, subject, signal)
          : ruleAnswer(input.question, subject);
      let n = 0;
      for await (const text of chunks) {
        n++;
        yield { seq: n, text, done: false };
      }
      yield { seq: n + 1, text: '', done: true };
    }),

  /** The agent's state for the desk, live: current state first, then every change. */
  status: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).optional())
    .subscription(async function* ({ ctx, signal }) {
      const tenantId = ctx.desk.id;
      const feed = await openChannelFeed(ctx.bus, streamsOf(ctx).agentStatus(tenantId), { signal });
      try {
        const now = new Date();
        const initial = await withTenant(ctx.db, tenantId, async (tx) => {
          const [settings, halt, pending] = [
            await readAgentSettings(tx, tenantId),
            await readHalt(tx, tenantId),
            await countPending(tx, tenantId, now),
          ];
          const halted = halt.global || halt.desk || settings?.automationEnabled === false;
          const state: (typeof STATES)[number] = halted
            ? 'halted'
            : pending > 0
              ? 'waiting_for_approval'
              : 'idle';
          return {
            state,
            at: now.toISOString(),
            ...(halted ? { detail: halt.global || halt.desk ? 'halt engaged' : 'automation disabled' } : {}),
          } satisfies AgentStatusEvent;
        });
        let seq = 0;
        yield tracked(String(++seq), initial);
        for await (const message of feed) {
          const event = JSON.parse(message) as AgentStatusEvent;
          if (!STATES.includes(event.state)) continue;
          yield tracked(String(++seq), event);
        }
      } finally {
        await feed.close();
      }
    }),
});
