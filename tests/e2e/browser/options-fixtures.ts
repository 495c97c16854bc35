import type { Bus } from '@aegis/shared/bus/types';
import { publishVenuePrices } from '@aegis/shared/testing/venue-prices';
import type { Sql } from 'postgres';

/**
 * The market side of the console's options test: one synthetic-market underlying (venue SIM,
 * as the single-machine start registers SYN0000…), quoted on the venue price source the way
 * the engine publishes it. Its option chain is listed by the server on the first look-up and
 * priced from this quote; the quote is re-published (same prices, fresh event time) so the
 * governor never finds it stale, while the chain stays the same from one read to the next.
 */
export const UNDERLYING = 'SYN0001';
export const UNDERLYING_QUOTE = { bid: '99.95', ask: '100.05', last: '100.00' } as const;
/** The price reader's prefix (server execution default, the engine's ENGINE_STREAM_PREFIX). */
const PRICE_PREFIX = 'aegis:';

/** The underlying's registry row, written as the database owner (a test's seed). */
export async function insertSyntheticUnderlying(owner: Sql): Promise<void> {
  await owner`
    insert into instruments (symbol, venue, venue_symbol, name, asset_class, currency, tick_size, lot_size,
                             calendar, status, source)
    values (${UNDERLYING}, 'SIM', ${UNDERLYING}, 'Synthetic 0001', 'crypto', 'USD', '0.01', '0.0001',
            '24x7', 'active', 'seed')
    on conflict (symbol) do nothing`;
}

export interface QuotingUnderlying {
  stop(): void;
}

/** Publishes the underlying's quote now and then every `everyMs` with a fresh event time. */
export async function quoteUnderlying(bus: Bus, everyMs = 2_000): Promise<QuotingUnderlying> {
  const publish = () =>
    publishVenuePrices(bus, PRICE_PREFIX, [
      { venue: 'SIM', instrument: UNDERLYING, ...UNDERLYING_QUOTE, bidSize: '50', askSize: '50' },
    ]);
  await publish();
  const timer = setInterval(() => void publish().catch(() => {}), everyMs);
  return { stop: () => clearInterval(timer) };
}
