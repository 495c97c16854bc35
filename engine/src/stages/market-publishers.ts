import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import { BookPublisher } from '../book/book-publisher.ts';
import type { BookRegistry } from '../book/book-registry.ts';
import type { EngineConfig } from '../config.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import { PricePublisher } from '../writer/price-publisher.ts';

/** One venue's books: the registry its feeds write and the publisher that drains it. */
export interface VenueBooks {
  readonly venue: string;
  readonly registry: BookRegistry;
  readonly publisher: BookPublisher;
}

export interface MarketPublishers {
  /** The price publisher of ENGINE_VENUE (synthetic, replay). */
  readonly prices: PricePublisher;
  /** A live venue's price publisher, made on demand. */
  pricesFor(venue: string): PricePublisher;
  /** Every venue's price publisher: ENGINE_VENUE's first. */
  allPrices(): PricePublisher[];
  readonly books: readonly VenueBooks[];
}

/**
 * Stage 7: the one price source — venue feeds only (see price-publisher.ts) — and the L2 books.
 * Live venue feeds publish under their own venue (`feed.venue`): one PricePublisher per venue
 * (ENGINE_VENUE's made here, the others on demand), one BookPublisher per venue registry (a
 * registry's changed-set has one consumer: its venue's publisher).
 */
export function startMarketPublishers(options: {
  config: EngineConfig;
  bus: Bus;
  log: Logger;
  symbolTable: SymbolTable;
  registries: ReadonlyMap<string, BookRegistry>;
}): MarketPublishers {
  const { config, bus, log, symbolTable } = options;
  const newPrices = (venue: string) =>
    new PricePublisher({
      bus,
      venue,
      prefix: config.streamPrefix,
      symbolTable,
      capacity: symbolTable.capacity,
      publishMs: config.pricePublishMs,
      maxFutureSkewMs: config.maxFutureSkewMs,
      log,
    });
  const prices = newPrices(config.venue);
  prices.start();
  const pricesByVenue = new Map<string, PricePublisher>([[config.venue, prices]]);
  const pricesFor = (venue: string): PricePublisher => {
    let p = pricesByVenue.get(venue);
    if (!p) {
      p = newPrices(venue);
      p.start();
      pricesByVenue.set(venue, p);
    }
    return p;
  };
  const books: VenueBooks[] = [];
  for (const [venue, registry] of options.registries) {
    const publisher = new BookPublisher({
      bus,
      venue,
      prefix: config.streamPrefix,
      registry,
      symbolTable,
      publishMs: config.book.publishMs,
      log,
    });
    publisher.start();
    books.push({ venue, registry, publisher });
  }
  return { prices, pricesFor, allPrices: () => [...pricesByVenue.values()], books };
}
