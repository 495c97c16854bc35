// Over 400 lines on purpose: one pass's chain of decisions per target (gates, band, sizing,
// proposal or order, recorded outcome) reads top to bottom in one place; the sizing is
// shared/src/options/delta-hedge.ts and the persistence store.ts.

import type { DecisionOutcome } from '@aegis/shared/agent/decider';
import { hedgeActions, orders, proposals } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import { planHedge } from '@aegis/shared/options/delta-hedge';
import { groupOf, unitGreeks } from '@aegis/shared/options/greeks-book';
import { sessionState } from '@aegis/shared/risk/calendars';
import type { RiskDecision } from '@aegis/shared/risk/governor';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import type { ProposalView, TradeProposal } from '@aegis/shared/schemas/proposal';
import { and, eq, inArray, or, sql } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { QuoteBook } from '../brokers/quote-book.ts';
import { type Db, type Tx, withTenant } from '../db/database.ts';
import { readHalt, WORKING_STATUSES } from '../execution/risk-context.ts';
import type { PlaceOrderRequest } from '../execution/service.ts';
import { insertProposal, toProposalView, verdictOf } from '../proposals/store.ts';
import { type GreeksOptions, type LoadedDeskGreeks, loadDeskGreeks } from './desk-greeks.ts';
import {
  type HedgeMode,
  lastAction,
  type NewHedgeAction,
  readHedgeMode,
  readHedgeSettings,
  recordAction,
} from './store.ts';

/**
 * The delta-neutral hedger of a desk: one pass looks at each target (an underlying, the linear
 * instrument that hedges it, a band) and, when the group's net delta is outside the band,
 * proposes (confirmation mode) or places (autonomous mode, when the server allows it) the
 * hedge that brings it back toward zero (shared/src/options/delta-hedge.ts). Nothing happens
 * while a previous hedge order for the target is still working, or while a hedge proposal for
 * it is pending. A pass that cannot act (halt, market closed, governor denial, missing
 * prices) records a skipped action with the reason; the governor checks every hedge like any
 * other order (net delta, open legs and the rest).
 */

/** The audit and idempotency principal of hedges: `agent:hedger`. */
export const HEDGER_ACTOR = Object.freeze({ type: 'agent' as const, id: 'hedger' });
const HEDGER_PRINCIPAL = `${HEDGER_ACTOR.type}:${HEDGER_ACTOR.id}`;

/** What the hedger needs of the execution service (ExecutionRuntime provides it). */
export interface HedgeExecutor {
  readonly quotes: QuoteBook;
  readonly orders: {
    place(req: PlaceOrderRequest): Promise<{ id: string; status: string; rejectReason: string | null }>;
    check(tenantId: TenantId, input: PlaceOrderInput, origin: 'agent'): Promise<RiskDecision>;
  };
}

export interface DeltaHedgerDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly execution: () => HedgeExecutor | undefined;
  readonly autonomousEnabled: boolean;
  readonly greeks: GreeksOptions;
  /** Fan-out of a new proposal to the desk's live subscribers (the proposal workflow's). */
  readonly publishProposal?: (tenantId: TenantId, view: ProposalView) => Promise<void>;
  readonly clock?: () => Date;
}

export interface HedgeTarget {
  readonly underlying: string;
  readonly hedgeSymbol: string;
  readonly band: string;
}

/** The outcome of a pass for one target (tests and logs). */
export type TargetOutcome =
  | 'disabled'
  | 'inside_band'
  | 'waiting_order'
  | 'waiting_proposal'
  | 'proposed'
  | 'placed'
  | 'skipped';

/** The denied rules and their codes (stable text: a repeated denial is recorded once). */
const describeDenial = (d: RiskDecision) =>
  d.denials.map((v) => `${v.rule} ${v.code ?? 'failed'}`).join(', ');

export class DeltaHedger {
  readonly #d: DeltaHedgerDeps;
  passes = 0;

  constructor(deps: DeltaHedgerDeps) {
    this.#d = deps;
  }

  #now(): Date {
    return this.#d.clock?.() ?? new Date();
  }

  /** One pass over the desk's targets. Returns the outcome per underlying (none when disabled). */
  async runDesk(tenantId: TenantId): Promise<Map<string, TargetOutcome>> {
    const out = new Map<string, TargetOutcome>();
    const ex = this.#d.execution();
    if (!ex) return out;
    const now = this.#now();
    const prep = await withTenant(this.#d.db, tenantId, async (tx) => {
      const settings = await readHedgeSettings(tx, tenantId);
      if (!settings?.enabled || settings.targets.length === 0) return null;
      const mode = await readHedgeMode(tx, tenantId, this.#d.autonomousEnabled);
      const halt = await readHalt(tx, tenantId);
      const loaded = await loadDeskGreeks(tx, tenantId, ex.quotes, now, this.#d.greeks);
      const working = await tx
        .selectDistinct({ symbol: orders.symbol })
        .from(orders)
        .where(
          and(
            eq(orders.tenantId, tenantId),
            inArray(orders.status, [...WORKING_STATUSES]),
            // The hedger's own orders, and those of its proposals a trader approved.
            or(
              eq(orders.createdBy, HEDGER_PRINCIPAL),
              sql`${orders.proposalId} in (select ${hedgeActions.proposalId} from ${hedgeActions}
                where ${hedgeActions.tenantId} = ${tenantId} and ${hedgeActions.proposalId} is not null)`,
            ),
          ),
        );
      return {
        targets: settings.targets,
        mode,
        halt,
        loaded,
        working: new Set(working.map((w) => w.symbol)),
      };
    });
    if (!prep) return out;
    this.passes++;
    for (const target of prep.targets) {
      try {
        out.set(target.underlying, await this.#target(tenantId, target, prep, ex, now));
      } catch (err) {
        this.#d.log.error({ err, tenantId, underlying: target.underlying }, 'hedger: pass failed');
        await this.#skip(tenantId, target, 0, `the pass failed: ${(err as Error).message}`, now).catch(
          () => {},
        );
        out.set(target.underlying, 'skipped');
      }
    }
    return out;
  }

  async #target(
    tenantId: TenantId,
    target: HedgeTarget,
    prep: {
      mode: HedgeMode;
      halt: { global: boolean; desk: boolean };
      loaded: LoadedDeskGreeks;
      working: Set<string>;
    },
    ex: HedgeExecutor,
    now: Date,
  ): Promise<TargetOutcome> {
    const { loaded } = prep;
    const group = loaded.book.byUnderlying.find((g) => g.underlying === target.underlying);
    const netDelta = group?.totals.delta ?? 0;
    const skip = async (reason: string, details?: Record<string, unknown>) => {
      await this.#skip(tenantId, target, netDelta, reason, now, details);
      return 'skipped' as const;
    };
    const hedge = loaded.instruments[target.hedgeSymbol];
    if (!hedge) return skip(`the hedge instrument ${target.hedgeSymbol} is unknown`);
    if (groupOf(hedge) !== target.underlying) {
      return skip(`${target.hedgeSymbol} does not move ${target.underlying}'s delta`);
    }
    if (group && group.missing.length > 0) {
      // A position without a price or volatility: the net delta cannot be known.
      return skip(`no price or volatility for ${group.missing.join(', ')}`);
    }
    const unit = unitGreeks(target.hedgeSymbol, {
      instruments: loaded.instruments,
      marks: loaded.marks,
      rate: this.#d.greeks.rate,
      dividendYield: this.#d.greeks.dividendYield,
      now,
    });
    if (!unit) return skip(`no price for the hedge instrument ${target.hedgeSymbol}`);
    const plan = planHedge({
      netDelta,
      band: Number(target.band),
      unitDelta: unit.delta,
      lotSize: hedge.lotSize,
    });
    if (plan.kind === 'inside_band') return 'inside_band';
    if (plan.kind === 'too_small') return skip(plan.reason);
    // The previous hedge has not finished: its fills are not in the book yet.
    if (prep.working.has(target.hedgeSymbol)) return 'waiting_order';
    if (prep.halt.global || prep.halt.desk) {
      return skip(`halt engaged (${prep.halt.global ? 'platform' : 'desk'})`, {
        side: plan.side,
        quantity: plan.quantity,
      });
    }
    const session = sessionState(hedge.calendar, now);
    if (!session.open) {
      return skip(`market closed for ${target.hedgeSymbol} (${hedge.calendar}: ${session.reason})`, {
        side: plan.side,
        quantity: plan.quantity,
      });
    }
    const input: PlaceOrderInput = {
      symbol: target.hedgeSymbol,
      side: plan.side,
      orderType: 'market',
      timeInForce: 'day',
      quantity: plan.quantity,
      limitPrice: null,
      stopPrice: null,
    };
    const base = {
      underlying: target.underlying,
      hedgeSymbol: target.hedgeSymbol,
      netDeltaBefore: netDelta,
      band: target.band,
      side: plan.side,
      quantity: plan.quantity,
    };
    const facts = {
      netDelta,
      band: target.band,
      unitDelta: unit.delta,
      netDeltaAfter: plan.netDeltaAfter,
      price: loaded.marks[target.hedgeSymbol] ?? null,
    };

    if (!prep.mode.autonomous) {
      return this.#propose(tenantId, target, input, base, facts, prep, ex, now);
    }
    // A hedge proposal made before the desk went autonomous could still be approved: no order
    // beside it until it is decided or expires.
    if (await this.#pendingProposal(tenantId, target.underlying, now)) return 'waiting_proposal';
    // A dry run first: a denied hedge is recorded as a skip, not as a denied order every pass.
    const decision = await ex.orders.check(tenantId, input, 'agent');
    if (!decision.allowed) {
      return skip(`denied by the risk governor: ${describeDenial(decision)}`, {
        ...facts,
        denials: decision.denials,
      });
    }
    // Deterministic per pass: the target's last recorded action names the pass, so two server
    // processes running the same pass on the same state place one order (the second replays).
    const last = await withTenant(this.#d.db, tenantId, (tx) => lastAction(tx, tenantId, target.underlying));
    const idempotencyKey = `hedge:${target.underlying}:${last?.id ?? 'first'}`;
    let order: Awaited<ReturnType<HedgeExecutor['orders']['place']>>;
    try {
      order = await ex.orders.place({
        tenantId,
        actor: HEDGER_ACTOR,
        origin: 'agent',
        input,
        idempotencyKey,
      });
    } catch (err) {
      return skip(`the order was refused: ${(err as Error).message}`, facts);
    }
    if (order.status === 'denied') {
      return skip(`denied by the risk governor: ${order.rejectReason ?? 'denied'}`, {
        ...facts,
        orderId: order.id,
      });
    }
    await withTenant(this.#d.db, tenantId, (tx) =>
      recordAction(
        tx,
        tenantId,
        {
          ...base,
          action: 'placed',
          reason: `net delta ${round(netDelta)} outside ±${target.band}: ${plan.side} ${plan.quantity} ${target.hedgeSymbol} (autonomous)`,
          orderId: order.id,
          details: facts,
        },
        now,
      ),
    );
    this.#d.log.info({ tenantId, underlying: target.underlying, orderId: order.id }, 'hedger: hedge placed');
    return 'placed';
  }

  async #propose(
    tenantId: TenantId,
    target: HedgeTarget,
    input: PlaceOrderInput,
    base: Omit<NewHedgeAction, 'action' | 'reason'>,
    facts: { netDelta: number; band: string; unitDelta: number; netDeltaAfter: number; price: string | null },
    prep: { mode: HedgeMode; loaded: LoadedDeskGreeks },
    ex: HedgeExecutor,
    now: Date,
  ): Promise<TargetOutcome> {
    if (await this.#pendingProposal(tenantId, target.underlying, now)) return 'waiting_proposal';
    const decision = await ex.orders.check(tenantId, input, 'agent');
    if (!decision.allowed) {
      await this.#skip(
        tenantId,
        target,
        facts.netDelta,
        `denied by the risk governor: ${describeDenial(decision)}`,
        now,
        {
          ...facts,
          denials: decision.denials,
        },
      );
      return 'skipped';
    }
    const group = prep.loaded.book.byUnderlying.find((g) => g.underlying === target.underlying);
    const why =
      prep.mode.mode === 'autonomous'
        ? prep.mode.automationEnabled
          ? 'autonomous mode is not allowed on this server: proposed for approval'
          : 'automation is off for this desk: proposed for approval'
        : 'confirmation mode: proposed for approval';
    const proposal: TradeProposal = {
      instrument: input.symbol,
      side: input.side,
      quantity: input.quantity,
      orderType: 'market',
      limitPrice: null,
      stopPrice: null,
      targetPrice: null,
      timeHorizon: 'minutes',
      confidence: 1,
      riskScore: 10,
      rationale: {
        marketContext:
          `${target.underlying} at ${group?.price ?? 'no price'}; the desk's ${target.underlying} Greeks: ` +
          `delta ${round(facts.netDelta)}, gamma ${round(group?.totals.gamma ?? 0)}, ` +
          `vega ${round(group?.totals.vega ?? 0)}, theta ${round(group?.totals.theta ?? 0)}/day.`,
        signalEvidence:
          `Delta hedge: net delta ${round(facts.netDelta)} is outside the band ±${target.band}. ` +
          `${input.side} ${input.quantity} ${input.symbol} (delta ${round(facts.unitDelta)} per unit) ` +
          `brings it to ${round(facts.netDeltaAfter)}.`,
        riskView: `Risk governor: passed every rule (net delta, open legs and the rest). ${why}.`,
        lessonsApplied: [],
      },
    };
    const outcome: DecisionOutcome = {
      proposal,
      decider: 'rules',
      model: null,
      promptTokens: null,
      completionTokens: null,
      latencyMs: 0,
      attempts: 1,
    };
    const created = await withTenant(this.#d.db, tenantId, async (tx) => {
      // One pending hedge proposal per underlying, whichever process gets here first.
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`hedge:${tenantId}:${target.underlying}`}, 0))`,
      );
      if (await this.#pendingProposalIn(tx, tenantId, target.underlying, now)) return null;
      const row = await insertProposal(tx, {
        tenantId,
        signalId: null,
        proposal,
        outcome,
        verdict: verdictOf(decision, now),
        createdAt: now,
        expiresAt: new Date(now.getTime() + prep.mode.proposalTtlSeconds * 1000),
      });
      await recordAudit(tx, {
        action: 'proposals.create',
        actor: HEDGER_ACTOR,
        targetType: 'proposal',
        targetId: row.id,
        payload: { hedge: target, netDelta: facts.netDelta },
        details: `${row.side} ${input.quantity} ${row.symbol} (delta hedge of ${target.underlying})`,
      });
      await recordAction(
        tx,
        tenantId,
        {
          ...base,
          action: 'proposed',
          reason: `net delta ${round(facts.netDelta)} outside ±${target.band}: ${why}`,
          proposalId: row.id,
          details: facts,
        },
        now,
      );
      return row;
    });
    if (!created) return 'waiting_proposal';
    await this.#d.publishProposal?.(tenantId, toProposalView(created));
    return 'proposed';
  }

  async #pendingProposal(tenantId: TenantId, underlying: string, now: Date): Promise<boolean> {
    return withTenant(this.#d.db, tenantId, (tx) => this.#pendingProposalIn(tx, tenantId, underlying, now));
  }

  async #pendingProposalIn(tx: Tx, tenantId: TenantId, underlying: string, now: Date): Promise<boolean> {
    const last = await lastAction(tx, tenantId, underlying, 'proposed');
    if (!last?.proposalId) return false;
    const [p] = await tx
      .select({ status: proposals.status, expiresAt: proposals.expiresAt })
      .from(proposals)
      .where(and(eq(proposals.tenantId, tenantId), eq(proposals.id, last.proposalId)));
    return !!p && p.status === 'pending' && p.expiresAt > now;
  }

  async #skip(
    tenantId: TenantId,
    target: HedgeTarget,
    netDelta: number,
    reason: string,
    now: Date,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    const side = details.side === 'buy' || details.side === 'sell' ? details.side : null;
    const quantity = typeof details.quantity === 'string' ? details.quantity : null;
    const row = await withTenant(this.#d.db, tenantId, (tx) =>
      recordAction(
        tx,
        tenantId,
        {
          underlying: target.underlying,
          hedgeSymbol: target.hedgeSymbol,
          netDeltaBefore: netDelta,
          band: target.band,
          action: 'skipped',
          side,
          quantity,
          reason,
          details,
        },
        now,
      ),
    );
    if (row) this.#d.log.info({ tenantId, underlying: target.underlying, reason }, 'hedger: skipped');
  }
}

const round = (x: number) => Number(x.toFixed(4));
