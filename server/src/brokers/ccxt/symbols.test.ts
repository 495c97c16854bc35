import { describe, expect, it } from 'vitest';
import { BrokerError } from '../types.ts';
import { fromCcxtSymbol, toCcxtSymbol } from './symbols.ts';

describe('CCXT symbol mapping', () => {
  it('maps BASE-QUOTE to CCXT BASE/QUOTE and back', () => {
    expect(toCcxtSymbol('BTC-USDT', 'ccxt:binance', 'placeOrder')).toBe('BTC/USDT');
    expect(toCcxtSymbol('1000SATS-USDT', 'ccxt:binance', 'placeOrder')).toBe('1000SATS/USDT');
    expect(fromCcxtSymbol('ETH/BTC')).toBe('ETH-BTC');
  });

  it('refuses what is not a spot pair', () => {
    expect(() => toCcxtSymbol('AAPL', 'ccxt:binance', 'placeOrder')).toThrow(BrokerError);
    expect(() => toCcxtSymbol('btc-usdt', 'ccxt:binance', 'placeOrder')).toThrow(BrokerError);
    expect(fromCcxtSymbol('BTC/USDT:USDT')).toBeNull();
    expect(fromCcxtSymbol('BTCUSDT')).toBeNull();
  });
});
