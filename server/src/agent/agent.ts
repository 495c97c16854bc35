import type { Decider, DecisionInput } from '@aegis/shared/agent/decider';
import { consumeToken, type GateVerdict, gateProposal } from '@aegis/shared/agent/proposal-gate';
import { presetMinScore } from '@aegis/shared/agent/rule-decider';
import type { Bus } from '@aegis/shared/bus/types';
import { agentSettings, proposals, tenants } from '@aegis/shared/db';
import { asProposalId, asSignalId, asTenantId, type SignalId, type TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import { AgentSkipCode } from '@aegis/shared/schemas/agent-skip';
import type { SignalView } from '@aegis/shared/schemas/signal';
import { and, eq, sql } from 'drizzle-orm';
import { audit } from '../audit/service.ts';
import { type Db, type Tx, withTenant } from '../db/database.ts';
import { norm } from '../execution/order-rows.ts';
import { readHalt } from '../execution/risk-context.ts';
import type { Embedder } from '../lessons/embedder.ts';
import { queryLessons, recallTextFor } from '../lessons/service.ts';
import {
  countPending,
  insertProposal,
  toProposalView,
  tradeOrderInput,
  verdictOf,
} from '../proposals/store.ts';
import type { ProposalWorkflow } from '../proposals/workflow.ts';
import type { DecisionStreams } from '../signals/streams.ts';
import { loadDeskSnapshot } from './desk-snapshot.ts';
import { gateSettingsOf, gateStateOf, loadGateView } from './gate-view.ts';
import { type AgentSettingsRow, readAgentSettings } from './settings.ts';
import { alreadySkipped, recordSkip, type Skip } from './skips.ts';

/**
 * The decision agent: for each stored signal, for each desk whose agent covers the instrument,
 * recall lessons, build the desk's context, ask the decider, check the answer with the risk
 * governor and store a pending proposal (with its verdict per rule). In autonomous mode (and
 * only when the server allows autonomy) a proposal the governor passes is approved and executed
 * at once; otherwise it waits for a trader.
 *
 * Pacing (shared/src/agent/proposal-gate.ts): before the decider is asked, the proposal gate
 * checks duplicates, flip-flops, the hourly cap and the desk's token bucket; it is asked again
 * under the desk's row lock when the proposal is stored, and the bucket lives in that row, so
 * any number of server processes share one budget. Every signal let go (gate, preset minimum,
 * halt, automation off, staleness, no reference data, the decider declining) is stored in
 * `agent_skips` with its code and reason, and announced on the status channel.
 *
 * Idempotent per (desk, signal): a redelivered signal finds its proposal (or its skip) and does
 * nothing new, so the consumer can retry freely. The decider runs outside any transaction (a
 * model call takes seconds).
 */
export type AgentState = 'idle' | 'thinking' | 'waiting_for_approval' | 'halted';

export interface AgentStatusEvent {
  readonly state: AgentState;
  readonly at: string;
  readonly signalId?: string;
  readonly proposalId?: string;
  readonly detail?: string;
  /** Set when the event reports a skipped signal. */
  readonly skip?: { readonly code: AgentSkipCode; readonly reason: string };
}

export interface DecisionAgentDeps {
  readonly db: Db;
  readonly bus: Bus;
  readonly log: Logger;
  readonly streams: DecisionStreams;
  readonly decider: Decider;
  readonly embedder: Embedder;
  readonly workflow: ProposalWorkflow;
  readonly autonomousEnabled: boolean;
  /** Signals older than this get no proposal (e.g. a backlog replayed after downtime). */
  readonly maxSignalAgeMs?: number;
  /** Lessons recalled into each decision. */
  readonly lessonsK?: number;
  readonly clock?: () => Date;
}

export class DecisionAgent {
  readonly #d: DecisionAgentDeps;
  proposed = 0;
  discarded = 0;

  constructor(deps: DecisionAgentDeps) {
    this.#d = deps;
  }

  get decider(): Decider {
    return this.#d.decider;
  }

  #now(): Date {
    return this.#d.clock?.() ?? new Date();
  }

  /** Called by the signal consumer before it acknowledges the entry. Throws to leave it pending. */
  async onSignal(signal: SignalView): Promise<void> {
    // `tenants` has no RLS: the list of desks; each desk's data is then read under its own tenant.
    const desks = (await this.#d.db.select({ id: tenants.id }).from(tenants)).map((d) => asTenantId(d.id));
    // Desks decide concurrently: one desk's slow model call does not hold up the others.
    const results = await Promise.allSettled(desks.map((tenantId) => this.decideForDesk(tenantId, signal)));
    let failure: unknown = null;
    for (const [k, r] of results.entries()) {
      if (r.status === 'fulfilled') continue;
      const tenantId = desks[k]!;
      failure = r.reason;
      this.#d.log.error({ err: r.reason, tenantId, signalId: signal.id }, 'agent: decision failed');
      await this.status(tenantId, {
        state: 'idle',
        at: this.#now().toISOString(),
        detail: 'decision failed',
      });
    }
    if (failure) throw failure;
  }

  /**
   * One desk, one signal: the desk's proposal id, or null (not the desk's instrument, already
   * proposed, or skipped — a skip is stored in `agent_skips` with its code and reason).
   */
  async decideForDesk(tenantId: TenantId, signal: SignalView): Promise<string | null> {
    const { db } = this.#d;
    const signalId = asSignalId(signal.id);
    const now = this.#now();
    const prep = await withTenant(db, tenantId, async (tx) => {
      const settings = await readAgentSettings(tx, tenantId);
      // Instruments the desk did not choose are not its signals: nothing to record (a row per
      // market signal per desk would bury the skips that matter).
      if (!settings?.instruments.includes(signal.symbol)) return null;
      // A redelivered signal keeps its first outcome: its proposal, or its skip (no second
      // model call for a signal already let go).
      if (await this.#alreadyProposed(tx, tenantId, signalId)) return null;
      if (await alreadySkipped(tx, tenantId, signalId)) return null;
      const skip = async (s: Skip) => {
        await recordSkip(tx, tenantId, signal, s, now);
        return { skipped: s };
      };
      if (!settings.automationEnabled) {
        return skip({
          code: AgentSkipCode.NOT_COVERED,
          reason: `automation is off for this desk${settings.automationDisabledReason ? `: ${settings.automationDisabledReason}` : ''}`,
        });
      }
      const ageMs = now.getTime() - Date.parse(signal.tsSignal);
      const maxAgeMs = this.#d.maxSignalAgeMs ?? 300_000;
      if (ageMs > maxAgeMs) {
        return skip({
          code: AgentSkipCode.STALE_SIGNAL,
          reason: `signal is ${Math.round(ageMs / 1000)} s old; the agent acts on signals up to ${Math.round(maxAgeMs / 1000)} s old`,
          details: { ageMs, maxAgeMs },
        });
      }
      // Halted desks get no proposals (and spend no model tokens); the governor would deny anyway.
      const halt = await readHalt(tx, tenantId);
      if (halt.global || halt.desk) {
        const s = await skip({
          code: AgentSkipCode.HALTED,
          reason: `halt engaged (${halt.global ? 'platform' : 'desk'})`,
        });
        return { ...s, halted: true as const };
      }
      const minScore = presetMinScore(settings.riskPreset);
      if (signal.score < minScore) {
        return skip({
          code: AgentSkipCode.BELOW_MIN_SCORE,
          reason: `score ${signal.score.toFixed(2)} below the ${settings.riskPreset} minimum ${minScore}`,
          details: { score: signal.score, minScore },
        });
      }
      const gate = await this.#gate(tx, tenantId, signal, settings, now);
      if (!gate.allow) return skip(gate);
      const desk = await loadDeskSnapshot(tx, tenantId, signal.symbol, settings.riskPreset, now);
      // No reference data, no order: skip before spending model tokens on it.
      if (desk.lotSize === null) {
        return skip({
          code: AgentSkipCode.UNTRADABLE,
          reason: `${signal.symbol} is unknown to reference data (no lot size); no order could be placed`,
        });
      }
      const lessons = await queryLessons(
        tx,
        tenantId,
        this.#d.embedder,
        recallTextFor(signal),
        this.#d.lessonsK ?? 3,
      );
      return { settings, input: { signal, desk, lessons } satisfies DecisionInput };
    });
    if (!prep) return null;
    if ('skipped' in prep) {
      await this.#skipped(tenantId, signal, prep.skipped, 'halted' in prep);
      return null;
    }

    await this.status(tenantId, { state: 'thinking', at: now.toISOString(), signalId: signal.id });
    const outcome = await this.#d.decider.decide(prep.input);
    if (!outcome.proposal) {
      this.discarded++;
      const skip: Skip = {
        code: AgentSkipCode.DECIDER_DECLINED,
        reason: `${outcome.decider === 'openai' ? 'model' : 'rules'}: ${outcome.reason ?? 'no proposal'}`,
        details: {
          decider: outcome.decider,
          // Spent even when nothing came of it.
          promptTokens: outcome.promptTokens,
          completionTokens: outcome.completionTokens,
          latencyMs: outcome.latencyMs,
          attempts: outcome.attempts,
        },
      };
      await withTenant(db, tenantId, (tx) => recordSkip(tx, tenantId, signal, skip, this.#now()));
      await this.#skipped(tenantId, signal, skip, false);
      return null;
    }
    const proposal = outcome.proposal;
    const exec = this.#d.workflow;
    const decision = await exec.check(tenantId, tradeOrderInput(proposal), 'agent');
    const createdAt = this.#now();
    const created = await withTenant(db, tenantId, async (tx) => {
      // A concurrent delivery may have won while the decider ran; the lock makes the check and
      // the insert one step per (desk, signal).
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`proposal:${tenantId}:${signal.id}`}, 0))`,
      );
      if (await this.#alreadyProposed(tx, tenantId, signalId)) return null;
      // The desk's row lock: every server storing a proposal for this desk queues here, so the
      // gate is asked again with what the others stored meanwhile and the bucket is shared.
      const [settings] = await tx
        .select()
        .from(agentSettings)
        .where(eq(agentSettings.tenantId, tenantId))
        .for('update');
      if (!settings) return null;
      const gate = await this.#gate(tx, tenantId, signal, settings, createdAt);
      if (!gate.allow) {
        await recordSkip(tx, tenantId, signal, gate, createdAt);
        return { skipped: gate };
      }
      const row = await insertProposal(tx, {
        tenantId,
        signalId,
        proposal,
        outcome,
        verdict: decision ? verdictOf(decision, createdAt) : null,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + prep.settings.proposalTtlSeconds * 1000),
      });
      const bucket = consumeToken(gateStateOf(settings), settings.maxProposalsPerHour, createdAt.getTime());
      await tx
        .update(agentSettings)
        .set({
          proposalTokens: bucket?.tokens ?? null,
          proposalTokensAt: bucket ? new Date(bucket.atMs) : null,
        })
        .where(eq(agentSettings.tenantId, tenantId));
      await audit.record(tx, {
        action: 'proposals.create',
        actor: { type: 'agent', id: outcome.decider },
        targetType: 'proposal',
        targetId: row.id,
        payload: {
          signalId: signal.id,
          decider: outcome.decider,
          model: outcome.model,
          lessons: row.lessonIds,
        },
        details: `${row.side} ${norm(proposal.quantity)} ${row.symbol} (${outcome.decider}, risk ${row.riskScore})`,
      });
      return { row };
    });
    if (!created) return null;
    if (!created.row) {
      if (created.skipped) await this.#skipped(tenantId, signal, created.skipped, false);
      return null;
    }
    const row = created.row;
    this.proposed++;
    await exec.publish(tenantId, toProposalView(row));
    this.#d.log.info(
      {
        tenantId,
        signalId: signal.id,
        proposalId: row.id,
        decider: outcome.decider,
        latencyMs: outcome.latencyMs,
      },
      'agent: proposal created',
    );

    const autonomous =
      prep.settings.mode === 'autonomous' && this.#d.autonomousEnabled && prep.settings.automationEnabled;
    if (autonomous && decision?.allowed) {
      await exec
        .approve({
          tenantId,
          proposalId: asProposalId(row.id),
          actor: { type: 'agent', id: 'autonomous' },
          userId: null,
          reason: 'autonomous mode: governor passed',
          origin: 'agent',
        })
        .catch((err) => this.#d.log.error({ err, proposalId: row.id }, 'agent: autonomous execution failed'));
    }
    await this.#settle(tenantId, { signalId: signal.id, proposalId: row.id });
    return row.id;
  }

  async #gate(
    tx: Tx,
    tenantId: TenantId,
    signal: SignalView,
    settings: AgentSettingsRow,
    now: Date,
  ): Promise<GateVerdict> {
    const price = signal.price === null ? null : Number(signal.price);
    return gateProposal(
      gateStateOf(settings),
      gateSettingsOf(settings),
      {
        symbol: signal.symbol,
        direction: signal.direction,
        score: signal.score,
        price: price !== null && Number.isFinite(price) ? price : null,
      },
      await loadGateView(tx, tenantId, signal.symbol, now),
      now.getTime(),
    );
  }

  /** A skip is logged and shown live; the row is already stored. */
  async #skipped(tenantId: TenantId, signal: SignalView, skip: Skip, halted: boolean): Promise<void> {
    this.#d.log.info(
      {
        tenantId,
        signalId: signal.id,
        symbol: signal.symbol,
        code: skip.code,
        reason: skip.reason,
        ...skip.details,
      },
      'agent: signal skipped',
    );
    if (halted) {
      await this.status(tenantId, {
        state: 'halted',
        at: this.#now().toISOString(),
        signalId: signal.id,
        detail: 'halt engaged',
      });
      return;
    }
    await this.#settle(tenantId, {
      signalId: signal.id,
      detail: `skipped ${signal.symbol}: ${skip.reason}`,
      skip: { code: skip.code, reason: skip.reason },
    });
  }

  async #alreadyProposed(tx: Tx, tenantId: TenantId, signalId: SignalId): Promise<boolean> {
    const rows = await tx
      .select({ id: proposals.id })
      .from(proposals)
      .where(and(eq(proposals.tenantId, tenantId), eq(proposals.signalId, signalId)))
      .limit(1);
    return rows.length > 0;
  }

  /** After a decision: waiting when proposals are pending, else idle. */
  async #settle(tenantId: TenantId, extra: Omit<AgentStatusEvent, 'state' | 'at'>): Promise<void> {
    const pending = await withTenant(this.#d.db, tenantId, (tx) => countPending(tx, tenantId, this.#now()));
    await this.status(tenantId, {
      state: pending > 0 ? 'waiting_for_approval' : 'idle',
      at: this.#now().toISOString(),
      ...extra,
    });
  }

  async status(tenantId: TenantId, event: AgentStatusEvent): Promise<void> {
    await this.#d.bus
      .publish(this.#d.streams.agentStatus(tenantId), JSON.stringify(event))
      .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'agent status publish failed'));
  }
}
