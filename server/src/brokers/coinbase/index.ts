import type { AdapterFactory } from '../connection.ts';
import { CoinbaseAdapter, type CoinbaseAdapterOptions } from './adapter.ts';

/**
 * Coinbase Advanced Trade for one linked connection: `ctx.endpoints.apiBaseUrl` is the REST base
 * (https://api.coinbase.com), `streamUrl` the user-order WebSocket
 * (wss://advanced-trade-ws-user.coinbase.com), `accountRef` the retail portfolio uuid (or empty:
 * the default portfolio). A CDP-key link stores the key name as `apiKey` and the PEM private key
 * as `apiSecret`. See docs/brokers/coinbase.md.
 */
export const createCoinbaseAdapter: AdapterFactory = (ctx) => new CoinbaseAdapter(ctx);

/** The same with options (tests shorten the stream's backoff and the polling interval). */
export const coinbaseAdapterFactory =
  (opts: CoinbaseAdapterOptions): AdapterFactory =>
  (ctx) =>
    new CoinbaseAdapter(ctx, opts);

export { CoinbaseAdapter, type CoinbaseAdapterOptions } from './adapter.ts';
