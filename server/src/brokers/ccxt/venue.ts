import { keepCcxtOnSpot, moveCcxtUrls } from '@aegis/shared/market/ccxt-venue';
import ccxt, { type Exchange } from 'ccxt';
import type { ConnectionContext } from '../connection.ts';
import { BrokerError, BrokerErrorCode } from '../types.ts';

/**
 * Builds the CCXT exchange object of one connection: `new ccxt[exchange]({apiKey, secret,
 * password, enableRateLimit, timeout})` from the connection's API-key credentials, CCXT's
 * sandbox for a `paper` connection (refused where the venue has none), spot markets only, and
 * every REST base URL moved to `ctx.endpoints.apiBaseUrl` when one is configured (tests point it
 * at a local fake venue; an empty value keeps the venue's own URLs).
 */
export interface VenueOptions {
  /** CCXT's own per-request timeout; keep it under the call policy's timeout. */
  readonly timeoutMs: number;
}

/** CCXT exchange ids are lower-case letters and digits (`binance`, `okx`, `gate`). */
export function exchangeIdOf(provider: string): string {
  const m = /^ccxt:([a-z0-9]{2,32})$/.exec(provider);
  const id = m?.[1];
  if (!id || !ccxt.exchanges.includes(id))
    throw new BrokerError(BrokerErrorCode.INVALID_REQUEST, `${provider} is not a CCXT exchange`, {
      broker: provider,
      operation: 'connect',
    });
  return id;
}

type ExchangeClass = new (config: Record<string, unknown>) => Exchange;

function exchangeClass(id: string, pro: boolean): ExchangeClass | null {
  const table = (pro ? ccxt.pro : ccxt) as unknown as Record<string, ExchangeClass | undefined>;
  return table[id] ?? null;
}

/**
 * Venue options that keep CCXT off endpoints a spot account does not need at load time: Binance
 * would otherwise also call /sapi (currencies, margin pairs).
 */
const VENUE_OPTIONS: Readonly<Record<string, Record<string, unknown>>> = {
  binance: {
    fetchCurrencies: false,
    fetchMargins: false,
    warnOnFetchOpenOrdersWithoutSymbol: false,
  },
};

/**
 * Capabilities switched off per venue: private calls CCXT would make on load that a spot account
 * does not need (OKX's /asset/currencies: markets carry the precision we use).
 */
const VENUE_HAS_OFF: Readonly<Record<string, readonly string[]>> = {
  okx: ['fetchCurrencies'],
  myokx: ['fetchCurrencies'],
  okxus: ['fetchCurrencies'],
};

export async function buildExchange(
  ctx: ConnectionContext,
  id: string,
  opts: VenueOptions,
  pro = false,
): Promise<Exchange> {
  const Cls = exchangeClass(id, pro);
  if (!Cls)
    throw new BrokerError(
      BrokerErrorCode.INVALID_REQUEST,
      `ccxt:${id} has no ${pro ? 'WebSocket' : 'REST'} client`,
      {
        broker: ctx.provider,
        operation: 'connect',
      },
    );
  const creds = await ctx.credentials.apiKey();
  const ex = new Cls({
    apiKey: creds.apiKey,
    secret: creds.apiSecret,
    ...(creds.passphrase !== undefined && { password: creds.passphrase }),
    enableRateLimit: true,
    timeout: opts.timeoutMs,
    // Kept for the venue's own error code in BrokerError context (errors.ts).
    enableLastJsonResponse: true,
  });
  keepCcxtOnSpot(ex, VENUE_OPTIONS[id]);
  for (const cap of VENUE_HAS_OFF[id] ?? []) (ex.has as Record<string, unknown>)[cap] = false;

  if (ctx.environment === 'paper') {
    if (!hasSandbox(ex))
      throw new BrokerError(
        BrokerErrorCode.INVALID_REQUEST,
        `ccxt:${id} has no sandbox (testnet) in CCXT: link it as a live connection, or trade the desk's paper account`,
        { broker: ctx.provider, operation: 'connect' },
      );
    ex.setSandboxMode(true);
  }
  const stream = ctx.endpoints.streamUrl?.trim();
  await moveCcxtUrls(ex, { rest: ctx.endpoints.apiBaseUrl.trim(), ws: pro ? stream : undefined });
  return ex;
}

export function hasSandbox(ex: Exchange): boolean {
  return ex.urls !== undefined && 'test' in ex.urls && ex.urls.test !== undefined;
}
