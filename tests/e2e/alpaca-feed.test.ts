/**
 * The Alpaca feed against a local server speaking Alpaca's stream protocol (real sockets), and
 * its credentials read from a real broker connection row in a fresh migrated PostgreSQL database,
 * sealed the way the server seals them. No timing thresholds: waits are "until it happens".
 *
 * Over 400 lines on purpose: the Alpaca feed's suites (connection, data, gaps, volume) share one
 * local stream and its helpers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { brokerConnections } from '@aegis/shared/db';
import { createDb, withTenant } from '@aegis/shared/db/client';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BookRegistry } from '../../engine/src/book/book-registry.ts';
import { ASK, BID } from '../../engine/src/book/book-sink.ts';
import { sleep } from '../../engine/src/feeds/feed.ts';
import { MalformedRecords } from '../../engine/src/feeds/malformed.ts';
import { SymbolTable } from '../../engine/src/feeds/symbol-table.ts';
import { copyTick, createTickRecord, type TickRecord, type TickSink } from '../../engine/src/feeds/tick.ts';
import { AlpacaFeed, type AlpacaFeedOptions } from '../../engine/src/feeds/venues/alpaca-feed.ts';
import {
  alpacaKeysOf,
  loadVenueCredentials,
  parseConnectionRef,
  resolveAlpacaKeys,
  venueKeyRing,
} from '../../engine/src/feeds/venues/feed-credentials.ts';
import { FakeAlpacaStream } from '../../engine/tests/support/fake-alpaca-stream.ts';
import { tokenCryptoOf } from '../../server/src/auth/oauth/crypto-registry.ts';
import { bindingOf, sealOrRefuse } from '../../server/src/auth/oauth/link-service.ts';
import { loadServerConfig } from '../../server/src/env.ts';

const KEYS = { keyId: 'PKTESTALPACA0001', secretKey: `alpaca-secret-${randomUUID()}` };
const WAIT = { timeout: 15_000, interval: 5 };

/**
 * Keeps every tick; with `pressureEvery`, reports backpressure after that many publishes until
 * the next event-loop turn (a ring whose consumer is behind), and counts ticks published while
 * the feed should have been waiting.
 */
class Capture implements TickSink {
  readonly ticks: TickRecord[] = [];
  flushes = 0;
  pressured = 0;
  publishedUnderPressure = 0;
  #sincePressure = 0;
  #pressure: Promise<void> | null = null;
  readonly pressureEvery: number;
  constructor(pressureEvery = 0) {
    this.pressureEvery = pressureEvery;
  }
  publish(t: TickRecord): boolean {
    if (this.#pressure) this.publishedUnderPressure++;
    this.ticks.push(copyTick(t, createTickRecord()));
    this.#sincePressure++;
    return true;
  }
  flush(): void {
    this.flushes++;
  }
  backpressure(): Promise<void> | null {
    if (this.#pressure) return this.#pressure;
    if (this.pressureEvery === 0 || this.#sincePressure < this.pressureEvery) return null;
    this.#sincePressure = 0;
    this.pressured++;
    this.#pressure = new Promise((resolve) =>
      setImmediate(() => {
        this.#pressure = null;
        resolve();
      }),
    );
    return this.#pressure;
  }
}

interface Running {
  readonly feed: AlpacaFeed;
  readonly sink: Capture;
  readonly books: BookRegistry;
  readonly symbols: SymbolTable;
  readonly logs: string[];
  readonly done: Promise<void>;
}

let server: FakeAlpacaStream;
const running: Running[] = [];

function start(
  options: Partial<Omit<AlpacaFeedOptions, 'ctx'>> & { sink?: Capture; maxFutureSkewMs?: number } = {},
): Running {
  const logs: string[] = [];
  const log = createLogger(
    { name: 'alpaca-feed-test', level: 'debug' },
    { write: (s: string) => logs.push(s) },
  );
  const books = new BookRegistry(64);
  const symbols = new SymbolTable({ capacity: 64, shards: 2 });
  const { sink = new Capture(), maxFutureSkewMs = 60_000, ...rest } = options;
  const feed = new AlpacaFeed({
    url: server.url,
    symbols: ['AAPL', 'AMD'],
    credentials: KEYS,
    authRetryMs: 60_000,
    ...rest,
    ctx: {
      symbolTable: symbols,
      malformed: new MalformedRecords(log),
      log,
      books,
      maxFutureSkewMs,
      backoff: { initialMs: 10, maxMs: 50 },
    },
  });
  const r = { feed, sink, books, symbols, logs, done: feed.run(sink) };
  running.push(r);
  return r;
}

async function streaming(r: Running, connections = 1): Promise<void> {
  await vi.waitFor(() => {
    expect(r.feed.stats().connected).toBe(true);
    expect(server.subscribed(['AAPL', 'AMD'])).toBe(true);
    expect(server.authOk).toBe(connections);
  }, WAIT);
}

beforeAll(async () => {
  server = await FakeAlpacaStream.start({ ...KEYS });
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.feed.stop();
    await r.done;
  }
  await vi.waitFor(() => expect(server.connections).toBe(0), WAIT);
  server.received.length = 0;
  server.authOk = 0;
  server.authFailed = 0;
  server.connectionsTotal = 0;
  server.refusedForLimit = 0;
});
afterAll(async () => {
  await server?.close();
});

describe('Alpaca feed: connection', () => {
  it('authenticates with the key and secret, subscribes trades and quotes, and never logs the secret', async () => {
    const r = start();
    await streaming(r);
    const [auth, subscribe] = server.received;
    expect(auth).toEqual({ action: 'auth', key: KEYS.keyId, secret: KEYS.secretKey });
    expect(subscribe).toEqual({ action: 'subscribe', trades: ['AAPL', 'AMD'], quotes: ['AAPL', 'AMD'] });
    expect(server.subscriptions()).toEqual({ trades: ['AAPL', 'AMD'], quotes: ['AAPL', 'AMD'] });
    expect(r.feed.stats()).toMatchObject({
      venue: 'ALPACA',
      feed: 'alpaca',
      transport: 'ws',
      reconnects: 0,
      gaps: 0,
    });
    expect(r.logs.some((l) => l.includes('venue feed: streaming'))).toBe(true);
    expect(r.logs.join('\n')).not.toContain(KEYS.secretKey);
    // run() resolves after stop().
    r.feed.stop();
    await r.done;
    expect(r.feed.stats().connected).toBe(false);
  });

  it('refused keys (402): logs once without the secret and does not hammer Alpaca', async () => {
    const wrong = { keyId: KEYS.keyId, secretKey: `wrong-${randomUUID()}` };
    const r = start({ credentials: wrong, authRetryMs: 60_000 });
    await vi.waitFor(() => expect(r.feed.stats().authFailures).toBe(1), WAIT);
    // With the 10 ms reconnect backoff a hammering client would be back dozens of times by now.
    await sleep(300);
    expect(server.connectionsTotal).toBe(1);
    expect(server.authFailed).toBe(1);
    // The long wait ends at stop().
    r.feed.stop();
    await r.done;
    const all = r.logs.join('\n');
    expect(all).not.toContain(wrong.secretKey);
    expect(all).toContain('"code":402');
  });

  it('a refusal that repeats is logged once, and retried only after authRetryMs', async () => {
    const wrong = { keyId: KEYS.keyId, secretKey: `wrong-${randomUUID()}` };
    const r = start({ credentials: wrong, authRetryMs: 20 });
    await vi.waitFor(() => expect(server.authFailed).toBeGreaterThanOrEqual(3), WAIT);
    const refusals = r.logs.filter((l) => l.includes('refused the credentials'));
    expect(refusals).toHaveLength(1);
    expect(r.logs.join('\n')).not.toContain(wrong.secretKey);
    expect(r.feed.stats().connected).toBe(false);
  });

  it('406 connection limit exceeded: backs off and gets in once the other connection is gone', async () => {
    const first = start();
    await streaming(first);
    const second = start();
    await vi.waitFor(() => expect(server.refusedForLimit).toBeGreaterThanOrEqual(2), WAIT);
    expect(second.feed.stats().connected).toBe(false);
    expect(second.feed.stats().authFailures).toBe(0); // not taken for refused keys
    first.feed.stop();
    await first.done;
    await vi.waitFor(() => expect(second.feed.stats().connected).toBe(true), WAIT);
    expect(second.feed.stats().reconnects).toBeGreaterThanOrEqual(2);
  });
});

describe('Alpaca feed: data', () => {
  it('quotes become the top of book and quote ticks; trades carry it and the quote-rule aggressor', async () => {
    const r = start();
    await streaming(r);
    const aapl = r.symbols.idOf('AAPL');
    server.push([server.quote('AAPL', 126.5, 3, 126.6, 2)]);
    await vi.waitFor(() => expect(r.sink.ticks).toHaveLength(1), WAIT);
    expect(r.sink.ticks[0]).toMatchObject({
      symbolId: aapl,
      kind: 2,
      bid: 126.5,
      ask: 126.6,
      bidSize: 3,
      askSize: 2,
    });
    const out = new Float64Array(4);
    expect(r.books.levels(aapl, BID, 2, out)).toBe(1);
    expect([out[0], out[1]]).toEqual([126.5, 3]);
    expect(r.books.levels(aapl, ASK, 2, out)).toBe(1);
    expect([out[0], out[1]]).toEqual([126.6, 2]);
    server.push([
      server.trade('AAPL', 126.6, 100),
      server.trade('AAPL', 126.5, 5),
      server.trade('AAPL', 126.55, 1),
    ]);
    await vi.waitFor(() => expect(r.sink.ticks).toHaveLength(4), WAIT);
    expect(r.sink.ticks.slice(1).map((t) => [t.kind, t.price, t.size, t.aggressor, t.bid, t.ask])).toEqual([
      [1, 126.6, 100, 1, 126.5, 126.6],
      [1, 126.5, 5, -1, 126.5, 126.6],
      [1, 126.55, 1, 0, 126.5, 126.6],
    ]);
    expect(r.sink.flushes).toBeGreaterThan(0);
  });

  it('decodes every message of batched frames', async () => {
    const r = start();
    await streaming(r);
    const t0 = Date.now();
    const batch = [];
    for (let i = 0; i < 50; i++)
      batch.push(
        i % 2 === 0
          ? server.quote(i % 4 === 0 ? 'AAPL' : 'AMD', 10, 1, 10.02, 1, t0, i * 1000)
          : server.trade(i % 4 === 1 ? 'AAPL' : 'AMD', 10.02, i, t0, i * 1000),
      );
    server.push(batch);
    server.push([server.trade('AAPL', 10.01, 1, t0 + 1)]);
    await vi.waitFor(() => expect(r.sink.ticks).toHaveLength(51), WAIT);
    expect(r.feed.stats().messagesIn).toBeGreaterThanOrEqual(51 + 3); // + connected, authenticated, subscription
    expect(r.sink.ticks.filter((t) => t.kind === 1 && t.aggressor === 1)).toHaveLength(25);
  });

  it('counts out-of-order messages and refuses messages dated beyond the allowed skew', async () => {
    const r = start({ maxFutureSkewMs: 2_000 });
    await streaming(r);
    const now = Date.now();
    server.push([server.quote('AAPL', 10, 1, 11, 1, now), server.quote('AAPL', 9, 1, 10, 1, now - 1_000)]);
    server.push([server.trade('AAPL', 11, 1, now), server.trade('AAPL', 11, 2, now - 5)]);
    server.push([server.quote('AMD', 10, 1, 11, 1, now + 60_000), server.trade('AMD', 10, 1, now + 60_000)]);
    server.push([server.trade('AAPL', 11, 3, now + 1)]);
    await vi.waitFor(() => expect(r.sink.ticks.filter((t) => t.size === 3)).toHaveLength(1), WAIT);
    const s = r.feed.stats();
    expect(s.outOfOrder).toBe(2);
    expect(s.skewed).toBe(2);
    expect(s.clockSkewMs).toBeLessThan(1_000); // the latest message was dated now
    // Stale quote dropped (book keeps the newer top), late trade kept, skewed ones refused.
    expect(r.sink.ticks.map((t) => [t.kind, t.size])).toEqual([
      [2, 0],
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
    expect(r.books.hasBook(r.symbols.idOf('AMD'))).toBe(false);
    // A ticker not subscribed (Alpaca may still send a few after an unsubscribe) is skipped,
    // never interned into the fixed-capacity symbol table.
    server.sendRaw(JSON.stringify([server.trade('TSLA', 200, 1)]));
    server.push([server.trade('AAPL', 11, 4, Date.now())]);
    await vi.waitFor(() => expect(r.sink.ticks.filter((t) => t.size === 4)).toHaveLength(1), WAIT);
    expect(r.symbols.idOf('TSLA')).toBe(-1);
    expect(r.feed.stats().ignored).toBe(1);
    expect(r.feed.stats().malformed).toBe(0);
  });

  it('counts malformed frames and messages and keeps streaming', async () => {
    const r = start();
    await streaming(r);
    server.sendRaw('not json at all');
    server.sendRaw('{"T":"q","S":"AAPL"}');
    server.sendRaw('[{"T":"q","S":"AAPL","bp":"x"},{"T":"t","S":"AAPL","p":1,"s":1,"t":"never"}]');
    server.push([server.quote('AAPL', 10, 1, 10.5, 1)]);
    await vi.waitFor(() => expect(r.sink.ticks).toHaveLength(1), WAIT);
    expect(r.feed.stats().malformed).toBe(4);
    expect(r.feed.stats().connected).toBe(true);
    expect(r.logs.some((l) => l.includes('malformed record skipped'))).toBe(true);
  });
});

describe('Alpaca feed: gaps', () => {
  it('a lost connection is a gap: books cleared, reconnect, resubscribe, the window reported', async () => {
    const r = start();
    await streaming(r);
    const aapl = r.symbols.idOf('AAPL');
    server.push([server.quote('AAPL', 10, 1, 10.5, 1)]);
    await vi.waitFor(() => expect(r.books.hasBook(aapl)).toBe(true), WAIT);
    server.dropAll();
    await vi.waitFor(() => expect(r.feed.stats().gaps).toBe(1), WAIT);
    expect(r.books.hasBook(aapl)).toBe(false); // nothing stale until a fresh quote
    await streaming(r, 2);
    expect(server.received.filter((m) => m.action === 'subscribe')).toHaveLength(2);
    const s = r.feed.stats();
    expect(s).toMatchObject({ gaps: 1, resyncs: 1, reconnects: 1, connected: true });
    expect(s.lastGapMs).toBeGreaterThanOrEqual(0);
    expect(r.logs.some((l) => l.includes('resubscribed after a gap'))).toBe(true);
    // A trade before the first new quote carries no bid/ask; the next quote restores the book.
    server.push([server.trade('AAPL', 10.5, 1)]);
    server.push([server.quote('AAPL', 10.1, 2, 10.4, 2)]);
    await vi.waitFor(() => expect(r.sink.ticks).toHaveLength(3), WAIT);
    expect(r.sink.ticks[1]).toMatchObject({ kind: 1, bid: 0, ask: 0, aggressor: 0 });
    expect(r.sink.ticks[2]).toMatchObject({ kind: 2, bid: 10.1, ask: 10.4 });
  });

  it('407 slow client counts one gap (not two) and reconnects', async () => {
    const r = start();
    await streaming(r);
    server.sendError(407, 'slow client');
    await streaming(r, 2);
    expect(r.feed.stats()).toMatchObject({ gaps: 1, resyncs: 1 });
  });
});

describe('Alpaca feed: volume', () => {
  it('decodes a burst of 100,000 messages fully, under sink backpressure', async () => {
    const sink = new Capture(1_000);
    const r = start({ sink, symbols: ['AAPL'] });
    await vi.waitFor(() => expect(server.subscribed(['AAPL'])).toBe(true), WAIT);
    await server.burst('AAPL', 100_000, 10);
    await vi.waitFor(() => expect(r.sink.ticks.length).toBe(100_000), { timeout: 60_000, interval: 20 });
    const s = r.feed.stats();
    expect(s.malformed).toBe(0);
    expect(s.outOfOrder).toBe(0);
    expect(r.feed.ticksIn).toBe(100_000);
    expect(r.sink.ticks.filter((t) => t.kind === 1)).toHaveLength(50_000);
    expect(sink.pressured).toBeGreaterThan(10);
    // The feed waited whenever the sink said so: nothing was published into a full sink.
    expect(sink.publishedUnderPressure).toBe(0);
  }, 90_000);

  it('stop() ends run() even while the sink never makes room again', async () => {
    class Stuck extends Capture {
      override backpressure(): Promise<void> | null {
        return this.ticks.length > 0 ? new Promise<void>(() => {}) : null;
      }
    }
    const sink = new Stuck();
    const r = start({ sink });
    await streaming(r);
    server.push([server.quote('AAPL', 10, 1, 10.5, 1)]);
    await vi.waitFor(() => expect(sink.ticks).toHaveLength(1), WAIT);
    server.push([server.quote('AAPL', 10, 1, 10.6, 1)]);
    r.feed.stop();
    await r.done;
    expect(sink.ticks).toHaveLength(1);
  });

  it('streams the deterministic market', async () => {
    const r = start();
    await streaming(r);
    const stop = server.startMarket({ symbols: ['AAPL', 'AMD'], msgsPerSec: 2_000, seed: 7 });
    await vi.waitFor(() => expect(r.sink.ticks.length).toBeGreaterThan(500), WAIT);
    stop();
    expect(r.feed.stats().malformed).toBe(0);
    expect(new Set(r.sink.ticks.map((t) => r.symbols.symbolOf(t.symbolId)))).toEqual(
      new Set(['AAPL', 'AMD']),
    );
    expect(r.sink.ticks.some((t) => t.kind === 1 && t.aggressor !== 0)).toBe(true);
  });
});

describe('Alpaca credentials from a broker connection', () => {
  const KEY = randomBytes(32).toString('base64');
  let db: MigratedTestDatabase;
  let owner: postgres.Sql;
  let app: postgres.Sql;
  let tenantId: TenantId;
  let otherTenant: string;

  beforeAll(async () => {
    db = await createMigratedTestDatabase();
    owner = postgres(db.url, { max: 2, onnotice: () => {} });
    app = postgres(db.appUrl, { max: 2, onnotice: () => {} });
    // The desk inserted just below.
    tenantId = asTenantId(randomUUID());
    otherTenant = randomUUID();
    for (const [id, slug] of [
      [tenantId, `alpaca-desk-${id8()}`],
      [otherTenant, `other-desk-${id8()}`],
    ])
      await owner`insert into tenants (id, slug, name) values (${id!}, ${slug!}, ${slug!})`;
  }, 60_000);
  afterAll(async () => {
    await app?.end();
    await owner?.end();
    await db?.drop();
  });

  /** A connection row as the server's brokers.linkApiKey writes it (its sealing code, its columns). */
  async function linkLikeTheServer(
    values: Partial<typeof brokerConnections.$inferInsert> & { secret?: string } = {},
  ): Promise<string> {
    const config = loadServerConfig({ DATABASE_URL: db.appUrl, TOKEN_ENCRYPTION_KEYS: `k1:${KEY}` });
    const crypto = tokenCryptoOf(config);
    const id = randomUUID();
    const { secret, ...rest } = values;
    const credentials = JSON.stringify({ apiKey: KEYS.keyId, apiSecret: secret ?? KEYS.secretKey });
    const drizzle = createDb(db.appUrl);
    try {
      await withTenant(drizzle.db, tenantId, (tx) =>
        tx.insert(brokerConnections).values({
          id,
          tenantId,
          provider: 'alpaca',
          accountRef: `pending:${id}`,
          label: 'Alpaca',
          environment: 'paper',
          linkKind: 'api_key',
          status: 'active',
          credentialsEnc: sealOrRefuse(crypto, credentials, bindingOf(tenantId, id, 'credentials')),
          ...rest,
        }),
      );
    } finally {
      await drizzle.close();
    }
    return id;
  }

  it('opens an API-key connection with the server key ring, and the feed streams with it', async () => {
    const connectionId = await linkLikeTheServer();
    const creds = await loadVenueCredentials(
      app,
      { tenantId, connectionId },
      venueKeyRing(`k1:${KEY}`, undefined),
      {
        expectProvider: 'alpaca',
      },
    );
    expect(creds).toEqual({
      provider: 'alpaca',
      environment: 'paper',
      apiKey: KEYS.keyId,
      apiSecret: KEYS.secretKey,
    });
    // A key ring without the server's key does not open it (and says so without the secret).
    await expect(
      loadVenueCredentials(
        app,
        { tenantId, connectionId },
        venueKeyRing(undefined, randomBytes(32).toString('base64')),
      ),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // As the engine wiring will do it: ENGINE_ALPACA_CONNECTION=<desk>/<connection>.
    const ref = parseConnectionRef(`${tenantId}/${connectionId}`);
    const keys = await resolveAlpacaKeys(
      { kind: 'connection', ref: ref! },
      { sql: app, keyRing: venueKeyRing(`k1:${KEY}`, undefined) },
    );
    expect(keys).toEqual(alpacaKeysOf(creds));
    const r = start({ credentials: keys });
    await streaming(r);
  });

  it('refuses OAuth links (Alpaca data streams take API keys), other desks, other brokers, dead links', async () => {
    const ring = venueKeyRing(`k1:${KEY}`, undefined);
    const oauth = await linkLikeTheServer({
      linkKind: 'oauth',
      credentialsEnc: null,
      accountRef: `oauth-${id8()}`,
    });
    await expect(loadVenueCredentials(app, { tenantId, connectionId: oauth }, ring)).rejects.toThrow(
      /linked by oauth.*API keys, not OAuth tokens/,
    );
    const keyed = await linkLikeTheServer({ accountRef: `keyed-${id8()}` });
    await expect(
      loadVenueCredentials(app, { tenantId: otherTenant, connectionId: keyed }, ring),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      loadVenueCredentials(app, { tenantId, connectionId: keyed }, ring, { expectProvider: 'coinbase' }),
    ).rejects.toThrow(/alpaca connection, not coinbase/);
    const relink = await linkLikeTheServer({ status: 'needs_relink', accountRef: `relink-${id8()}` });
    await expect(loadVenueCredentials(app, { tenantId, connectionId: relink }, ring)).rejects.toThrow(
      /needs relink/,
    );
    // A sealed value moved to another row does not open (bound to its row).
    const [row] = await owner<{ credentials_enc: string }[]>`
      select credentials_enc from broker_connections where id = ${keyed}`;
    const moved = await linkLikeTheServer({ accountRef: `moved-${id8()}`, secret: 'other' });
    await owner`update broker_connections set credentials_enc = ${row!.credentials_enc} where id = ${moved}`;
    await expect(loadVenueCredentials(app, { tenantId, connectionId: moved }, ring)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

function id8(): string {
  return randomBytes(4).toString('hex');
}
