import { type Dec, dec, decStr } from '@aegis/shared/accounting/decimal';
import { AppError } from '@aegis/shared/errors';
import { ccxtVenueName, instrumentSymbolFor } from '@aegis/shared/market/instrument-symbols';
import ccxt, { type Exchange, type Market } from 'ccxt';
import { numberToDec } from '../../brokers/ccxt/decimals.ts';
import {
  type Catalogue,
  type CatalogueEntry,
  type CatalogueRequest,
  isValidSymbol,
  SkipCounter,
} from './venue-catalogue.ts';

/**
 * Any exchange ccxt reaches: `loadMarkets()` (public endpoints, no keys), spot markets only.
 * Instrument symbol `instrumentSymbolFor(ccxtVenueName(id), market.symbol)` (`BINANCE:BTC/USDT`),
 * venue symbol ccxt's unified symbol. Tick and lot sizes from `precision.price` / `.amount` in
 * the exchange's precision mode (a tick size, or decimal places); calendar 24x7.
 */
const DECIMAL_PLACES = 2;
const TICK_SIZE = 4;

type ExchangeClass = new (config: Record<string, unknown>) => Exchange;

/** The ccxt exchange id of a venue name (`BINANCE` → `binance`), or null when ccxt has none. */
export function ccxtExchangeIdOf(venue: string): string | null {
  const id = venue.toLowerCase();
  return ccxt.exchanges.includes(id) && ccxtVenueName(id) === venue ? id : null;
}

export async function loadCcxtMarkets(
  exchangeId: string,
  opts: { apiBaseUrl: string | null },
  req: CatalogueRequest = {},
): Promise<Catalogue> {
  const venue = ccxtVenueName(exchangeId);
  const Cls = (ccxt as unknown as Record<string, ExchangeClass | undefined>)[exchangeId];
  if (!Cls) throw new AppError('BAD_INPUT', `venue: ccxt has no exchange ${exchangeId}`, { field: 'venue' });
  const ex = new Cls({ enableRateLimit: false, timeout: req.timeoutMs ?? 30_000 });
  const options = ex.options as Record<string, unknown>;
  options.defaultType = 'spot';
  const fm = options.fetchMarkets as { types?: unknown } | undefined;
  if (fm && typeof fm === 'object' && Array.isArray(fm.types))
    options.fetchMarkets = { ...fm, types: ['spot'] };
  // Public markets only: no currency or margin endpoints (they need keys on some venues).
  Object.assign(options, { fetchCurrencies: false, fetchMargins: false });
  (ex.has as Record<string, unknown>).fetchCurrencies = false;
  if (opts.apiBaseUrl)
    ex.urls.api = rebase(ex.urls.api, new URL(opts.apiBaseUrl).origin) as typeof ex.urls.api;

  let markets: Record<string, Market | undefined>;
  try {
    markets = await ex.loadMarkets();
  } catch (cause) {
    throw new AppError(
      'UNAVAILABLE',
      `venue: ${venue} did not list its markets (${errorName(cause)})`,
      { field: 'venue' },
      { cause },
    );
  }
  const skipped = new SkipCounter();
  const entries: CatalogueEntry[] = [];
  const wanted = req.venueSymbols ? new Set(req.venueSymbols) : null;
  for (const m of Object.values(markets)) {
    if (!m) continue;
    if (wanted && !wanted.has(m.symbol)) continue;
    if (!m.spot) {
      skipped.add('unsupported');
      continue;
    }
    const entry = toEntry(ex, venue, m);
    if (entry) entries.push(entry);
    else skipped.add('malformed');
  }
  return { venue, entries, skipped: skipped.counts, complete: wanted === null };
}

function toEntry(ex: Exchange, venue: string, m: NonNullable<Market>): CatalogueEntry | null {
  const symbol = instrumentSymbolFor(venue, m.symbol);
  const tick = stepOf(ex, m.precision?.price);
  const lot = stepOf(ex, m.precision?.amount);
  const currency = (m.quote ?? '').toUpperCase();
  if (!isValidSymbol(symbol) || !tick || !lot || !/^[A-Z0-9]{2,12}$/.test(currency)) return null;
  return {
    symbol,
    venue,
    venueSymbol: m.symbol,
    name: m.base && m.quote ? `${m.base} / ${m.quote}` : null,
    assetClass: 'crypto',
    currency,
    tickSize: tick,
    lotSize: lot,
    multiplier: '1',
    calendar: '24x7',
    status: m.active === false ? 'halted' : 'active',
  };
}

/** A precision in the exchange's mode as a step (`0.01`), or null when it is not one. */
function stepOf(ex: Exchange, precision: number | undefined): string | null {
  if (precision === undefined || precision === null || !Number.isFinite(precision) || precision < 0)
    return null;
  let step: Dec;
  if (ex.precisionMode === TICK_SIZE) step = numberToDec(precision);
  else if (ex.precisionMode === DECIMAL_PLACES) step = dec(1).div(dec(10).pow(Math.trunc(precision)));
  else return null; // significant digits: no fixed step
  return step.gt(0) ? decStr(step) : null;
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.constructor.name : 'error';
}

/** Moves every http(s) URL of ccxt's `urls.api` to `origin`, keeping paths (tests: a local venue). */
function rebase(node: unknown, origin: string): unknown {
  if (typeof node === 'string') return node.replace(/^https?:\/\/[^/]+/, origin);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = Array.isArray(node)
      ? ([] as unknown as Record<string, unknown>)
      : {};
    for (const [k, v] of Object.entries(node)) out[k] = rebase(v, origin);
    return out;
  }
  return node;
}
