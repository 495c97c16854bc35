import { publishVenuePrices, type TestVenuePrice } from '@aegis/shared/testing/venue-prices';
import type { TestServer } from './test-server.ts';

/**
 * Market prices for a test server, the way production makes them: published on the venue price
 * source (as the engine does) under the server's Redis prefix, then awaited in the server's
 * quote book (a bounded wait for delivery, never a timing assertion). Never order flow: what a
 * desk ingests is not a price.
 */
export async function venuePrices(
  t: Pick<TestServer, 'server' | 'redisPrefix'>,
  prices: readonly TestVenuePrice[],
): Promise<void> {
  const now = new Date();
  const list = prices.map((p) => ({ ...p, ts: p.ts ?? now }));
  await publishVenuePrices(t.server.deps.bus, `${t.redisPrefix}:`, list);
  const ex = t.server.deps.execution;
  if (!ex) return;
  // Instruments a test registers after start may be on a venue the server does not follow yet
  // (it re-reads the map every few seconds): follow it now; the snapshot holds the price.
  await ex.quoteFeed.refresh();
  for (const p of list) {
    for (let i = 0; ; i++) {
      const q = ex.quotes.get(p.instrument);
      const seen = p.bid ? q?.tsQuote : q?.tsTrade;
      if (seen && seen.getTime() >= p.ts.getTime()) break;
      if (i >= 400) throw new Error(`venue price for ${p.instrument} never reached the server`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
