import { BrokerError, BrokerErrorCode } from '../types.ts';

/**
 * Our instrument symbols for a crypto spot pair are `BASE-QUOTE` (`BTC-USDT`); CCXT's unified
 * spot symbols are `BASE/QUOTE` (`BTC/USDT`), whatever the venue's own id is (`BTCUSDT` at
 * Binance, `XBTUSDT` at Kraken, `BTC-USDT` at OKX): CCXT owns the venue-side mapping, we only
 * swap the separator. Derivatives (`BTC/USDT:USDT`) are not traded through this adapter.
 */
const OURS = /^([A-Z0-9._]{1,32})-([A-Z0-9._]{1,32})$/;
const CCXT_SPOT = /^([A-Za-z0-9._]{1,32})\/([A-Za-z0-9._]{1,32})$/;

export function toCcxtSymbol(symbol: string, broker: string, operation: string): string {
  const m = OURS.exec(symbol);
  if (!m)
    throw new BrokerError(
      BrokerErrorCode.INVALID_REQUEST,
      `${symbol} is not a crypto pair symbol (expected BASE-QUOTE, e.g. BTC-USDT)`,
      { broker, operation, context: { symbol } },
    );
  return `${m[1]}/${m[2]}`;
}

/** Null for anything that is not a spot pair (a derivative, an unknown shape). */
export function fromCcxtSymbol(symbol: string): string | null {
  const m = CCXT_SPOT.exec(symbol);
  return m ? `${m[1]}-${m[2]}` : null;
}
