import { createLogger } from '@aegis/shared/logging';
import { decodeVenuePrice, decodeVenuePriceUpdate, type VenuePrice } from '@aegis/shared/market/venue-prices';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../src/config.ts';
import { syntheticSymbolName } from '../../src/feeds/synthetic.ts';
import { startEngine } from '../../src/index.ts';
import { redisScope } from '../support/redis-scope.ts';
import { until } from '../support/wait.ts';

/**
 * The one price source, engine side, over real Redis: the engine publishes the synthetic
 * venue's top of book and last trade per instrument (snapshot hash + update channel), and the
 * order flow it consumes on the same run never becomes a published price — neither a symbol only
 * the flow carries, nor a (plausibly dated, absurdly priced) quote and trade on a venue symbol.
 * The flow is operator entries (no tenant): a desk's entries never even become ticks.
 */
const log = createLogger({ name: 'venue-prices-it', level: 'silent' });
const { prefix, bus, close } = redisScope('venue-prices-test');

afterAll(close);

describe('venue prices from the engine', () => {
  it('publishes synthetic venue prices per instrument to Redis and never order flow', async () => {
    const config = loadEngineConfig({
      REDIS_URL: TEST_REDIS_URL,
      ENGINE_FEED: 'synthetic,orderflow',
      ENGINE_STREAM_PREFIX: prefix,
      ENGINE_CONSUMER: 'engine-prices-it',
      ENGINE_SYMBOLS: '8',
      ENGINE_SHARDS: '2',
      ENGINE_WORKERS: '1',
      ENGINE_TICK_RATE: '2000',
      ENGINE_PRICE_PUBLISH_MS: '20',
      ENGINE_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'silent',
    });
    expect(config.venue).toBe('SIM');
    const updates: string[] = [];
    await bus.subscribe(`${prefix}prices:SIM:updates`, (m) => updates.push(m));

    const engine = await startEngine({ config, bus, log });
    const venueSymbol = syntheticSymbolName(0);
    // Order flow, dated now: a quote at a tiny price and a trade on a venue symbol, and a symbol
    // no venue feed carries.
    const now = new Date().toISOString();
    const flow = { source: 'operator-bridge', venue: 'SIM' };
    await bus.xadd(`${prefix}orderflow`, {
      ...flow,
      ts: now,
      symbol: venueSymbol,
      kind: 'quote',
      seq: '1',
      bid: '0.5',
      ask: '0.51',
      bidSize: '9',
      askSize: '9',
    });
    await bus.xadd(`${prefix}orderflow`, {
      ...flow,
      ts: now,
      symbol: venueSymbol,
      kind: 'trade',
      seq: '2',
      price: '0.5',
      size: '1000',
    });
    await bus.xadd(`${prefix}orderflow`, {
      ...flow,
      ts: now,
      symbol: 'FLOW-ONLY',
      kind: 'trade',
      seq: '3',
      price: '7',
      size: '1',
    });

    const snapshot = async (): Promise<Record<string, VenuePrice>> => {
      const raw = await bus.hgetall(`${prefix}prices:SIM`);
      const out: Record<string, VenuePrice> = {};
      for (const [k, v] of Object.entries(raw)) {
        const d = decodeVenuePrice(v);
        if (!d.ok) throw new Error(`bad price for ${k}: ${d.error}`);
        out[k] = d.price;
      }
      return out;
    };
    await until('the order flow consumed by the engine', () => {
      const f = engine.stats().feeds.find((x) => x.name === 'orderflow');
      return (f?.ticksIn ?? 0) >= 3;
    });
    await until(
      'every synthetic instrument priced',
      async () => Object.keys(await snapshot()).length >= config.symbols,
    );
    await engine.stop(); // a final round: everything the feeds saw is published

    const snap = await snapshot();
    expect(Object.keys(snap).sort()).toEqual(
      Array.from({ length: config.symbols }, (_, i) => syntheticSymbolName(i)).sort(),
    );
    for (const p of Object.values(snap)) {
      expect(p.venue).toBe('SIM');
      expect(p.quote).not.toBeNull();
      expect(Number(p.quote?.bid)).toBeGreaterThan(1); // the synthetic market starts at 10..500
      if (p.trade) expect(p.trade.price).not.toBe('0.5');
    }
    expect(updates.length).toBeGreaterThan(0);
    for (const m of updates) {
      const u = decodeVenuePriceUpdate(m);
      expect(u.ok).toBe(true);
      if (!u.ok) continue;
      for (const p of u.update.prices) {
        expect(p.instrument).not.toBe('FLOW-ONLY');
        expect(p.quote?.bid).not.toBe('0.5');
        expect(p.trade?.price).not.toBe('0.5');
      }
    }
    // Coalesced: far fewer rounds than ticks.
    const ticks = engine.stats().feeds.find((x) => x.name === 'synthetic')?.ticksIn ?? 0;
    expect(engine.stats().prices.rounds).toBeLessThan(ticks);
  });
});
