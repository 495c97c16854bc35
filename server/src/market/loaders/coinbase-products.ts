import { z } from 'zod';
import {
  type Catalogue,
  type CatalogueEntry,
  type CatalogueRequest,
  fetchVenueJson,
  isPositiveDecimal,
  isValidSymbol,
  SkipCounter,
} from './venue-catalogue.ts';

/**
 * Coinbase Advanced Trade's public product list: `GET /api/v3/brokerage/market/products`
 * (no authentication), paged with `limit`/`offset`, spot products only (`product_type=SPOT`).
 * Product ids are the platform's crypto symbols (instrument-symbols.ts: COINBASE maps 1:1).
 * Tick size is `price_increment` (or `quote_increment`), lot size `base_increment`; a product
 * whose trading is disabled, or whose status is not `online`, is halted; `delisted` is delisted.
 */
const product = z.object({
  product_id: z.string(),
  base_increment: z.string(),
  quote_increment: z.string(),
  price_increment: z.string().optional(),
  base_currency_id: z.string().optional(),
  quote_currency_id: z.string(),
  base_name: z.string().optional(),
  quote_name: z.string().optional(),
  product_type: z.string().optional(),
  status: z.string().optional(),
  trading_disabled: z.boolean().optional(),
  is_disabled: z.boolean().optional(),
  cancel_only: z.boolean().optional(),
});
const page = z.object({ products: z.array(z.unknown()), num_products: z.number().optional() });

const PAGE = 250;
const MAX_PAGES = 200;

export async function loadCoinbaseProducts(
  apiBaseUrl: string,
  req: CatalogueRequest = {},
): Promise<Catalogue> {
  const venue = 'COINBASE';
  const skipped = new SkipCounter();
  const entries: CatalogueEntry[] = [];
  const wanted = req.venueSymbols ? new Set(req.venueSymbols) : null;
  for (let offset = 0, pageNo = 0; pageNo < MAX_PAGES; pageNo++) {
    const url = new URL('/api/v3/brokerage/market/products', apiBaseUrl);
    url.searchParams.set('product_type', 'SPOT');
    url.searchParams.set('limit', String(PAGE));
    url.searchParams.set('offset', String(offset));
    for (const id of wanted ?? []) url.searchParams.append('product_ids', id);
    const parsed = page.safeParse(await fetchVenueJson(venue, url, {}, req.timeoutMs ?? 15_000));
    if (!parsed.success) {
      skipped.add('malformed_page');
      break;
    }
    for (const raw of parsed.data.products) {
      const p = product.safeParse(raw);
      if (!p.success) {
        skipped.add('malformed');
        continue;
      }
      const entry = toEntry(p.data);
      if (typeof entry === 'string') skipped.add(entry);
      else if (!wanted || wanted.has(entry.venueSymbol)) entries.push(entry);
    }
    offset += parsed.data.products.length;
    if (parsed.data.products.length < PAGE) break;
  }
  return { venue, entries, skipped: skipped.counts, complete: wanted === null };
}

function toEntry(p: z.infer<typeof product>): CatalogueEntry | string {
  if (p.product_type && p.product_type !== 'SPOT') return 'unsupported';
  const tick = p.price_increment ?? p.quote_increment;
  if (!isValidSymbol(p.product_id) || !isPositiveDecimal(tick) || !isPositiveDecimal(p.base_increment))
    return 'malformed';
  const currency = p.quote_currency_id.toUpperCase();
  if (!/^[A-Z0-9]{2,12}$/.test(currency)) return 'malformed';
  const disabled = p.trading_disabled === true || p.is_disabled === true || p.cancel_only === true;
  const status = p.status?.toLowerCase();
  return {
    symbol: p.product_id,
    venue: 'COINBASE',
    venueSymbol: p.product_id,
    name: p.base_name && p.quote_name ? `${p.base_name} / ${p.quote_name}` : (p.base_name ?? null),
    assetClass: 'crypto',
    currency,
    tickSize: tick,
    lotSize: p.base_increment,
    multiplier: '1',
    calendar: '24x7',
    status:
      status === 'delisted' ? 'delisted' : disabled || (status && status !== 'online') ? 'halted' : 'active',
  };
}
