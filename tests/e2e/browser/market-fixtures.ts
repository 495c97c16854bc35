import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import { Mulberry32 } from '@aegis/shared/random/seeded-random';
import type { Sql } from 'postgres';
import { loadEngineConfig } from '../../../engine/src/config.ts';
import { type EngineHandle, startEngine } from '../../../engine/src/index.ts';
import { FakeCoinbaseWs } from '../../../engine/tests/support/fake-coinbase-ws.ts';

/**
 * The venue side of the console's market tests.
 *
 * `INSTRUMENTS` are the registry rows an operator's venue load leaves for Coinbase products.
 * `startStreamingVenue` runs a local Coinbase Advanced Trade WebSocket (the engine's test venue:
 * its market maker streams a seeded random walk of the L2 book plus trades) and the real engine
 * in-process with ENGINE_FEED=coinbase on the test's bus and database: the engine publishes the
 * venue's prices and books on the bus (read by the server) and stores the trades in `ticks`
 * (read by the server's bars and time and sales), exactly as in single-machine mode.
 * `insertTradeHistory` stands for the trading before the test started, so charts open with bars.
 */
export const VENUE = 'COINBASE';
export const INSTRUMENTS = [
  { symbol: 'BTC-USD', name: 'Bitcoin' },
  { symbol: 'ETH-USD', name: 'Ethereum' },
  { symbol: 'SOL-USD', name: 'Solana' },
] as const;
/** Mid prices of the fake venue's products, in cents (engine/tests/support/fake-coinbase-ws.ts). */
const MID_CENTS: Readonly<Record<string, number>> = {
  'BTC-USD': 5_000_000,
  'ETH-USD': 300_000,
  'SOL-USD': 15_000,
};

/** The registry rows, written as the database owner (a test's seed). */
export async function insertInstruments(owner: Sql): Promise<void> {
  for (const i of INSTRUMENTS) {
    await owner`
      insert into instruments (symbol, venue, venue_symbol, name, asset_class, currency, tick_size, lot_size,
                               calendar, status, source)
      values (${i.symbol}, ${VENUE}, ${i.symbol}, ${i.name}, 'crypto', 'USD', '0.01', '0.00000001',
              '24x7', 'active', 'venue')
      on conflict (symbol) do update set venue = excluded.venue, name = excluded.name,
        calendar = excluded.calendar, tick_size = excluded.tick_size, lot_size = excluded.lot_size`;
  }
}

const cents = (ticks: number) => (ticks / 100).toFixed(2);

/** Trades over the last `minutes` (one per instrument every 2 s, ending at the venue's mid). */
export async function insertTradeHistory(owner: Sql, minutes: number): Promise<void> {
  const rng = new Mulberry32(12); // deterministic: the same history on every run
  const end = Date.now() - 2_000;
  const rows: Record<string, unknown>[] = [];
  let seq = 0;
  for (const { symbol } of INSTRUMENTS) {
    const n = Math.floor((minutes * 60_000) / 2_000);
    // Walk backwards from the venue's mid, so the history meets the live prices.
    let mid = MID_CENTS[symbol]!;
    for (let k = 0; k < n; k++) {
      mid = Math.max(200, mid + Math.round((rng.next() - 0.5) * 30));
      const ts = new Date(end - k * 2_000);
      rows.push({
        ts,
        ts_ingest: ts,
        symbol,
        seq: ++seq,
        kind: 1,
        price: cents(mid),
        size: (0.001 + Math.floor(rng.next() * 500) / 1000).toFixed(4),
        aggressor: rng.next() < 0.5 ? 1 : -1,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 1000) {
    await owner`insert into ticks ${owner(rows.slice(i, i + 1000), 'ts', 'ts_ingest', 'symbol', 'seq', 'kind', 'price', 'size', 'aggressor')}`;
  }
}

export interface StreamingVenue {
  readonly fake: FakeCoinbaseWs;
  readonly engine: EngineHandle;
  /** The market maker streams (book moves and trades). */
  resume(): void;
  /** The market holds still: what was sent stays the venue's state. */
  pause(): void;
  stop(): Promise<void>;
}

export async function startStreamingVenue(options: {
  bus: Bus;
  databaseUrl: string;
  log: Logger;
  messagesPerSecond?: number;
}): Promise<StreamingVenue> {
  const fake = await FakeCoinbaseWs.start({ heartbeatIntervalMs: 500, seed: 5 });
  const config = loadEngineConfig({
    DATABASE_URL: options.databaseUrl,
    ENGINE_FEED: 'coinbase',
    ENGINE_COINBASE_PRODUCTS: INSTRUMENTS.map((i) => i.symbol).join(','),
    ENGINE_COINBASE_WS_URL: fake.url,
    ENGINE_STREAM_PREFIX: 'aegis:',
    ENGINE_CONSUMER: 'engine-web-market',
    ENGINE_SYMBOLS: '8',
    ENGINE_SHARDS: '1',
    ENGINE_WORKERS: '1',
    ENGINE_PRICE_PUBLISH_MS: '100',
    ENGINE_BOOK_PUBLISH_MS: '100',
    ENGINE_EXECUTION_PROVIDER: 'cpu',
    ENGINE_PORT: '0',
    LOG_LEVEL: 'warn',
  });
  let engine: EngineHandle;
  try {
    engine = await startEngine({ config, bus: options.bus, log: options.log });
  } catch (error) {
    await fake.close();
    throw error;
  }
  const rate = options.messagesPerSecond ?? 40;
  const resume = () => fake.startMarketMaker({ messagesPerSecond: rate, seed: 9 });
  resume();
  return {
    fake,
    engine,
    resume,
    pause: () => fake.stopMarketMaker(),
    async stop() {
      fake.stopMarketMaker();
      await engine.stop();
      await fake.close();
    },
  };
}
