import {
  BadSymbol,
  ChecksumError,
  DDoSProtection,
  ExchangeError,
  ExchangeNotAvailable,
  InvalidNonce,
  NetworkError,
  OperationFailed,
  RateLimitExceeded,
  RequestTimeout,
} from 'ccxt';
import { describe, expect, it } from 'vitest';
import { buildCcxtExchange, classifyCcxtError, hasExchange } from './ccxt-exchange.ts';

describe('ccxt errors', () => {
  it('sorts ccxt errors by what the feed does about them (subclasses before their parents)', () => {
    expect(classifyCcxtError(new ChecksumError('x'))).toBe('sequence');
    expect(classifyCcxtError(new InvalidNonce('x'))).toBe('sequence');
    expect(classifyCcxtError(new RateLimitExceeded('x'))).toBe('rate');
    expect(classifyCcxtError(new DDoSProtection('x'))).toBe('rate');
    expect(classifyCcxtError(new RequestTimeout('x'))).toBe('network');
    expect(classifyCcxtError(new ExchangeNotAvailable('x'))).toBe('network');
    expect(classifyCcxtError(new NetworkError('x'))).toBe('network');
    expect(classifyCcxtError(new OperationFailed('x'))).toBe('network');
    expect(classifyCcxtError(new BadSymbol('x'))).toBe('symbol');
    expect(classifyCcxtError(new ExchangeError('x'))).toBe('other');
    expect(classifyCcxtError(new TypeError('x'))).toBe('other');
  });
});

describe('ccxt exchange objects', () => {
  it('moves REST and WebSocket URLs to the configured origins, keeping their paths, spot only', async () => {
    const ex = await buildCcxtExchange({
      exchangeId: 'binance',
      pro: true,
      urls: { rest: 'http://127.0.0.1:9/', ws: 'ws://127.0.0.1:10/ws' },
      timeoutMs: 1_000,
      tradesLimit: 123,
      wsBackoff: { initialMs: 5, maxMs: 50 },
    });
    const api = ex.urls.api as unknown as Record<string, unknown> & { ws: Record<string, string> };
    expect(api.public).toBe('http://127.0.0.1:9/api/v3');
    expect(api.ws.spot).toBe('ws://127.0.0.1:10/ws');
    expect((ex.options as Record<string, unknown>).defaultType).toBe('spot');
    expect((ex.options as Record<string, unknown>).tradesLimit).toBe(123);
    await ex.close();
    expect(hasExchange('binance', true)).toBe(true);
    expect(hasExchange('nosuchvenue', false)).toBe(false);
    await expect(
      buildCcxtExchange({
        exchangeId: 'nosuchvenue',
        pro: false,
        timeoutMs: 1,
        tradesLimit: 1,
        wsBackoff: { initialMs: 1, maxMs: 1 },
      }),
    ).rejects.toThrow(/no REST client/);
  });
});
