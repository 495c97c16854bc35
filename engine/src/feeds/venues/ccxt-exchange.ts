import { AppError, ErrorCode } from '@aegis/shared/errors';
import { keepCcxtOnSpot, moveCcxtUrls } from '@aegis/shared/market/ccxt-venue';
import ccxt, {
  BadSymbol,
  DDoSProtection,
  type Exchange,
  InvalidNonce,
  NetworkError,
  OperationFailed,
  RateLimitExceeded,
} from 'ccxt';

/**
 * Builds the ccxt exchange object of a venue feed (REST, or ccxt pro for WebSocket) and sorts
 * ccxt's errors into what the feed does about them.
 *
 * Public market data only: credentials are passed when given (venues that rate-limit anonymous
 * clients harder), never logged. Spot markets only, and off the endpoints a market-data client
 * does not need at load time (Binance's /sapi currencies and margin pairs). `urls` moves every
 * REST URL to `rest` and every WebSocket URL to `ws` (keeping each path): tests point them at a
 * local venue.
 */
export interface CcxtExchangeOptions {
  readonly exchangeId: string;
  readonly pro: boolean;
  readonly urls?: { readonly rest?: string; readonly ws?: string };
  readonly credentials?: { readonly apiKey: string; readonly secret: string; readonly password?: string };
  readonly timeoutMs: number;
  /** Kept trades per symbol in ccxt pro's cache: a burst larger than this between two reads is lost. */
  readonly tradesLimit: number;
  /** ccxt pro's own reconnect backoff (base and cap, ms). */
  readonly wsBackoff: { readonly initialMs: number; readonly maxMs: number };
}

const VENUE_OPTIONS: Readonly<Record<string, Record<string, unknown>>> = {
  binance: { fetchCurrencies: false, fetchMargins: false },
};

type ExchangeClass = new (config: Record<string, unknown>) => Exchange;

export function hasExchange(exchangeId: string, pro: boolean): boolean {
  const table = (pro ? ccxt.pro : ccxt) as unknown as Record<string, unknown>;
  return /^[a-z0-9]{2,32}$/.test(exchangeId) && typeof table[exchangeId] === 'function';
}

export async function buildCcxtExchange(o: CcxtExchangeOptions): Promise<Exchange> {
  const table = (o.pro ? ccxt.pro : ccxt) as unknown as Record<string, ExchangeClass | undefined>;
  const Cls = hasExchange(o.exchangeId, o.pro) ? table[o.exchangeId] : undefined;
  if (!Cls)
    throw new AppError(
      ErrorCode.BAD_INPUT,
      `ccxt has no ${o.pro ? 'WebSocket' : 'REST'} client for ${o.exchangeId}`,
    );
  const ex = new Cls({
    enableRateLimit: true,
    timeout: o.timeoutMs,
    ...(o.credentials && {
      apiKey: o.credentials.apiKey,
      secret: o.credentials.secret,
      ...(o.credentials.password !== undefined && { password: o.credentials.password }),
    }),
  });
  keepCcxtOnSpot(ex, VENUE_OPTIONS[o.exchangeId]);
  if (o.pro) {
    const options = ex.options as Record<string, unknown>;
    options.tradesLimit = o.tradesLimit;
    const ws = (options.ws as Record<string, unknown> | undefined) ?? {};
    options.ws = { ...ws, backoff: { base: o.wsBackoff.initialMs, factor: 2, max: o.wsBackoff.maxMs } };
  }
  await moveCcxtUrls(ex, { rest: o.urls?.rest, ws: o.pro ? o.urls?.ws : undefined });
  return ex;
}

/**
 * What a feed does with a ccxt error:
 * - `sequence`: the venue's book sequence broke (InvalidNonce, ChecksumError) — a gap: resync;
 * - `rate`: RateLimitExceeded / DDoSProtection — back off longer;
 * - `network`: NetworkError, RequestTimeout, ExchangeNotAvailable, OperationFailed, a closed socket — back off
 *   and reconnect;
 * - `symbol`: BadSymbol — the venue does not list it: drop it;
 * - `other`: anything else (a venue error, an unparseable answer) — counted, backed off.
 */
export type CcxtErrorClass = 'sequence' | 'rate' | 'network' | 'symbol' | 'other';

export function classifyCcxtError(err: unknown): CcxtErrorClass {
  // Order matters: ccxt's hierarchy puts InvalidNonce and DDoSProtection under NetworkError.
  if (err instanceof InvalidNonce) return 'sequence';
  if (err instanceof RateLimitExceeded || err instanceof DDoSProtection) return 'rate';
  // OperationFailed: ccxt's "possibly temporary" family (Binance -1001 "Internal error; … try
  // again" on a 5xx) — treated like a network failure.
  if (err instanceof NetworkError || err instanceof OperationFailed) return 'network';
  if (err instanceof BadSymbol) return 'symbol';
  return 'other';
}
