import type { TradingCalendar } from '@aegis/shared/schemas/market-data';
import { z } from 'zod';
import {
  type Catalogue,
  type CatalogueEntry,
  type CatalogueRequest,
  fetchVenueJson,
  isValidSymbol,
  SkipCounter,
} from './venue-catalogue.ts';

/**
 * Alpaca's asset list: `GET /v2/assets?status=active&asset_class=us_equity` on the trading API,
 * authenticated with the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers. US equities by
 * ticker (instrument-symbols.ts: ALPACA maps 1:1). Listing exchange → calendar: NASDAQ → XNAS;
 * NYSE, ARCA (NYSE Arca), AMEX (NYSE American) and BATS (Cboe BZX) → XNYS, whose regular session
 * they share; OTC has no calendar here and is left out. Tick 0.01 (Reg NMS sub-penny rule for
 * prices ≥ $1); lot 1 share, or 1e-9 where Alpaca allows fractional orders.
 */
const asset = z.object({
  symbol: z.string(),
  name: z.string().nullish(),
  exchange: z.string(),
  class: z.string().optional(),
  status: z.string().optional(),
  tradable: z.boolean().optional(),
  fractionable: z.boolean().optional(),
});

const CALENDAR: Readonly<Record<string, TradingCalendar>> = {
  NASDAQ: 'XNAS',
  NYSE: 'XNYS',
  ARCA: 'XNYS',
  NYSEARCA: 'XNYS',
  AMEX: 'XNYS',
  BATS: 'XNYS',
};

export interface AlpacaKeys {
  readonly keyId: string;
  readonly secretKey: string;
}

export async function loadAlpacaAssets(
  apiBaseUrl: string,
  keys: AlpacaKeys,
  req: CatalogueRequest = {},
): Promise<Catalogue> {
  const venue = 'ALPACA';
  const url = new URL('/v2/assets', apiBaseUrl);
  url.searchParams.set('status', 'active');
  url.searchParams.set('asset_class', 'us_equity');
  const body = await fetchVenueJson(
    venue,
    url,
    { 'APCA-API-KEY-ID': keys.keyId, 'APCA-API-SECRET-KEY': keys.secretKey },
    req.timeoutMs ?? 30_000,
  );
  const skipped = new SkipCounter();
  const entries: CatalogueEntry[] = [];
  const wanted = req.venueSymbols ? new Set(req.venueSymbols) : null;
  if (!Array.isArray(body)) return { venue, entries, skipped: { malformed_page: 1 }, complete: false };
  for (const raw of body) {
    const a = asset.safeParse(raw);
    if (!a.success || !isValidSymbol(a.data.symbol)) {
      skipped.add('malformed');
      continue;
    }
    if (wanted && !wanted.has(a.data.symbol)) continue;
    const calendar = CALENDAR[a.data.exchange.toUpperCase()];
    if (!calendar || (a.data.class && a.data.class !== 'us_equity')) {
      skipped.add('unsupported');
      continue;
    }
    entries.push({
      symbol: a.data.symbol,
      venue,
      venueSymbol: a.data.symbol,
      name: a.data.name?.trim().slice(0, 120) || null,
      assetClass: 'equity',
      currency: 'USD',
      tickSize: '0.01',
      lotSize: a.data.fractionable ? '0.000000001' : '1',
      multiplier: '1',
      calendar,
      status:
        a.data.tradable === false || (a.data.status && a.data.status !== 'active') ? 'halted' : 'active',
    });
  }
  return { venue, entries, skipped: skipped.counts, complete: wanted === null };
}
