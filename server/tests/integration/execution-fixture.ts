import { randomUUID } from 'node:crypto';
import type { Bus } from '@aegis/shared/bus/index';
import { MemoryBus } from '@aegis/shared/bus/index';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres from 'postgres';
import { QuoteBook } from '../../src/brokers/quote-book.ts';
import { ExecutionRuntime } from '../../src/execution/runtime.ts';
import type { Actor, ExecutionOptions } from '../../src/execution/types.ts';

/**
 * Runtime options under which every broker call times out (20 ms) while the paper broker still
 * takes the order (it answers after LATE_BROKER_ANSWER_MS): the ambiguous send that leaves an
 * order unknown. The answer comes late enough that the order is still unknown when a dispatch
 * slowed by a busy machine returns (with 150 ms, a loaded run once saw it already acknowledged).
 */
export const LATE_BROKER_ANSWER_MS = 1000;
export const LATE_BROKER: Partial<ExecutionOptions> = {
  brokerTimeoutMs: 20,
  paper: {
    seed: 7,
    latencyMs: LATE_BROKER_ANSWER_MS,
    latencyJitterMs: 0,
    feeBps: '0',
    minFee: '0',
    slippageBps: '5',
  },
};

/**
 * Execution test fixture: a fresh migrated database, the app-role pools, a desk with a trader,
 * a few instruments, a QuoteBook and an ExecutionRuntime built on them. The runtime is not
 * started: tests drive the dispatcher and wait for reports explicitly, so nothing is timing-based.
 */
export interface ExecutionFixture {
  readonly database: MigratedTestDatabase;
  readonly app: DatabaseHandle;
  readonly owner: postgres.Sql;
  readonly quotes: QuoteBook;
  readonly tenantId: TenantId;
  readonly userId: string;
  runtime: ExecutionRuntime;
  newRuntime(opts?: { bus?: Bus; options?: Partial<ExecutionOptions>; clock?: () => Date }): ExecutionRuntime;
  /**
   * Stops the current runtime and any the test made before it (their dispatchers and broker
   * sessions, once every report they owe is applied), then makes `runtime` a new one. A runtime
   * only closed goes on dispatching what its test left queued, and a fill applied after the next
   * test cleared the desk leaves a position there: a short one turns that test's buy into a
   * risk-reducing order, which passes a halt (a clean-clone CI run saw a buy pass the global halt).
   */
  replaceRuntime(opts?: {
    bus?: Bus;
    options?: Partial<ExecutionOptions>;
    clock?: () => Date;
  }): Promise<ExecutionRuntime>;
  /** Stops every runtime so far, as `replaceRuntime` does, for a reset that clears the desk before it knows the new runtime's options. */
  stopRuntime(): Promise<void>;
  /**
   * Places an order on the desk (a market buy of 0.1 BTC-USD unless `input` says otherwise), as
   * the desk's trader through `runtime` unless told otherwise.
   */
  placeOrder(
    input?: Partial<PlaceOrderInput>,
    o?: {
      key?: string;
      origin?: 'human' | 'api' | 'agent';
      actor?: Actor;
      runtime?: ExecutionRuntime;
    },
  ): ReturnType<ExecutionRuntime['orders']['place']>;
  /** Engages the desk's halt through `runtime`, as the desk's trader. */
  haltDesk(reason?: string): ReturnType<ExecutionRuntime['halts']['engage']>;
  /** Strictly increasing times (the quote book keeps the newest quote), from the wall clock. */
  now(): Date;
  /** Quotes `symbol` at `bid`/`ask` with `size` on both sides, stamped `now()`. */
  quote(symbol: string, bid: string, ask: string, size?: string): void;
  /** Dispatch the desk's outbox and wait until every report is applied. */
  settle(rt?: ExecutionRuntime): Promise<void>;
  close(): Promise<void>;
}

export const log = createLogger({ name: 'execution-test', level: 'silent' });

export async function createExecutionFixture(
  options: Partial<ExecutionOptions> = {},
): Promise<ExecutionFixture> {
  const database = await createMigratedTestDatabase('aegis_test_exec');
  const owner = postgres(database.url, { max: 2, onnotice: () => {} });
  const app = createDb(database.appUrl, { max: 12 });
  const tenantId = asTenantId(randomUUID());
  const userId = randomUUID();
  await owner`insert into tenants (id, slug, name) values (${tenantId}, ${`desk-${tenantId.slice(0, 6)}`}, 'Desk')`;
  await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
              values ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.00000001', '24x7'),
                     ('ETH-USD', 'COINBASE', 'crypto', '0.01', '0.00000001', '24x7'),
                     ('AAPL', 'XNAS', 'equity', '0.01', '1', 'XNYS')`;
  const quotes = new QuoteBook();
  const buses: Bus[] = [];
  const runtimes: ExecutionRuntime[] = [];
  const stopped = new WeakSet<ExecutionRuntime>();
  const newRuntime = (o: { bus?: Bus; options?: Partial<ExecutionOptions>; clock?: () => Date } = {}) => {
    const bus = o.bus ?? new MemoryBus();
    buses.push(bus);
    const rt = new ExecutionRuntime({
      db: app.db,
      bus,
      quotes,
      log,
      ...(o.clock && { clock: o.clock }),
      options: {
        paper: { seed: 7, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '5' },
        ...options,
        ...o.options,
      },
    });
    runtimes.push(rt);
    return rt;
  };
  let lastMs = 0;
  const fx: ExecutionFixture = {
    database,
    app,
    owner,
    quotes,
    tenantId,
    userId,
    runtime: undefined as unknown as ExecutionRuntime,
    newRuntime,
    async replaceRuntime(o) {
      await fx.stopRuntime();
      fx.runtime = newRuntime(o);
      return fx.runtime;
    },
    async stopRuntime() {
      // Every runtime the test made (a test's own restarts only close the old one's brokers).
      for (const rt of runtimes) {
        if (stopped.has(rt)) continue;
        stopped.add(rt);
        await rt.stop();
      }
    },
    placeOrder(input = {}, o = {}) {
      return (o.runtime ?? fx.runtime).orders.place({
        tenantId,
        actor: o.actor ?? { type: 'user', id: userId },
        origin: o.origin ?? 'human',
        idempotencyKey: o.key ?? randomUUID(),
        input: {
          symbol: 'BTC-USD',
          side: 'buy',
          orderType: 'market',
          timeInForce: 'day',
          quantity: '0.1',
          ...input,
        } as PlaceOrderInput,
      });
    },
    haltDesk(reason = 'test') {
      return fx.runtime.halts.engage({
        scope: 'desk',
        tenantId,
        actor: { type: 'user', id: userId },
        reason,
      });
    },
    now() {
      lastMs = Math.max(Date.now(), lastMs + 1);
      return new Date(lastMs);
    },
    quote(symbol, bid, ask, size = '50') {
      quotes.setQuote(symbol, bid, ask, size, size, fx.now());
    },
    async settle(rt = fx.runtime) {
      for (let i = 0; i < 5; i++) {
        const n = await rt.dispatcher.dispatchTenant(tenantId);
        await rt.brokers.drain();
        if (n === 0) break;
      }
    },
    async close() {
      for (const rt of runtimes) if (!stopped.has(rt)) await rt.stop().catch(() => {});
      for (const b of buses) await b.close().catch(() => {});
      await app.close();
      await owner.end();
      await database.drop();
    },
  };
  fx.runtime = newRuntime();
  return fx;
}
