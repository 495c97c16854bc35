import type { AdapterFactory } from '../connection.ts';
import { CcxtAdapter, type CcxtAdapterOptions } from './adapter.ts';

/**
 * Crypto venues through CCXT (docs/brokers/ccxt.md): provider `ccxt:<exchange>` for any id in
 * `ccxt.exchanges`, linked with an API key (key, secret, passphrase where the venue has one).
 */
export { CcxtAdapter, type CcxtAdapterOptions } from './adapter.ts';
export { type CcxtExchangeInfo, supportedCcxtExchanges } from './catalogue.ts';
export { fromCcxtSymbol, toCcxtSymbol } from './symbols.ts';

/** The adapter factory with non-default options (poll interval, account currency …). */
export function ccxtAdapterFactory(opts: CcxtAdapterOptions = {}): AdapterFactory {
  return (ctx) => new CcxtAdapter(ctx, opts);
}

export const createCcxtAdapter: AdapterFactory = ccxtAdapterFactory();
