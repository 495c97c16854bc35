import { describe, expect, it } from 'vitest';
import { describeUnknown, hasSymbolMapping, trimDecimal } from './instrument-registry.ts';

describe('instrument registry helpers', () => {
  it('names the unknown symbol and its closest matches, or only the symbol', () => {
    expect(describeUnknown({ symbol: 'BTC-USDX', suggestions: ['BTC-USD', 'BTC-USDT'] })).toBe(
      'unknown instrument BTC-USDX — did you mean BTC-USD, BTC-USDT?',
    );
    expect(describeUnknown({ symbol: 'ZZZ', suggestions: [] })).toBe('unknown instrument ZZZ');
  });

  it('shows stored numeric(38,12) values without trailing zeros', () => {
    expect(trimDecimal('0.010000000000')).toBe('0.01');
    expect(trimDecimal('1.000000000000')).toBe('1');
    expect(trimDecimal('100')).toBe('100');
    expect(trimDecimal('0.000000001000')).toBe('0.000000001');
  });

  it('venues with feeds follow the symbol mapping; other venues do not', () => {
    expect(hasSymbolMapping('COINBASE')).toBe(true);
    expect(hasSymbolMapping('BINANCE')).toBe(true);
    expect(hasSymbolMapping('CME')).toBe(false);
  });
});
