import { createHash } from 'node:crypto';
import { orders, positions } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { asOrderId, type TenantId } from '@aegis/shared/ids';
import { WORKING_STATUSES } from '@aegis/shared/orders/statuses';
import type { OrderView } from '@aegis/shared/schemas/order';
import { Decimal } from 'decimal.js';
import { and, desc, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import type { OrderService } from './service.ts';
import type { Actor, RequestMeta } from './types.ts';

export interface FlattenRequest extends RequestMeta {
  readonly tenantId: TenantId;
  readonly actor: Actor;
  readonly origin: 'human' | 'api';
  /** The caller's key for this flatten: a retry (or a double click) closes nothing twice. */
  readonly idempotencyKey: string;
  /** Only these symbols; absent: every position of the desk. */
  readonly symbols?: readonly string[] | undefined;
}

export interface FlattenResult {
  /** Working orders of the symbols (except closing market orders in flight), now cancelling. */
  readonly cancelled: OrderView[];
  /** The market orders that close what is left (each passed the governor as risk-reducing, or
   *  comes back `denied` with the reason, e.g. no price to check it against). */
  readonly closing: OrderView[];
  /** Symbols already flat, or already being closed by working orders: nothing placed. */
  readonly unchanged: string[];
}

/**
 * Flatten: go flat now and stay flat, per symbol. Working orders are cancelled (resting limits
 * and bracket legs too: they may never fill); what is not already being closed by a reducing
 * market order in flight is closed with one
 * market order on the account the position was traded on (the latest fill's connection, or the
 * paper account). Every order goes through the governor like any other: while a halt is
 * engaged, closing orders pass as risk-reducing. Safe to repeat: a second call counts the first
 * call's closing orders as working and places nothing more, and the closing order's idempotency
 * key derives from the caller's key and the symbol, so two concurrent calls place one order.
 * Orders that belong to a combo are left to `orders.cancelCombo`.
 */
export async function flatten(db: Db, service: OrderService, req: FlattenRequest): Promise<FlattenResult> {
  const plan = await withTenant(db, req.tenantId, async (tx) => {
    const held = await tx
      .select({ symbol: positions.symbol, quantity: positions.quantity })
      .from(positions)
      .where(
        and(
          eq(positions.tenantId, req.tenantId),
          ne(positions.quantity, '0'),
          req.symbols ? inArray(positions.symbol, [...req.symbols]) : undefined,
        ),
      );
    const working = await tx
      .select()
      .from(orders)
      .where(
        and(
          eq(orders.tenantId, req.tenantId),
          inArray(orders.status, [...WORKING_STATUSES]),
          ne(orders.status, 'pending_cancel'),
          isNull(orders.comboId),
          req.symbols ? inArray(orders.symbol, [...req.symbols]) : undefined,
        ),
      );
    const venues = new Map<string, string | null>();
    for (const h of held) {
      const [last] = await tx
        .select({ connection: orders.brokerConnectionId })
        .from(orders)
        .where(
          and(eq(orders.tenantId, req.tenantId), eq(orders.symbol, h.symbol), ne(orders.filledQuantity, '0')),
        )
        .orderBy(desc(orders.updatedAt))
        .limit(1);
      venues.set(h.symbol, last?.connection ?? null);
    }
    return { held, working, venues };
  });

  const qty = new Map(plan.held.map((h) => [h.symbol, new Decimal(h.quantity)]));
  const symbols = new Set([...qty.keys(), ...plan.working.map((o) => o.symbol)]);
  const cancelled: OrderView[] = [];
  const closing: OrderView[] = [];
  const unchanged: string[] = [];
  const keyHash = createHash('sha256').update(req.idempotencyKey).digest('hex').slice(0, 32);

  for (const symbol of [...symbols].sort()) {
    const position = qty.get(symbol) ?? new Decimal(0);
    // A sell reduces a long position, a buy a short one; flat: every working order opens one.
    const reducingSide = position.isPositive() ? 'sell' : position.isNegative() ? 'buy' : null;
    let beingClosed = new Decimal(0);
    for (const o of plan.working.filter((w) => w.symbol === symbol)) {
      // Only a reducing market order is closing now (an earlier flatten's, in flight); a resting
      // limit or a bracket's stop may never fill, so it is cancelled and replaced.
      if (o.side === reducingSide && o.orderType === 'market') {
        beingClosed = beingClosed.plus(new Decimal(o.quantity).minus(o.filledQuantity));
        continue;
      }
      cancelled.push(await service.cancel(req.tenantId, asOrderId(o.id), req.actor, req));
    }
    const left = position.abs().minus(beingClosed);
    if (!reducingSide || left.lte(0)) {
      unchanged.push(symbol);
      continue;
    }
    closing.push(
      await service.place({
        tenantId: req.tenantId,
        actor: req.actor,
        origin: req.origin,
        idempotencyKey: `flatten:${keyHash}:${symbol}`,
        input: {
          symbol,
          side: reducingSide,
          orderType: 'market',
          timeInForce: 'day',
          quantity: left.toFixed(),
          brokerConnectionId: plan.venues.get(symbol) ?? null,
        },
        ...(req.requestId !== undefined ? { requestId: req.requestId } : {}),
        ...(req.ip !== undefined ? { ip: req.ip } : {}),
      }),
    );
  }
  return { cancelled, closing, unchanged };
}
