import { randomBytes } from 'node:crypto';
import { type Bus, createBus } from '@aegis/shared/bus/index';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import {
  type VenueBook,
  venueBookSchema,
  venueBooksChannel,
  venueBooksKey,
} from '@aegis/shared/market/venue-books';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { deleteRedisKeys } from '@aegis/shared/testing/redis-keys';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { publishVenuePrices } from '@aegis/shared/testing/venue-prices';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirstAdminIfNone } from '../../src/provisioning/service.ts';
import { type ServerProcess, spawnServerProcess, stopServerProcess } from './support/child-server.ts';
import { waitUntil } from './support/wait.ts';
import { type Client, makeClient, signIn } from './test-server.ts';

/**
 * The one price source, across processes: TWO server processes (each its own OS process running
 * startServer, as the daemon does) on the same PostgreSQL and Redis. Venue prices and an L2 book
 * are published ONCE into Redis, as the engine does; both servers' marketData.quote and
 * marketData.book must then return identical values, and identical again after an update.
 */
const VENUE = `MD${randomBytes(3).toString('hex').toUpperCase()}`;
const SYMBOL = 'MD2-USD';
const prefix = `aegis-test-${randomBytes(6).toString('hex')}`;

let database: MigratedTestDatabase;
let owner: Sql;
let db: DatabaseHandle;
let bus: Bus;
const children: ServerProcess[] = [];
let a: Client;
let b: Client;

/** A server as its own OS process (server-process.ts) on this file's database, Redis and prefix. */
async function startServerProcess(): Promise<string> {
  const child = spawnServerProcess('server/tests/integration/server-process.ts', {
    DATABASE_URL: database.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
  });
  children.push(child);
  return child.url;
}

async function publishBook(
  seq: number,
  bids: [string, string][],
  asks: [string, string][],
): Promise<VenueBook> {
  const now = new Date().toISOString();
  const book = venueBookSchema.parse({
    venue: VENUE,
    instrument: SYMBOL,
    bids,
    asks,
    seq,
    tsEvent: now,
    tsIngest: now,
    features: { imbalance: -0.2, levels: 2, withdrawal: 0 },
  } satisfies VenueBook);
  await bus.hset(venueBooksKey(`${prefix}:`, VENUE), { [SYMBOL]: JSON.stringify(book) });
  await bus.publish(venueBooksChannel(`${prefix}:`, VENUE), JSON.stringify({ venue: VENUE, books: [book] }));
  return book;
}

beforeAll(async () => {
  database = await createMigratedTestDatabase('aegis_test_md_two');
  owner = postgres(database.url, { max: 2, onnotice: () => {} });
  await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values (${SYMBOL}, ${VENUE}, 'crypto', '0.01', '0.0001', '24x7')`;
  db = createDb(database.appUrl, { max: 2 });
  const admin = await createFirstAdminIfNone(db.db);
  if (!admin) throw new Error('first admin not created');
  bus = createBus({ redisUrl: TEST_REDIS_URL, log: createLogger({ name: 'md-two-test', level: 'silent' }) });
  const [urlA, urlB] = await Promise.all([startServerProcess(), startServerProcess()]);
  // One session on server A; its API key works on both (keys and sessions live in PostgreSQL).
  const s = await signIn(urlA!, admin.email, admin.password);
  const { key } = await s.client.keys.create.mutate({ name: 'two servers', scopes: ['read'] });
  a = makeClient(urlA!, { bearer: key });
  b = makeClient(urlB!, { bearer: key });
}, 180_000);

afterAll(async () => {
  await Promise.all(children.map((c) => stopServerProcess(c)));
  await bus?.close();
  await db?.close();
  await deleteRedisKeys(`${prefix}:*`);
  await owner?.end({ timeout: 5 });
  await database?.drop();
});

describe('two server processes, one price source', () => {
  it('return identical quotes and books, and identical again after an update', async () => {
    const ts1 = new Date();
    await publishVenuePrices(bus, `${prefix}:`, [
      {
        venue: VENUE,
        instrument: SYMBOL,
        bid: '64000.5',
        ask: '64001',
        bidSize: '1.5',
        askSize: '0.75',
        last: '64000.75',
        ts: ts1,
      },
    ]);
    const book1 = await publishBook(
      1,
      [
        ['64000.5', '1.5'],
        ['64000', '3'],
      ],
      [
        ['64001', '0.75'],
        ['64002.5', '2'],
      ],
    );
    const ready = (c: Client, tsQuote: string, tsBook: string) =>
      Promise.all([
        waitUntil(
          () => c.marketData.quote.query({ symbol: SYMBOL }),
          (q) => q.tsQuote === tsQuote,
          'the quote',
        ),
        waitUntil(
          () => c.marketData.book.query({ symbol: SYMBOL }),
          (x) => x.tsEvent === tsBook,
          'the book',
        ),
      ]);
    const [qa, ba] = await ready(a, ts1.toISOString(), book1.tsEvent);
    const [qb, bb] = await ready(b, ts1.toISOString(), book1.tsEvent);
    expect(qa).toEqual(qb);
    expect(ba).toEqual(bb);
    expect(qa).toMatchObject({ venue: VENUE, bid: '64000.5', ask: '64001', spread: '0.5', last: '64000.75' });
    expect(ba).toMatchObject({ depth: 'l2', bids: book1.bids, asks: book1.asks });

    const ts2 = new Date(ts1.getTime() + 1);
    await publishVenuePrices(bus, `${prefix}:`, [
      { venue: VENUE, instrument: SYMBOL, bid: '63990', ask: '63990.25', last: '63990.1', ts: ts2 },
    ]);
    const book2 = await publishBook(2, [['63990', '4']], [['63990.25', '1']]);
    const [qa2, ba2] = await ready(a, ts2.toISOString(), book2.tsEvent);
    const [qb2, bb2] = await ready(b, ts2.toISOString(), book2.tsEvent);
    expect(qa2).toEqual(qb2);
    expect(ba2).toEqual(bb2);
    expect(qa2).toMatchObject({ bid: '63990', ask: '63990.25', spread: '0.25', last: '63990.1' });
    expect(ba2).toMatchObject({ bids: [['63990', '4']], asks: [['63990.25', '1']] });
  });
});
