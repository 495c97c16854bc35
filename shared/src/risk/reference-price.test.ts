import { describe, expect, it } from 'vitest';
import { dec } from '../accounting/decimal.ts';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from '../market/event-time.ts';
import { RiskReason } from './reasons.ts';
import { checkReferencePrice, quoteAgeMs } from './reference-price.ts';
import type { Derived, RiskContext, RiskLimits } from './types.ts';

const NOW = new Date('2026-11-25T15:00:00Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

const opening: Derived = {
  qty: dec(10),
  signedQty: dec(10),
  multiplier: dec(1),
  orderPrice: dec(100),
  position: dec(0),
  reducing: false,
};
const limits = { maxReferenceAgeMs: 5_000 } as RiskLimits;
const ctxWithQuoteAt = (ts: Date) =>
  ({ now: NOW, quote: { bid: '99.99', ask: '100.01', ts } }) as unknown as RiskContext;

describe('quoteAgeMs', () => {
  it('is the signed age: a quote from the future has a negative age, never 0', () => {
    expect(quoteAgeMs({ ts: at(-1500) }, NOW)).toBe(1500);
    expect(quoteAgeMs({ ts: at(50 * 60_000) }, NOW)).toBe(-50 * 60_000);
  });
});

describe('checkReferencePrice and the future', () => {
  it('fails a reference price dated beyond the clock skew into the future (a poisoned quote)', () => {
    const v = checkReferencePrice(opening, ctxWithQuoteAt(at(50 * 60_000)), limits);
    expect(v.passed).toBe(false);
    expect(v.code).toBe(RiskReason.STALE_REFERENCE_PRICE);
    expect(v.message).toMatch(/future/);
    expect(v.current).toBe(String(-50 * 60_000));
  });

  it('fails it even for a risk-reducing order only by its age rule, as for a stale price', () => {
    const v = checkReferencePrice({ ...opening, reducing: true }, ctxWithQuoteAt(at(60_000)), limits);
    // Risk-reducing orders still pass so a desk can always get flat (same as a stale price).
    expect(v.passed).toBe(true);
  });

  it('tolerates a small clock skew between machines', () => {
    const v = checkReferencePrice(opening, ctxWithQuoteAt(at(DEFAULT_MAX_FUTURE_SKEW_MS - 1)), limits);
    expect(v.passed).toBe(true);
    expect(
      checkReferencePrice(opening, ctxWithQuoteAt(at(DEFAULT_MAX_FUTURE_SKEW_MS + 1)), limits).passed,
    ).toBe(false);
  });

  it('still fails a stale price and passes a fresh one', () => {
    expect(checkReferencePrice(opening, ctxWithQuoteAt(at(-6_000)), limits).passed).toBe(false);
    expect(checkReferencePrice(opening, ctxWithQuoteAt(at(-100)), limits).passed).toBe(true);
  });
});
