import type { AdapterFactory } from '../connection.ts';
import { AlpacaAdapter, type AlpacaAdapterOptions } from './adapter.ts';

/**
 * Alpaca (Trading API v2) for one linked connection: `ctx.endpoints.apiBaseUrl` is the paper or
 * live REST base (https://paper-api.alpaca.markets or https://api.alpaca.markets), `streamUrl`
 * the matching `wss://…/stream`. See docs/brokers/alpaca.md.
 */
export const createAlpacaAdapter: AdapterFactory = (ctx) => new AlpacaAdapter(ctx);

/** The same with options (tests shorten the stream's backoff and the polling interval). */
export const alpacaAdapterFactory =
  (opts: AlpacaAdapterOptions): AdapterFactory =>
  (ctx) =>
    new AlpacaAdapter(ctx, opts);

export { AlpacaAdapter, type AlpacaAdapterOptions } from './adapter.ts';
export { conventionLegIds, type LegIds } from './order-history.ts';
