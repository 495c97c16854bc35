import { describe, expect, it } from 'vitest';
import { planHedge } from './delta-hedge.ts';

describe('planHedge', () => {
  it('does nothing inside the band (the edge included)', () => {
    expect(planHedge({ netDelta: 80, band: 100, unitDelta: 50, lotSize: '1' })).toEqual({
      kind: 'inside_band',
    });
    expect(planHedge({ netDelta: -100, band: 100, unitDelta: 50, lotSize: '1' })).toEqual({
      kind: 'inside_band',
    });
  });

  it('sells long delta and buys short delta, rounded toward zero in lots', () => {
    expect(planHedge({ netDelta: 230, band: 100, unitDelta: 50, lotSize: '1' })).toEqual({
      kind: 'order',
      side: 'sell',
      quantity: '4',
      netDeltaAfter: 30,
    });
    expect(planHedge({ netDelta: -230, band: 100, unitDelta: 50, lotSize: '1' })).toEqual({
      kind: 'order',
      side: 'buy',
      quantity: '4',
      netDeltaAfter: -30,
    });
  });

  it('takes one lot more only when that lands inside the band on the other side', () => {
    // −0.9 lots: toward zero is none (45 > 30); one lot lands at −5, inside.
    expect(planHedge({ netDelta: 45, band: 30, unitDelta: 50, lotSize: '1' })).toMatchObject({
      side: 'sell',
      quantity: '1',
      netDeltaAfter: -5,
    });
    // −1.3 lots of 100: one lot leaves 30 (> 20), two would land at −70: one lot, never two.
    expect(planHedge({ netDelta: 130, band: 20, unitDelta: 100, lotSize: '1' })).toMatchObject({
      side: 'sell',
      quantity: '1',
      netDeltaAfter: 30,
    });
    // A lot larger than the band can absorb either way: nothing to do.
    expect(planHedge({ netDelta: 45, band: 10, unitDelta: 100, lotSize: '1' }).kind).toBe('too_small');
  });

  it('fractional lots and a hedge instrument with negative delta', () => {
    const p = planHedge({ netDelta: 1.2345, band: 0.5, unitDelta: 1, lotSize: '0.01' });
    expect(p).toMatchObject({ kind: 'order', side: 'sell', quantity: '1.23' });
    expect(p.kind === 'order' && p.netDeltaAfter).toBeCloseTo(0.0045, 12);
    expect(planHedge({ netDelta: 100, band: 10, unitDelta: -0.5, lotSize: '1' })).toMatchObject({
      side: 'buy',
      quantity: '200',
      netDeltaAfter: 0,
    });
  });

  it('refuses a zero delta or lot', () => {
    expect(planHedge({ netDelta: 100, band: 10, unitDelta: 0, lotSize: '1' }).kind).toBe('too_small');
    expect(planHedge({ netDelta: 100, band: 10, unitDelta: 1, lotSize: '0' }).kind).toBe('too_small');
  });
});
