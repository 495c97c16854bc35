import type { AdapterFactory } from '../connection.ts';
import { IbkrAdapter, type IbkrAdapterOptions } from './adapter.ts';

/**
 * Interactive Brokers through the Client Portal Web API gateway for one linked account:
 * `ctx.endpoints.apiBaseUrl` is the gateway's API base (https://localhost:5000/v1/api),
 * `ctx.accountRef` the IBKR account id. See docs/brokers/ibkr.md.
 */
export const createIbkrAdapter: AdapterFactory = (ctx) => new IbkrAdapter(ctx);

/** The same with options (TLS trust of the gateway, tickle and polling intervals). */
export const ibkrAdapterFactory =
  (opts: IbkrAdapterOptions): AdapterFactory =>
  (ctx) =>
    new IbkrAdapter(ctx, opts);

export { IbkrAdapter, type IbkrAdapterOptions } from './adapter.ts';
export type { GatewayTlsOptions } from './gateway-client.ts';
