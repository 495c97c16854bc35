import { describe, expect, it } from 'vitest';
import { eventTimeProblem } from './event-time.ts';
import {
  decimalFromNumber,
  decodeVenuePrice,
  decodeVenuePriceUpdate,
  isoFromMicros,
} from './venue-prices.ts';

describe('venue price encoding', () => {
  it('writes engine floats as decimal strings the schema accepts', () => {
    expect(decimalFromNumber(62.27)).toBe('62.27');
    expect(decimalFromNumber(124)).toBe('124');
    expect(decimalFromNumber(0.1 + 0.2)).toBe('0.3'); // 17 significant digits: rounded to 12 decimals
    expect(decimalFromNumber(1e-7)).toBe('0.0000001'); // no exponent
    expect(decimalFromNumber(1e-13)).toBe('0');
    expect(decimalFromNumber(-1)).toBeNull();
    expect(decimalFromNumber(Number.NaN)).toBeNull();
    expect(decimalFromNumber(1e21)).toBeNull();
  });

  it('keeps microseconds in event times', () => {
    expect(isoFromMicros(Date.UTC(2026, 0, 2, 3, 4, 5, 678) * 1000 + 901)).toBe(
      '2026-01-02T03:04:05.678901Z',
    );
  });

  it('decodes only well-formed, strict payloads and names what is wrong', () => {
    const price = {
      venue: 'SIM',
      instrument: 'SYN0001',
      quote: { bid: '10', ask: '10.01', bidSize: '1', askSize: '2', tsEvent: '2026-01-02T03:04:05.678901Z' },
      trade: null,
      tsIngest: '2026-01-02T03:04:05.700000Z',
    };
    expect(decodeVenuePrice(JSON.stringify(price))).toEqual({ ok: true, price });
    expect(decodeVenuePrice('{')).toEqual({ ok: false, error: 'not JSON' });
    const crossed = decodeVenuePrice(JSON.stringify({ ...price, quote: { ...price.quote, ask: '9' } }));
    expect(crossed).toEqual({ ok: false, error: 'quote.ask: must not be below bid' });
    const extra = decodeVenuePrice(JSON.stringify({ ...price, tenantId: 'x' }));
    expect(extra.ok).toBe(false);
    expect(decodeVenuePriceUpdate(JSON.stringify({ venue: 'SIM', prices: [price] })).ok).toBe(true);
    expect(decodeVenuePriceUpdate(JSON.stringify({ venue: 'SIM', prices: [] })).ok).toBe(false);
  });
});

describe('event-time plausibility', () => {
  const now = Date.UTC(2026, 10, 25, 12);
  it('refuses the future beyond the skew and anything before 2000', () => {
    expect(eventTimeProblem(now + 2000, now)).toBeNull();
    expect(eventTimeProblem(now + 2001, now)).toBe('future');
    expect(eventTimeProblem(now + 2001, now, { maxFutureSkewMs: 5000 })).toBeNull();
    expect(eventTimeProblem(0, now)).toBe('too_old');
    expect(eventTimeProblem(Date.UTC(2000, 0, 1), now)).toBeNull();
    expect(eventTimeProblem(Number.NaN, now)).toBe('too_old');
  });
});
