import type { Bus } from '../bus/types.ts';
import {
  type VenuePrice,
  type VenuePriceUpdate,
  venuePriceSchema,
  venuePricesChannel,
  venuePricesKey,
} from '../market/venue-prices.ts';

/**
 * Tests' stand-in for the engine's price publisher (engine/src/writer/price-publisher.ts): puts
 * venue prices on the bus exactly as the engine does (snapshot hash, then the update message),
 * so server tests create execution prices the one way production does — never through desk
 * order flow and never by writing into a server's quote book.
 */
export interface TestVenuePrice {
  readonly venue: string;
  readonly instrument: string;
  readonly bid?: string;
  readonly ask?: string;
  readonly bidSize?: string;
  readonly askSize?: string;
  readonly last?: string;
  readonly lastSize?: string;
  /** Event time of the quote and trade (default: now). */
  readonly ts?: Date;
}

/** `prefix` as the server's price reader uses it: `<redisKeyPrefix>:` (engine: ENGINE_STREAM_PREFIX). */
export async function publishVenuePrices(
  bus: Bus,
  prefix: string,
  prices: readonly TestVenuePrice[],
): Promise<VenuePrice[]> {
  const byVenue = new Map<string, VenuePrice[]>();
  for (const p of prices) {
    const tsEvent = (p.ts ?? new Date()).toISOString();
    const price = venuePriceSchema.parse({
      venue: p.venue,
      instrument: p.instrument,
      quote:
        p.bid && p.ask
          ? { bid: p.bid, ask: p.ask, bidSize: p.bidSize ?? '100', askSize: p.askSize ?? '100', tsEvent }
          : null,
      trade: p.last ? { price: p.last, size: p.lastSize ?? '1', tsEvent } : null,
      tsIngest: new Date().toISOString(),
    } satisfies VenuePrice);
    const list = byVenue.get(p.venue) ?? [];
    list.push(price);
    byVenue.set(p.venue, list);
  }
  for (const [venue, list] of byVenue) {
    await bus.hset(
      venuePricesKey(prefix, venue),
      Object.fromEntries(list.map((p) => [p.instrument, JSON.stringify(p)])),
    );
    const update: VenuePriceUpdate = { venue, prices: list };
    await bus.publish(venuePricesChannel(prefix, venue), JSON.stringify(update));
  }
  return [...byVenue.values()].flat();
}
