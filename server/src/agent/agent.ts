import type { Decider, DecisionInput } from '@aegis/shared/agent/decider';
import type { Bus } from '@aegis/shared/bus/types';
import { proposals, tenants } from '@aegis/shared/db';
import type { Logger } from '@aegis/shared/logging';
import type { SignalView } from '@aegis/shared/schemas/signal';
import { and, eq, gte, ne, sql } from 'drizzle-orm';
import { audit } from '../audit/service.ts';
import { type Db, type Tx, withTenant } from '../db/database.ts';
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
import { agentCovers, readAgentSettings } from './settings.ts';

/**
 * The decision agent: for each stored signal, for each desk whose agent covers the instrument,
 * recall lessons, build the desk's context, ask the decider, check the answer with the risk
 * governor and store a pending proposal (with its verdict per rule). In autonomous mode (and
 * only when the server allows autonomy) a proposal the governor passes is approved and executed
 * at once; otherwise it waits for a trader.
 *
 * Idempotent per (desk, signal): a redelivered signal finds its proposal and does nothing, so the
 * consumer can retry freely. The decider runs outside any transaction (a model call takes
 * seconds); the per-desk rate limit and the duplicate check are repeated when inserting.
 */
export type AgentState = 'idle' | 'thinking' | 'waiting_for_approval' | 'halted';

export interface AgentStatusEvent {
  readonly state: AgentState;
  readonly at: string;
  readonly signalId?: string;
  readonly proposalId?: string;
  readonly detail?: string;
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
    const age = this.#now().getTime() - Date.parse(signal.tsSignal);
    if (age > (this.#d.maxSignalAgeMs ?? 300_000)) return;
    // `tenants` has no RLS: the list of desks; each desk's data is then read under its own tenant.
    const desks = await this.#d.db.select({ id: tenants.id }).from(tenants);
    // Desks decide concurrently: one desk's slow model call does not hold up the others.
    const results = await Promise.allSettled(desks.map((desk) => this.decideForDesk(desk.id, signal)));
    let failure: unknown = null;
    for (const [k, r] of results.entries()) {
      if (r.status === 'fulfilled') continue;
      const tenantId = desks[k]!.id;
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

  async decideForDesk(tenantId: string, signal: SignalView): Promise<string | null> {
    const { db, log } = this.#d;
    const now = this.#now();
    const prep = await withTenant(db, tenantId, async (tx) => {
      const settings = await readAgentSettings(tx, tenantId);
      if (!agentCovers(settings, signal.symbol) || !settings) return null;
      if (await this.#alreadyProposed(tx, tenantId, signal.id)) return null;
      // Halted desks get no proposals (and spend no model tokens); the governor would deny anyway.
      const halt = await readHalt(tx, tenantId);
      if (halt.global || halt.desk) return { halted: true as const };
      if ((await this.#proposalsLastHour(tx, tenantId, now)) >= settings.maxProposalsPerHour) {
        log.info({ tenantId, signalId: signal.id }, 'agent: proposals per hour reached; signal skipped');
        return null;
      }
      const desk = await loadDeskSnapshot(tx, tenantId, signal.symbol, settings.riskPreset, now);
      // No reference data, no order: skip before spending model tokens on it.
      if (desk.lotSize === null) return { untradable: true as const };
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
    if ('untradable' in prep) {
      log.warn(
        { tenantId, signalId: signal.id, symbol: signal.symbol },
        'agent: instrument unknown to reference data; no proposal',
      );
      return null;
    }
    if ('halted' in prep) {
      await this.status(tenantId, {
        state: 'halted',
        at: now.toISOString(),
        signalId: signal.id,
        detail: 'kill switch engaged',
      });
      return null;
    }

    await this.status(tenantId, { state: 'thinking', at: now.toISOString(), signalId: signal.id });
    const outcome = await this.#d.decider.decide(prep.input);
    if (!outcome.proposal) {
      this.discarded++;
      log.info(
        {
          tenantId,
          signalId: signal.id,
          decider: outcome.decider,
          reason: outcome.reason,
          // Spent even when nothing came of it.
          promptTokens: outcome.promptTokens,
          completionTokens: outcome.completionTokens,
          latencyMs: outcome.latencyMs,
          attempts: outcome.attempts,
        },
        'agent: no proposal',
      );
      await this.#settle(tenantId, { signalId: signal.id, detail: outcome.reason ?? 'no proposal' });
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
      if (await this.#alreadyProposed(tx, tenantId, signal.id)) return null;
      const row = await insertProposal(tx, {
        tenantId,
        signalId: signal.id,
        proposal,
        outcome,
        verdict: decision ? verdictOf(decision, createdAt) : null,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + prep.settings.proposalTtlSeconds * 1000),
      });
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
        details: `${row.side} ${proposal.quantity} ${row.symbol} (${outcome.decider}, risk ${row.riskScore})`,
      });
      return row;
    });
    if (!created) return null;
    this.proposed++;
    await exec.publish(tenantId, toProposalView(created));
    log.info(
      {
        tenantId,
        signalId: signal.id,
        proposalId: created.id,
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
          proposalId: created.id,
          actor: { type: 'agent', id: 'autonomous' },
          userId: null,
          reason: 'autonomous mode: governor passed',
          origin: 'agent',
        })
        .catch((err) => log.error({ err, proposalId: created.id }, 'agent: autonomous execution failed'));
    }
    await this.#settle(tenantId, { signalId: signal.id, proposalId: created.id });
    return created.id;
  }

  async #alreadyProposed(tx: Tx, tenantId: string, signalId: string): Promise<boolean> {
    const rows = await tx
      .select({ id: proposals.id })
      .from(proposals)
      .where(and(eq(proposals.tenantId, tenantId), eq(proposals.signalId, signalId)))
      .limit(1);
    return rows.length > 0;
  }

  async #proposalsLastHour(tx: Tx, tenantId: string, now: Date): Promise<number> {
    const [r] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(proposals)
      .where(
        and(
          eq(proposals.tenantId, tenantId),
          ne(proposals.decider, 'human'),
          gte(proposals.createdAt, new Date(now.getTime() - 3_600_000)),
        ),
      );
    return Number(r?.n ?? 0);
  }

  /** After a decision: waiting when proposals are pending, else idle. */
  async #settle(
    tenantId: string,
    extra: { signalId?: string; proposalId?: string; detail?: string },
  ): Promise<void> {
    const pending = await withTenant(this.#d.db, tenantId, (tx) => countPending(tx, tenantId, this.#now()));
    await this.status(tenantId, {
      state: pending > 0 ? 'waiting_for_approval' : 'idle',
      at: this.#now().toISOString(),
      ...extra,
    });
  }

  async status(tenantId: string, event: AgentStatusEvent): Promise<void> {
    await this.#d.bus
      .publish(this.#d.streams.agentStatus(tenantId), JSON.stringify(event))
      .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'agent status publish failed'));
  }
}
