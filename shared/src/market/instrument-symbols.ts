/**
 * How a venue's own symbol becomes the platform's instrument symbol (`instruments.symbol`, unique
 * across venues) and back. One function per direction, used by the engine's venue feeds (which
 * intern the instrument symbol in their tick records) and by the server's instrument registry
 * (which loads the venues' product lists): both must agree, so this lives here.
 *
 *   venue      venue symbol   instrument symbol
 *   COINBASE   BTC-USD        BTC-USD          (Coinbase product ids are the platform's crypto names)
 *   ALPACA     AAPL           AAPL             (US equities by ticker)
 *   SIM        SYN0001        SYN0001          (the synthetic market)
 *   <CCXT id>  BTC/USDT       BINANCE:BTC/USDT (any other venue reached through ccxt: prefixed,
 *                                              so the same pair on two exchanges stays apart)
 */

/** Venues with their own feed adapters; any other venue name is a ccxt exchange id, upper-cased. */
export const NATIVE_VENUES = ['COINBASE', 'ALPACA', 'SIM'] as const;

export function isNativeVenue(venue: string): boolean {
  return (NATIVE_VENUES as readonly string[]).includes(venue);
}

/** The venue name of a ccxt exchange id (`binance` → `BINANCE`). */
export function ccxtVenueName(exchangeId: string): string {
  return exchangeId.toUpperCase();
}

export function instrumentSymbolFor(venue: string, venueSymbol: string): string {
  return isNativeVenue(venue) ? venueSymbol : `${venue}:${venueSymbol}`;
}

/** The venue symbol of an instrument symbol on `venue`, or null when it does not belong there. */
export function venueSymbolOf(venue: string, instrumentSymbol: string): string | null {
  if (isNativeVenue(venue)) return instrumentSymbol.includes(':') ? null : instrumentSymbol;
  const prefix = `${venue}:`;
  return instrumentSymbol.startsWith(prefix) ? instrumentSymbol.slice(prefix.length) : null;
}
