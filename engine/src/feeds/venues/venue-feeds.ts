import { withDeadline } from '@aegis/shared/deadline';
import type { Logger } from '@aegis/shared/logging';
import { ccxtVenueName, instrumentSymbolFor } from '@aegis/shared/market/instrument-symbols';
import type { Sql } from 'postgres';
import type { BookSink } from '../../book/book-sink.ts';
import type { EngineConfig, VenueFeedName } from '../../config.ts';
import { isVenueFeedName } from '../../config.ts';
import type { MalformedRecords } from '../malformed.ts';
import type { SymbolTable } from '../symbol-table.ts';
import { AlpacaFeed } from './alpaca-feed.ts';
import { CcxtFeed } from './ccxt-feed.ts';
import { CoinbaseFeed } from './coinbase-feed.ts';
import { resolveAlpacaKeys, venueKeyRing } from './feed-credentials.ts';
import type { VenueFeed, VenueFeedContext } from './venue-feed.ts';

/**
 * Config → the live venue feeds ENGINE_FEED names (coinbase, alpaca, ccxt), each built with its
 * venue's `BookSink`. The engine owns the books and the publishers; this module only knows how
 * each venue's settings become a feed, and which venue (`instruments.venue`) a feed will publish
 * under before it exists: the engine needs it to hand the feed its venue's book registry.
 *
 * Alpaca credentials from a broker connection are read here, once, at start (a desk's linked
 * API key, opened with the server's key ring): a connection that does not exist, is not an API-key
 * link or does not open fails the start with a message naming it — never the key.
 */
export interface VenueFeedsDeps {
  readonly config: EngineConfig;
  readonly symbolTable: SymbolTable;
  readonly malformed: MalformedRecords;
  readonly log: Logger;
  /** The book sink of a venue (one registry per venue: its publisher drains it). */
  readonly booksFor: (venue: string) => BookSink;
  /** For credentials from a broker connection (ENGINE_ALPACA_CONNECTION). */
  readonly sql?: Sql | undefined;
  /** Reconnect pacing (tests shorten it). */
  readonly backoff?: VenueFeedContext['backoff'];
}

/** The venue a venue feed publishes under (its `feed.venue`), known from the config alone. */
export function venueOfFeed(name: VenueFeedName, config: EngineConfig): string {
  if (name === 'coinbase') return 'COINBASE';
  if (name === 'alpaca') return 'ALPACA';
  const exchange = config.venueFeeds.ccxt?.exchange;
  if (!exchange)
    throw new Error('venue feeds: ccxt without ENGINE_CCXT_EXCHANGE (config should have refused it)');
  return ccxtVenueName(exchange);
}

/** The venue feeds the config names, in ENGINE_FEED order. */
export function configuredVenueFeeds(config: EngineConfig): VenueFeedName[] {
  return config.feeds.filter(isVenueFeedName);
}

/**
 * The instruments the configured venue feeds will publish, as (venue, venue symbol, instrument
 * symbol): the embedded start registers the missing ones so the servers can map their prices.
 */
export function configuredVenueInstruments(
  config: EngineConfig,
): { venue: string; venueSymbol: string; symbol: string; feed: VenueFeedName }[] {
  const out: { venue: string; venueSymbol: string; symbol: string; feed: VenueFeedName }[] = [];
  for (const feed of configuredVenueFeeds(config)) {
    const venue = venueOfFeed(feed, config);
    const v = config.venueFeeds;
    const list =
      feed === 'coinbase' ? v.coinbase?.products : feed === 'alpaca' ? v.alpaca?.symbols : v.ccxt?.symbols;
    for (const venueSymbol of list ?? [])
      out.push({ venue, venueSymbol, symbol: instrumentSymbolFor(venue, venueSymbol), feed });
  }
  return out;
}

export async function createVenueFeeds(deps: VenueFeedsDeps): Promise<VenueFeed[]> {
  const { config, log } = deps;
  const feeds: VenueFeed[] = [];
  for (const name of configuredVenueFeeds(config)) {
    const venue = venueOfFeed(name, config);
    const ctx: VenueFeedContext = {
      symbolTable: deps.symbolTable,
      malformed: deps.malformed,
      log,
      books: deps.booksFor(venue),
      maxFutureSkewMs: config.maxFutureSkewMs,
      ...(deps.backoff ? { backoff: deps.backoff } : {}),
    };
    const feed = await buildFeed(name, ctx, deps);
    if (feed.venue !== venue) {
      // The engine gave the feed this venue's books and prices; a feed that disagrees would
      // publish one venue's prices under another's name.
      throw new Error(`venue feeds: ${name} publishes under ${feed.venue}, expected ${venue}`);
    }
    feeds.push(feed);
  }
  return feeds;
}

async function buildFeed(
  name: VenueFeedName,
  ctx: VenueFeedContext,
  deps: VenueFeedsDeps,
): Promise<VenueFeed> {
  const v = deps.config.venueFeeds;
  if (name === 'coinbase') {
    const c = v.coinbase;
    if (!c) throw new Error('venue feeds: coinbase is not configured');
    return new CoinbaseFeed({ url: c.wsUrl, productIds: [...c.products], ctx });
  }
  if (name === 'alpaca') {
    const a = v.alpaca;
    if (!a) throw new Error('venue feeds: alpaca is not configured');
    return new AlpacaFeed({
      url: a.dataUrl,
      symbols: [...a.symbols],
      credentials: await alpacaCredentials(a.credentials, deps),
      ctx,
    });
  }
  const x = v.ccxt;
  if (!x) throw new Error('venue feeds: ccxt is not configured');
  const urls = {
    ...(x.restUrl !== null && { rest: x.restUrl }),
    ...(x.wsUrl !== null && { ws: x.wsUrl }),
  };
  return new CcxtFeed({
    exchangeId: x.exchange,
    symbols: [...x.symbols],
    mode: x.mode,
    pollMs: x.pollMs,
    ...(Object.keys(urls).length > 0 && { urls }),
    ctx,
  });
}

async function alpacaCredentials(
  c: NonNullable<EngineConfig['venueFeeds']['alpaca']>['credentials'],
  deps: VenueFeedsDeps,
): Promise<{ keyId: string; secretKey: string }> {
  if (c.kind === 'keys') return resolveAlpacaKeys(c, {});
  if (!deps.sql) throw new Error('venue feeds: ENGINE_ALPACA_CONNECTION needs DATABASE_URL');
  const keys = await withDeadline(
    resolveAlpacaKeys(
      { kind: 'connection', ref: c.ref },
      { sql: deps.sql, keyRing: venueKeyRing(c.tokenKeys, c.tokenKey) },
    ),
    deps.config.dbTimeoutMs,
    'read the Alpaca broker connection',
  );
  deps.log.info(
    { feed: 'alpaca', desk: c.ref.tenantId, connection: c.ref.connectionId },
    'venue feed: Alpaca keys taken from the broker connection',
  );
  return keys;
}
