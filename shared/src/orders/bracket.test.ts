import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Dec, dec, decStr, ZERO } from '../accounting/decimal.ts';
import { isAppError } from '../errors.ts';
import {
  type BracketRole,
  type BracketState,
  bracketActions,
  bracketLegs,
  collapseOcoGroups,
  protectedQuantity,
} from './bracket.ts';
import { applyOrderEvent, initialOrderState, isStale, type OrderEvent, OrderStatus } from './state.ts';

describe('bracket legs from levels', () => {
  it('a buy gets a sell stop below and a sell limit above; a sell mirrors it', () => {
    expect(bracketLegs({ side: 'buy', limitPrice: '100' }, { stopPrice: '95', targetPrice: '110' })).toEqual([
      { role: 'stop', side: 'sell', orderType: 'stop', stopPrice: '95', limitPrice: null },
      { role: 'target', side: 'sell', orderType: 'limit', stopPrice: null, limitPrice: '110' },
    ]);
    expect(bracketLegs({ side: 'sell' }, { stopPrice: '105', targetPrice: null })).toEqual([
      { role: 'stop', side: 'buy', orderType: 'stop', stopPrice: '105', limitPrice: null },
    ]);
  });

  it('refuses incoherent levels, naming the field', () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return isAppError(err) ? err.details?.field : 'other';
      }
      return null;
    };
    expect(field(() => bracketLegs({ side: 'buy' }, {}))).toBe('bracket');
    expect(field(() => bracketLegs({ side: 'buy' }, { stopPrice: '110', targetPrice: '95' }))).toBe(
      'bracket.stopPrice',
    );
    expect(field(() => bracketLegs({ side: 'buy', limitPrice: '100' }, { stopPrice: '101' }))).toBe(
      'bracket.stopPrice',
    );
    expect(field(() => bracketLegs({ side: 'sell', limitPrice: '100' }, { targetPrice: '101' }))).toBe(
      'bracket.targetPrice',
    );
  });
});

describe('OCO groups in the risk book', () => {
  it('a group counts once, at its larger leaves; other orders are untouched', () => {
    const w = (leavesQty: string, ocoGroup: string | null) => ({
      symbol: 'X',
      side: 'sell' as const,
      leavesQty,
      limitPrice: null,
      ocoGroup,
    });
    expect(collapseOcoGroups([w('5', 'g'), w('1', null), w('7', 'g'), w('3', 'h'), w('2', null)])).toEqual([
      w('7', 'g'),
      w('1', null),
      w('3', 'h'),
      w('2', null),
    ]);
  });
});

/** A bracket driven by random market events, with bracketActions applied after each one. */
interface Sim {
  entry: { open: boolean; quantity: Dec; filled: Dec };
  legs: { role: BracketRole; open: boolean; quantity: Dec; filled: Dec }[];
  position: Dec;
}

type SimEvent =
  | { kind: 'entryFill'; pct: number }
  | { kind: 'legFill'; leg: number; pct: number }
  | { kind: 'entryCancel' }
  | { kind: 'legCancel'; leg: number };

const eventArb: fc.Arbitrary<SimEvent> = fc.oneof(
  fc.record({ kind: fc.constant('entryFill' as const), pct: fc.integer({ min: 1, max: 100 }) }),
  fc.record({
    kind: fc.constant('legFill' as const),
    leg: fc.integer({ min: 0, max: 1 }),
    pct: fc.integer({ min: 1, max: 100 }),
  }),
  fc.constant({ kind: 'entryCancel' as const }),
  fc.record({ kind: fc.constant('legCancel' as const), leg: fc.integer({ min: 0, max: 1 }) }),
);

const stateOf = (s: Sim): BracketState => ({
  entry: { open: s.entry.open, quantity: decStr(s.entry.quantity), filledQuantity: decStr(s.entry.filled) },
  legs: s.legs.map((l) => ({
    role: l.role,
    open: l.open,
    quantity: decStr(l.quantity),
    filledQuantity: decStr(l.filled),
  })),
});

function settle(s: Sim): void {
  const a = bracketActions(stateOf(s));
  if (a.cancelEntry) s.entry.open = false;
  for (const c of a.cancelLegs) s.legs.find((l) => l.role === c.role)!.open = false;
  for (const r of a.resize) s.legs.find((l) => l.role === r.role)!.quantity = dec(r.quantity);
}

function step(s: Sim, e: SimEvent): void {
  const part = (q: Dec, pct: number) => q.times(pct).div(100).toDecimalPlaces(4, 1);
  if (e.kind === 'entryFill' && s.entry.open) {
    const q = part(s.entry.quantity.minus(s.entry.filled), e.pct);
    if (q.gt(0)) {
      s.entry.filled = s.entry.filled.plus(q);
      s.position = s.position.plus(q);
      if (s.entry.filled.eq(s.entry.quantity)) s.entry.open = false;
    }
  } else if (e.kind === 'legFill') {
    const l = s.legs[e.leg];
    if (!l?.open) return;
    const q = part(l.quantity.minus(l.filled), e.pct);
    if (q.gt(0)) {
      l.filled = l.filled.plus(q);
      s.position = s.position.minus(q);
      if (l.filled.eq(l.quantity)) l.open = false;
    }
  } else if (e.kind === 'entryCancel') {
    s.entry.open = false;
  } else if (e.kind === 'legCancel') {
    const l = s.legs[e.leg];
    if (l) l.open = false;
  }
  settle(s);
}

describe('bracket rules (properties)', () => {
  it('open legs always carry exactly what the bracket protects, never close more than the entry filled, and settle idempotently', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(eventArb, { maxLength: 30 }),
        (qty, events) => {
          const s: Sim = {
            entry: { open: true, quantity: dec(qty), filled: ZERO },
            legs: [
              { role: 'stop', open: true, quantity: ZERO, filled: ZERO },
              { role: 'target', open: true, quantity: ZERO, filled: ZERO },
            ],
            position: ZERO,
          };
          for (const e of events) {
            step(s, e);
            const protect = protectedQuantity(stateOf(s));
            const legFilled = s.legs.reduce((a, l) => a.plus(l.filled), ZERO);
            // Reduce-only: the legs together never sell more than the entry bought.
            expect(legFilled.lte(s.entry.filled)).toBe(true);
            expect(s.position.gte(0)).toBe(true);
            expect(s.position.eq(protect)).toBe(true);
            for (const l of s.legs) if (l.open) expect(l.quantity.minus(l.filled).eq(protect)).toBe(true);
            // Once a leg filled, the entry is not working any more (no re-entry behind an exit).
            if (legFilled.gt(0)) expect(s.entry.open).toBe(false);
            // OCO: once the exit is complete nothing of the bracket is working.
            if (legFilled.gt(0) && protect.isZero()) expect(s.legs.some((l) => l.open)).toBe(false);
            // An entry that ended unfilled leaves no leg working.
            if (!s.entry.open && s.entry.filled.isZero()) expect(s.legs.some((l) => l.open)).toBe(false);
            const again = bracketActions(stateOf(s));
            expect(again).toEqual({ resize: [], cancelLegs: [], cancelEntry: null });
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('order state machine: restatements (properties)', () => {
  const restateArb = fc
    .integer({ min: 0, max: 800 })
    .map((n): OrderEvent => ({ type: 'OrderRestated', quantity: (n / 100).toFixed(2) }));
  const fillArb = fc.integer({ min: 1, max: 300 }).map(
    (n): OrderEvent => ({
      type: 'OrderFilled',
      executionId: 'x',
      quantity: (n / 100).toFixed(2),
      price: '10',
    }),
  );
  const evArb: fc.Arbitrary<OrderEvent> = fc.oneof(
    fc.constant<OrderEvent>({ type: 'OrderAccepted' }),
    fc.constant<OrderEvent>({ type: 'OrderCancelRequested' }),
    fc.constant<OrderEvent>({ type: 'OrderCancelRejected', reason: 'r' }),
    fc.constant<OrderEvent>({ type: 'OrderCancelled' }),
    restateArb,
    restateArb,
    fillArb,
    fillArb,
  );

  it('the quantity never drops below what filled, terminal orders are never restated, and filled means something filled', () => {
    fc.assert(
      fc.property(fc.array(evArb, { maxLength: 40 }), (events) => {
        // A bracket leg starts at quantity 0 (initialOrderState refuses that for plain orders).
        let s = { ...initialOrderState('1'), quantity: '0' };
        for (const e of events) {
          if (isStale(s, e)) continue;
          const before = s;
          try {
            s = applyOrderEvent(s, e);
          } catch (err) {
            if (!isAppError(err) || err.code !== 'ILLEGAL_TRANSITION') throw err;
            expect(s).toBe(before);
            continue;
          }
          expect(dec(s.quantity).gte(dec(s.filledQuantity))).toBe(true);
          if (s.status === OrderStatus.FILLED) expect(dec(s.filledQuantity).gt(0)).toBe(true);
          if (e.type === 'OrderRestated') {
            expect(s.quantity).toBe(decStr(dec(e.quantity)));
            expect(before.status).not.toBe(OrderStatus.FILLED);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
