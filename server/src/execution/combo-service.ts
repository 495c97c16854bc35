import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { combos, orders, outbox } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import { asComboId, type ComboId, type TenantId } from '@aegis/shared/ids';
import { applyOrderEvent, isTerminal } from '@aegis/shared/orders/state';
import { type ComboDecision, type ComboIntent, evaluateCombo } from '@aegis/shared/risk/combo';
import type { OrderIntent } from '@aegis/shared/risk/governor';
import type { PlaceComboInput } from '@aegis/shared/schemas/combo';
import type { OrderView } from '@aegis/shared/schemas/order';
import { and, desc, eq, sql } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { Tx } from '../db/database.ts';
import { loadComboRiskInputs } from './combo-risk-context.ts';
import {
  type BrandedComboView,
  comboLegClientOrderId,
  loadCombo,
  syncCombo,
  toComboView,
} from './combo-rows.ts';
import type { IdempotencyScope } from './idempotency.ts';
import { toOrderState, toOrderView } from './order-rows.ts';
import { checkedReferences, lockDeskOrders, placeOnce, setAuditContext } from './service.ts';
import {
  type Actor,
  type ExecutionDeps,
  type ExecutionOptions,
  principalKey,
  type RequestMeta,
} from './types.ts';

export const PLACE_COMBO_PROCEDURE = 'orders.placeCombo';

export interface PlaceComboRequest extends RequestMeta {
  readonly tenantId: TenantId;
  readonly actor: Actor;
  readonly origin: OrderIntent['origin'];
  readonly input: PlaceComboInput;
  readonly idempotencyKey: string;
}

export interface ComboHooks {
  readonly onOutboxCommitted: (tenantId: TenantId) => void;
  /** Each leg that changed (the desk's live order stream). */
  readonly onOrderChanged: (tenantId: TenantId, order: OrderView) => void;
}

/** The governor's combo dry run, with the strategy's maximum loss (null: unbounded or unknown). */
export type ComboCheck = ComboDecision;

export function comboIntentOf(input: PlaceComboInput, origin: OrderIntent['origin']): ComboIntent {
  const qty = dec(input.quantity);
  return {
    strategy: input.strategy,
    orderType: input.orderType,
    quantity: input.quantity,
    netLimitPrice: input.orderType === 'limit' ? (input.netLimitPrice ?? null) : null,
    origin,
    legs: input.legs.map((l) => ({
      symbol: l.symbol,
      side: l.side,
      ratio: l.ratio,
      quantity: decStr(qty.times(l.ratio)),
    })),
  };
}

/**
 * Multi-leg (combo) orders: placed, dry-run and cancelled as one. Placement is one transaction
 * like a single order's (idempotency key, the desk's order lock, the combo governor, the combo
 * row, one order row per leg, ONE `broker.placeCombo` outbox row and the audit row); the legs go
 * to the broker in one native request, all-or-none (a broker without native combos rejects
 * them: a combo is never legged into).
 */
export class ComboService {
  readonly #deps: ExecutionDeps;
  readonly #opts: ExecutionOptions;
  readonly #hooks: ComboHooks;
  readonly #clock: () => Date;

  constructor(deps: ExecutionDeps, opts: ExecutionOptions, hooks: ComboHooks) {
    this.#deps = deps;
    this.#opts = opts;
    this.#hooks = hooks;
    this.#clock = deps.clock ?? (() => new Date());
  }

  /**
   * Idempotent placement: the combo `pending_new` (queued for the broker) or `denied` with every
   * verdict, each naming its leg or the whole combo. A replay returns the combo as it is now.
   */
  async place(req: PlaceComboRequest): Promise<BrandedComboView> {
    const scope: IdempotencyScope = {
      tenantId: req.tenantId,
      principal: principalKey(req.actor),
      procedure: PLACE_COMBO_PROCEDURE,
      key: req.idempotencyKey,
    };
    const result = await placeOnce(this.#deps, req, scope, req.input, 'comboId', this.#clock(), (tx, id) =>
      this.#placeInTx(tx, req, id),
    );
    if ('replayedId' in result) return this.get(req.tenantId, asComboId(result.replayedId));
    const combo = result.placed;
    if (combo.status === 'pending_new') this.#hooks.onOutboxCommitted(req.tenantId);
    for (const l of combo.legs) this.#hooks.onOrderChanged(req.tenantId, l);
    return combo;
  }

  async #placeInTx(tx: Tx, req: PlaceComboRequest, clientOrderId: string): Promise<BrandedComboView> {
    await lockDeskOrders(tx, req.tenantId);
    // The governor's clock once the desk lock is held (service.ts says why).
    const now = this.#clock();
    const connection = await checkedReferences(tx, req.tenantId, req.input);
    const intent = comboIntentOf(req.input, req.origin);
    const decision = await this.#evaluate(tx, req.tenantId, intent, now);
    const allowed = decision.allowed;
    const [combo] = await tx
      .insert(combos)
      .values({
        tenantId: req.tenantId,
        clientOrderId,
        strategy: req.input.strategy,
        quantity: req.input.quantity,
        orderType: req.input.orderType,
        netLimitPrice: intent.netLimitPrice,
        timeInForce: req.input.timeInForce,
        status: allowed ? 'pending_new' : 'denied',
        maxLoss: decision.maxLoss,
        denial: allowed ? null : (decision.verdicts as unknown as Record<string, unknown>[]),
        brokerConnectionId: connection?.id ?? null,
        proposalId: req.input.proposalId ?? null,
        origin: req.origin,
        createdBy: principalKey(req.actor),
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    if (!combo) throw new AppError(ErrorCode.INTERNAL, 'combo insert returned nothing');
    const legs = [];
    for (const [i, l] of intent.legs.entries()) {
      const [row] = await tx
        .insert(orders)
        .values({
          tenantId: req.tenantId,
          clientOrderId: comboLegClientOrderId(clientOrderId, i),
          broker: connection?.provider ?? 'paper',
          brokerConnectionId: connection?.id ?? null,
          proposalId: req.input.proposalId ?? null,
          symbol: l.symbol,
          side: l.side,
          // A leg has no price of its own: the combo's net limit is what the broker works.
          orderType: req.input.orderType,
          timeInForce: req.input.timeInForce,
          quantity: l.quantity,
          status: allowed ? 'pending_new' : 'denied',
          rejectReason: allowed ? null : decision.denials.map((d) => d.code).join(','),
          origin: req.origin,
          createdBy: principalKey(req.actor),
          comboId: combo.id,
          legRatio: l.ratio,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      legs.push(row!);
    }
    if (allowed) {
      // One command for the whole combo, keyed on its first leg (the dispatcher routes by order).
      await tx.insert(outbox).values({
        tenantId: req.tenantId,
        topic: 'broker.placeCombo',
        aggregateId: legs[0]!.id,
        payload: { comboId: combo.id, orderId: legs[0]!.id, clientOrderId },
        availableAt: now,
      });
    }
    const net = req.input.netLimitPrice ? ` net ${req.input.netLimitPrice}` : ' at market';
    await recordAudit(tx, {
      action: 'orders.placeCombo',
      actor: req.actor,
      targetType: 'combo',
      targetId: combo.id,
      outcome: allowed ? 'ok' : 'denied',
      payload: {
        input: req.input,
        clientOrderId,
        legOrderIds: legs.map((l) => l.id),
        maxLoss: decision.maxLoss,
        verdicts: decision.denials,
      },
      details: `${req.input.strategy} ${req.input.quantity}×[${intent.legs
        .map((l) => `${l.side} ${l.ratio} ${l.symbol}`)
        .join(', ')}]${net}${allowed ? '' : `: denied (${decision.denials.map((d) => d.code).join(', ')})`}`,
    });
    return toComboView(combo, legs);
  }

  async #evaluate(tx: Tx, tenantId: TenantId, intent: ComboIntent, now: Date): Promise<ComboDecision> {
    const inputs = await loadComboRiskInputs(tx, tenantId, intent, {
      quotes: this.#deps.quotes,
      startingCapital: this.#opts.startingCapital,
      now,
    });
    // Net prices are per unit of one multiplier: legs with different multipliers have no one net.
    const mults = new Set(intent.legs.map((l) => dec(inputs.legRows.get(l.symbol)!.multiplier).toString()));
    if (mults.size > 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'combo.legs: every leg needs the same contract multiplier', {
        field: 'combo.legs',
        reason: 'mixed_multipliers',
      });
    }
    const d = evaluateCombo(intent, inputs.ctx, inputs.limits);
    if (!inputs.base.reducingOnly || inputs.base.switches.desk || inputs.base.switches.global) return d;
    const explain = <T extends ComboDecision['verdicts'][number]>(v: T): T =>
      v.code === 'DESK_HALT'
        ? {
            ...v,
            message: `combo (all legs): desk is reducing-only (${inputs.base.reducingOnly}); only risk-reducing orders`,
          }
        : v;
    return { ...d, verdicts: d.verdicts.map(explain), denials: d.denials.map(explain) };
  }

  /**
   * The governor's combo dry run (nothing written): every verdict, the strategy's maximum loss
   * and the net price it valued. The references place would refuse are refused here too.
   */
  async check(
    tenantId: TenantId,
    input: PlaceComboInput,
    origin: OrderIntent['origin'],
  ): Promise<ComboCheck> {
    return withTenant(this.#deps.db, tenantId, async (tx) => {
      await checkedReferences(tx, tenantId, input);
      return this.#evaluate(tx, tenantId, comboIntentOf(input, origin), this.#clock());
    });
  }

  /**
   * Requests the cancel of every leg (always allowed: cancels reduce risk). The legs go to
   * pending_cancel and ONE `broker.cancelCombo` outbox row is committed with them. Idempotent on
   * a combo already pending cancel; a finished combo is a CONFLICT.
   */
  async cancel(
    tenantId: TenantId,
    comboId: ComboId,
    actor: Actor,
    meta: RequestMeta = {},
  ): Promise<BrandedComboView> {
    const { view, changed } = await withTenant(this.#deps.db, tenantId, async (tx) => {
      await setAuditContext(tx, meta);
      await lockDeskOrders(tx, tenantId);
      const found = await loadCombo(tx, tenantId, comboId, true);
      if (!found) throw new AppError(ErrorCode.NOT_FOUND, 'combo not found');
      const { combo, legs } = found;
      if (combo.status === 'pending_cancel') return { view: toComboView(combo, legs), changed: [] };
      if (isTerminal(combo.status)) {
        throw new AppError(ErrorCode.CONFLICT, `combo is ${combo.status}`, {
          reason: 'order_terminal',
          status: combo.status,
        });
      }
      const now = this.#clock();
      const changed: OrderView[] = [];
      for (const l of legs) {
        if (isTerminal(l.status) || l.status === 'pending_cancel') continue;
        const next = applyOrderEvent(toOrderState(l), { type: 'OrderCancelRequested' });
        const [u] = await tx
          .update(orders)
          .set({ status: next.status, version: sql`${orders.version} + 1`, updatedAt: now })
          .where(eq(orders.id, l.id))
          .returning();
        changed.push(toOrderView(u!));
      }
      await tx.insert(outbox).values({
        tenantId,
        topic: 'broker.cancelCombo',
        aggregateId: legs[0]!.id,
        payload: { comboId, orderId: legs[0]!.id, clientOrderId: combo.clientOrderId },
        availableAt: now,
      });
      await recordAudit(tx, {
        action: 'orders.cancelCombo',
        actor,
        targetType: 'combo',
        targetId: comboId,
        payload: { comboId, clientOrderId: combo.clientOrderId },
        details: `cancel ${combo.strategy} ${dec(combo.quantity).toString()} (${legs.length} legs)`,
      });
      const view = await syncCombo(tx, tenantId, comboId, now);
      return { view: view!, changed };
    });
    this.#hooks.onOutboxCommitted(tenantId);
    for (const o of changed) this.#hooks.onOrderChanged(tenantId, o);
    return view;
  }

  async get(tenantId: TenantId, comboId: ComboId): Promise<BrandedComboView> {
    return withTenant(this.#deps.db, tenantId, (tx) => getCombo(tx, tenantId, comboId));
  }
}

export async function getCombo(tx: Tx, tenantId: TenantId, comboId: ComboId): Promise<BrandedComboView> {
  const found = await loadCombo(tx, tenantId, comboId);
  if (!found) throw new AppError(ErrorCode.NOT_FOUND, 'combo not found');
  return toComboView(found.combo, found.legs);
}

/** The desk's combos, newest first. */
export async function listCombos(tx: Tx, tenantId: TenantId, limit: number): Promise<BrandedComboView[]> {
  const rows = await tx
    .select()
    .from(combos)
    .where(eq(combos.tenantId, tenantId))
    .orderBy(desc(combos.createdAt), desc(combos.id))
    .limit(limit);
  const out: BrandedComboView[] = [];
  for (const c of rows) {
    const legs = await tx
      .select()
      .from(orders)
      .where(and(eq(orders.tenantId, tenantId), eq(orders.comboId, c.id)))
      .orderBy(orders.clientOrderId);
    out.push(toComboView(c, legs));
  }
  return out;
}
