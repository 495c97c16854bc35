import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from '../accounting/decimal.ts';
import { isAppError } from '../errors.ts';
import {
  applyOrderEvent,
  initialOrderState,
  isStale,
  isTerminal,
  type OrderEvent,
  type OrderState,
  OrderStatus,
} from './state.ts';

const fillArb = fc
  .record({
    q: fc.integer({ min: 1, max: 400 }),
    px: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map(
    ({ q, px }): OrderEvent => ({
      type: 'OrderFilled',
      executionId: 'x',
      quantity: (q / 100).toFixed(2),
      price: (px / 10_000).toFixed(4),
    }),
  );

const eventArb: fc.Arbitrary<OrderEvent> = fc.oneof(
  fc.constant<OrderEvent>({ type: 'OrderAccepted', brokerOrderId: 'B1' }),
  fc.constant<OrderEvent>({ type: 'OrderRejected', reason: 'r' }),
  fc.constant<OrderEvent>({ type: 'OrderDenied', reason: 'd' }),
  fc.constant<OrderEvent>({ type: 'OrderCancelRequested' }),
  fc.constant<OrderEvent>({ type: 'OrderCancelRejected', reason: 'too late' }),
  fc.constant<OrderEvent>({ type: 'OrderCancelled' }),
  fc.constant<OrderEvent>({ type: 'OrderExpired' }),
  fc.constant<OrderEvent>({ type: 'OrderStatusUnknown', reason: 'timeout' }),
  fillArb,
  fillArb,
  fillArb,
);

/** Applies events like the execution service does: stale ones dropped, illegal ones refused. */
function run(qty: string, events: readonly OrderEvent[]) {
  let s = initialOrderState(qty);
  const trace: { before: OrderState; event: OrderEvent; after: OrderState; threw: boolean }[] = [];
  for (const e of events) {
    const before = s;
    if (isStale(s, e)) continue;
    try {
      s = applyOrderEvent(s, e);
      trace.push({ before, event: e, after: s, threw: false });
    } catch (err) {
      if (!isAppError(err) || err.code !== 'ILLEGAL_TRANSITION') throw err;
      trace.push({ before, event: e, after: s, threw: true });
    }
  }
  return trace;
}

const qtyArb = fc.integer({ min: 1, max: 1000 }).map((n) => (n / 100).toFixed(2));

describe('order state machine (properties)', () => {
  it('terminal states stay terminal; denied/rejected/filled never change at all', () => {
    fc.assert(
      fc.property(qtyArb, fc.array(eventArb, { maxLength: 40 }), (qty, events) => {
        for (const t of run(qty, events)) {
          if (isTerminal(t.before.status)) expect(isTerminal(t.after.status)).toBe(true);
          if (isTerminal(t.before.status)) expect(t.after.status).toBe(t.before.status);
          if (
            ([OrderStatus.DENIED, OrderStatus.REJECTED, OrderStatus.FILLED] as string[]).includes(
              t.before.status,
            )
          ) {
            expect(t.after).toBe(t.before);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('filled quantity only grows and never exceeds the order quantity', () => {
    fc.assert(
      fc.property(qtyArb, fc.array(eventArb, { maxLength: 40 }), (qty, events) => {
        for (const t of run(qty, events)) {
          expect(dec(t.after.filledQuantity).gte(dec(t.before.filledQuantity))).toBe(true);
          expect(dec(t.after.filledQuantity).lte(dec(qty))).toBe(true);
          if (t.after.status === OrderStatus.FILLED)
            expect(dec(t.after.filledQuantity).eq(dec(qty))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('average fill price lies between the lowest and highest fill', () => {
    fc.assert(
      fc.property(qtyArb, fc.array(eventArb, { maxLength: 40 }), (qty, events) => {
        const trace = run(qty, events);
        const prices = trace
          .filter((t) => !t.threw && t.event.type === 'OrderFilled')
          .map((t) => dec((t.event as { price: string }).price));
        const last = trace.at(-1)?.after;
        if (prices.length === 0 || !last) return;
        const lo = prices.reduce((a, b) => (a.lt(b) ? a : b));
        const hi = prices.reduce((a, b) => (a.gt(b) ? a : b));
        const avg = dec(last.avgFillPrice!);
        expect(avg.gte(lo) && avg.lte(hi)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('an illegal transition throws and leaves the state unchanged', () => {
    fc.assert(
      fc.property(qtyArb, fc.array(eventArb, { maxLength: 40 }), (qty, events) => {
        for (const t of run(qty, events)) if (t.threw) expect(t.after).toBe(t.before);
      }),
    );
  });
});

describe('order state machine (examples)', () => {
  const accepted = () =>
    applyOrderEvent(initialOrderState('10'), { type: 'OrderAccepted', brokerOrderId: 'B' });
  const fill = (q: string, p: string): OrderEvent => ({
    type: 'OrderFilled',
    executionId: `${q}@${p}`,
    quantity: q,
    price: p,
  });

  it('walks pending_new → new → partially_filled → filled with a VWAP', () => {
    let s = accepted();
    expect(s.status).toBe('new');
    s = applyOrderEvent(s, fill('4', '100'));
    expect(s).toMatchObject({ status: 'partially_filled', filledQuantity: '4', avgFillPrice: '100' });
    s = applyOrderEvent(s, fill('6', '101'));
    expect(s).toMatchObject({ status: 'filled', filledQuantity: '10', avgFillPrice: '100.6' });
  });

  it('refuses an overfill and a fill on a rejected order', () => {
    expect(() => applyOrderEvent(accepted(), fill('10.01', '1'))).toThrow(/overfill/);
    const rejected = applyOrderEvent(initialOrderState('1'), { type: 'OrderRejected', reason: 'no' });
    expect(() => applyOrderEvent(rejected, fill('1', '1'))).toThrow(/ILLEGAL|OrderFilled in rejected/);
  });

  it('cancel requested → cancel rejected returns to the live status', () => {
    let s = applyOrderEvent(accepted(), fill('3', '10'));
    s = applyOrderEvent(s, { type: 'OrderCancelRequested' });
    expect(s.status).toBe('pending_cancel');
    s = applyOrderEvent(s, { type: 'OrderCancelRejected', reason: 'too late' });
    expect(s.status).toBe('partially_filled');
  });

  it('unknown (broker timeout) is resolved by what reconciliation finds', () => {
    const u = applyOrderEvent(initialOrderState('5'), { type: 'OrderStatusUnknown', reason: 'timeout' });
    expect(applyOrderEvent(u, { type: 'OrderAccepted' }).status).toBe('new');
    expect(applyOrderEvent(u, { type: 'OrderRejected', reason: 'not found at broker' }).status).toBe(
      'rejected',
    );
    expect(applyOrderEvent(u, fill('5', '1')).status).toBe('filled');
  });

  it('a fill before the acknowledgement is applied; the late acknowledgement is stale', () => {
    const s = applyOrderEvent(initialOrderState('5'), fill('2', '1'));
    expect(s.status).toBe('partially_filled');
    expect(isStale(s, { type: 'OrderAccepted' })).toBe(true);
  });

  it('a fill racing a cancel grows CumQty but the order stays cancelled', () => {
    const c = applyOrderEvent(accepted(), { type: 'OrderCancelled' });
    const s = applyOrderEvent(c, fill('2', '1'));
    expect(s).toMatchObject({ status: 'cancelled', filledQuantity: '2' });
  });

  it('denied is local and terminal', () => {
    const d = applyOrderEvent(initialOrderState('1'), { type: 'OrderDenied', reason: 'MAX_ORDER_QTY' });
    expect(d.status).toBe('denied');
    expect(() => applyOrderEvent(d, { type: 'OrderAccepted' })).toThrow();
    expect(() => applyOrderEvent(accepted(), { type: 'OrderDenied', reason: 'x' })).toThrow();
  });
});
