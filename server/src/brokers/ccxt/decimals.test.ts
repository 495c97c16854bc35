import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { numberToDec, outgoingNumber, toVenueString } from './decimals.ts';

/** A Binance-like market (TICK_SIZE precision) without any network: markets set by hand. */
function venue() {
  const ex = new ccxt.binance();
  ex.setMarkets([
    {
      id: 'BTCUSDT',
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      baseId: 'BTC',
      quoteId: 'USDT',
      type: 'spot',
      spot: true,
      active: true,
      precision: { amount: 0.00001, price: 0.01 },
      limits: {},
    } as never,
  ]);
  return ex;
}

describe('CCXT numbers ↔ decimal strings', () => {
  it('drops binary noise: 15 significant digits, then the market step', () => {
    const ex = venue();
    const m = ex.markets?.['BTC/USDT'];
    expect(numberToDec(0.1 + 0.2).toFixed()).toBe('0.3');
    expect(toVenueString(ex, m, 'amount', 0.1 + 0.2)).toBe('0.3');
    expect(toVenueString(ex, m, 'amount', 0.000014999999999)).toBe('0.00001');
    expect(toVenueString(ex, m, 'price', 60000.004999)).toBe('60000');
    expect(toVenueString(ex, m, 'price', 1e-7)).toBe('0');
    expect(toVenueString(ex, undefined, 'price', 1e-7)).toBe('0.0000001');
    expect(toVenueString(ex, m, 'amount', undefined)).toBeNull();
  });

  it('sends only values already on the market step, never a truncated one', () => {
    const ex = venue();
    expect(outgoingNumber(ex, 'BTC/USDT', 'amount', '0.01')).toEqual({ ok: true, n: 0.01 });
    expect(outgoingNumber(ex, 'BTC/USDT', 'amount', '0.000015')).toMatchObject({ ok: false });
    expect(outgoingNumber(ex, 'BTC/USDT', 'price', '60000.01')).toEqual({ ok: true, n: 60000.01 });
    expect(outgoingNumber(ex, 'BTC/USDT', 'price', '60000.015')).toMatchObject({ ok: false });
    expect(outgoingNumber(ex, 'BTC/USDT', 'amount', '0')).toMatchObject({ ok: false });
    expect(outgoingNumber(ex, 'BTC/USDT', 'amount', '1.0000000000000001')).toMatchObject({ ok: false });
  });
});
