/**
 * How the server's CCXT broker (server/src/brokers/ccxt/venue.ts) and the engine's CCXT feeds
 * (engine/src/feeds/venues/ccxt-exchange.ts) set up a CCXT exchange object alike: spot markets
 * only, a venue's own options, and every REST or WebSocket URL moved to another origin (tests
 * point them at a local venue). Plain object edits: it needs no CCXT import.
 */

/** The part of a CCXT exchange object this module touches. */
export interface CcxtExchangeLike {
  options: unknown;
  readonly urls: { api: unknown };
  loadHttpProxyAgent(): Promise<unknown>;
}

/**
 * Spot only: `defaultType`, and `fetchMarkets.types` where the venue has it (most multi-market
 * venues: binance, okx, bybit, gate, kucoin), then the venue's own options.
 */
export function keepCcxtOnSpot(
  ex: CcxtExchangeLike,
  venueOptions: Readonly<Record<string, unknown>> = {},
): void {
  const options = ex.options as Record<string, unknown>;
  options.defaultType = 'spot';
  const fm = options.fetchMarkets as { types?: unknown } | undefined;
  if (fm && typeof fm === 'object' && Array.isArray(fm.types))
    options.fetchMarkets = { ...fm, types: ['spot'] };
  Object.assign(options, venueOptions);
}

/**
 * Moves every REST URL of `urls.api` to the origin of `rest` and every WebSocket URL to that of
 * `ws`, keeping each path (`https://api.binance.com/api/v3` → `http://127.0.0.1:PORT/api/v3`;
 * templates such as `https://api.{hostname}/…` too). A plain `ws://` origin (a local venue)
 * needs CCXT's http agent loaded before its socket opens.
 */
export async function moveCcxtUrls(
  ex: CcxtExchangeLike,
  urls: { readonly rest?: string | undefined; readonly ws?: string | undefined },
): Promise<void> {
  if (urls.rest) ex.urls.api = rebase(ex.urls.api, originOf(urls.rest), 'http');
  if (urls.ws) {
    ex.urls.api = rebase(ex.urls.api, originOf(urls.ws), 'ws');
    if (urls.ws.startsWith('ws://')) await ex.loadHttpProxyAgent();
  }
}

function originOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

function rebase(node: unknown, origin: string, kind: 'http' | 'ws'): unknown {
  const re = kind === 'http' ? /^https?:\/\/[^/]+/ : /^wss?:\/\/[^/]+/;
  if (typeof node === 'string') return re.test(node) ? node.replace(re, origin) : node;
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = Array.isArray(node)
      ? ([] as unknown as Record<string, unknown>)
      : {};
    for (const [k, v] of Object.entries(node)) out[k] = rebase(v, origin, kind);
    return out;
  }
  return node;
}
