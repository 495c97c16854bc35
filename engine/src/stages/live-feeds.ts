import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import { BookRegistry } from '../book/book-registry.ts';
import type { EngineConfig } from '../config.ts';
import type { MalformedRecords } from '../feeds/malformed.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import type { VenueFeed } from '../feeds/venues/venue-feed.ts';
import { createVenueFeeds } from '../feeds/venues/venue-feeds.ts';

export interface LiveFeeds {
  readonly venueFeeds: readonly VenueFeed[];
  /** One L2 book registry per venue; a venue's feeds share it. */
  readonly registries: ReadonlyMap<string, BookRegistry>;
}

/**
 * Stage 2: the live venue feeds, built before any thread starts so a bad credential fails the
 * start. One book registry per venue (its changed-set has one consumer: that venue's
 * BookPublisher, started with the prices).
 */
export async function createLiveFeeds(options: {
  config: EngineConfig;
  symbolTable: SymbolTable;
  malformed: MalformedRecords;
  log: Logger;
  sql: Sql | undefined;
}): Promise<LiveFeeds> {
  const { config, symbolTable } = options;
  const registries = new Map<string, BookRegistry>();
  const booksFor = (venue: string): BookRegistry => {
    let r = registries.get(venue);
    if (!r) {
      r = new BookRegistry(symbolTable.capacity, { levels: config.book.featureLevels });
      registries.set(venue, r);
    }
    return r;
  };
  const venueFeeds = await createVenueFeeds({ ...options, booksFor });
  return { venueFeeds, registries };
}
