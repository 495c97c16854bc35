import { loadServerConfig } from '@aegis/server/env';
import { type RunningServer, type StartServerOptions, startServer } from '@aegis/server/http';
import { createFirstAdminIfNone } from '@aegis/server/provisioning/service';
import type { Bus } from '@aegis/shared/bus/types';
import { createDb } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import type { MigratedTestDatabase } from '@aegis/shared/testing/database';
import { freePort } from '@aegis/shared/testing/free-port';
import type { Sql } from 'postgres';

export interface RunningAegisServer {
  readonly url: string;
  /** The server as `startServer` returned it (its services: halt, quotes, bus …). */
  readonly running: RunningServer;
  /** The bootstrap admin with its one-time password (must be changed at first sign-in). */
  readonly firstAdmin: { email: string; password: string };
  readonly firstDeskName: string;
  readonly firstDeskId: string;
  stop(): Promise<void>;
  /**
   * A pending proposal on the first desk, as the decision agent would store it (fixture: the
   * agent needs live signals to propose, which this test does not run).
   */
  insertPendingProposal(p: { side: 'buy' | 'sell'; quantity: string; limitPrice: string }): Promise<string>;
  /** A signal the decision agent skipped on the first desk, as the agent stores it (fixture). */
  insertAgentSkip(s: {
    symbol: string;
    direction: 'long' | 'short';
    score: number;
    code: string;
    reason: string;
  }): Promise<void>;
  /**
   * A signal as the engine stores it (table `signals`, market-wide; fixture: no engine runs here),
   * with the first desk's order flow around its event time (`flow`: offsets in ms and prices).
   */
  insertSignal(s: SignalFixture): Promise<void>;
  /** A price for `symbol` in the server's quote book, as the venue price source would set it. */
  quote(symbol: string, bid: string, ask: string): void;
  /** Stops the server, then starts it again on the same port and database (sessions survive). */
  restart(options?: { downMs?: number }): Promise<void>;
}

export interface SignalFixture {
  id: string;
  symbol: string;
  direction: 'long' | 'short';
  pattern: 'breakout' | 'mean_reversion' | 'absorption';
  score: number;
  price: string;
  tsEvent: Date;
  tsSignal: Date;
  features: Record<string, number>;
  flow?: readonly { offsetMs: number; side: 'buy' | 'sell'; price: string; size: string }[];
}

/**
 * The real Aegis server (`startServer`, the same function the daemon and the launcher call) on
 * the test's database as the application role, in single-process mode (in-process bus and
 * throttles: no REDIS_URL). PUBLIC_ORIGIN is the console's origin, so the
 * server's CSRF check accepts mutations the browser sends through the web proxy.
 */
export async function startAegisServer(options: {
  database: MigratedTestDatabase;
  publicOrigin: string;
  /** A bus shared with workers the test runs beside the server (default: the server's own). */
  bus?: Bus;
  /** Server environment beyond the defaults below (broker endpoints, encryption keys …). */
  env?: Readonly<Record<string, string>>;
  /** `startServer` options beyond config, log and bus (intervals, rate limiter, alerts …). */
  start?: Omit<StartServerOptions, 'config' | 'log' | 'bus'>;
  /** Reference data the test needs, written as the database owner before the server starts. */
  seed?: (owner: Sql, firstDeskId: string) => Promise<void>;
}): Promise<RunningAegisServer> {
  // The first admin is bootstrapped as the launcher does: directly, as the database owner.
  const owner = createDb(options.database.url, { max: 2, applicationName: 'aegis-web-test' });
  let firstAdmin: { email: string; password: string };
  let firstDeskId: string;
  try {
    const created = await createFirstAdminIfNone(owner.db, { email: 'admin@aegis.test' });
    if (!created) throw new Error('fresh database already has users');
    firstAdmin = { email: created.email, password: created.password };
    firstDeskId = created.deskId;
    await options.seed?.(owner.sql, firstDeskId);
    // Reference data the order ticket needs (instruments are platform-wide, not per desk), unless
    // the test's seed registered these symbols its own way.
    await owner.sql`
      insert into instruments (symbol, venue, asset_class, tick_size, lot_size)
      values ('BTC-USD', 'paper', 'crypto', '0.01', '0.0001'), ('ETH-USD', 'paper', 'crypto', '0.01', '0.0001')
      on conflict (symbol) do nothing`;
  } finally {
    await owner.close();
  }

  const config = loadServerConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVER_HOST: '127.0.0.1',
    SERVER_PORT: String(await freePort()),
    DATABASE_URL: options.database.appUrl,
    PUBLIC_ORIGIN: options.publicOrigin,
    ARGON2_MAX_CONCURRENCY: '1',
    ...options.env,
  });
  const log = createLogger({ name: 'server', level: 'warn' });
  const start = () =>
    startServer({ ...options.start, config, log, ...(options.bus ? { bus: options.bus } : {}) });
  let running = await start();
  const url = running.url;
  return {
    url,
    get running() {
      return running;
    },
    firstAdmin,
    firstDeskName: 'Main desk',
    firstDeskId,
    stop: () => running.close(),
    quote(symbol, bid, ask) {
      running.deps.execution?.quotes.setQuote(symbol, bid, ask, '1', '1', new Date());
    },
    async insertPendingProposal({ side, quantity, limitPrice }) {
      const fixture = createDb(options.database.url, { max: 1, applicationName: 'aegis-web-test' });
      try {
        const rationale = {
          marketContext: 'Fixture: range-bound session, liquidity thin above the last high.',
          signalEvidence: 'Fixture: breakout score 0.81 on the 1m bars.',
          riskView: 'Fixture: small size, inside the desk limits.',
          lessonsApplied: [],
        };
        const [row] = await fixture.sql<{ id: string }[]>`
          insert into proposals (tenant_id, symbol, side, quantity, order_type, limit_price, time_horizon,
                                 confidence, risk_score, rationale, decider, expires_at)
          values (${firstDeskId}, 'BTC-USD', ${side}, ${quantity}, 'limit', ${limitPrice}, 'hours',
                  0.72, 35, ${fixture.sql.json(rationale)}, 'rules', now() + interval '1 hour')
          returning id`;
        return row!.id;
      } finally {
        await fixture.close();
      }
    },
    async insertAgentSkip({ symbol, direction, score, code, reason }) {
      const fixture = createDb(options.database.url, { max: 1, applicationName: 'aegis-web-test' });
      try {
        await fixture.sql`
          insert into agent_skips (tenant_id, signal_id, symbol, direction, score, code, reason)
          values (${firstDeskId}, gen_random_uuid(), ${symbol}, ${direction}, ${score}, ${code}, ${reason})`;
      } finally {
        await fixture.close();
      }
    },
    async insertSignal(s) {
      const fixture = createDb(options.database.url, { max: 1, applicationName: 'aegis-web-test' });
      try {
        await fixture.sql`
          insert into signals (id, ts, ts_event, symbol, direction, pattern, score, price, features, model_version)
          values (${s.id}, ${s.tsSignal.toISOString()}, ${s.tsEvent.toISOString()}, ${s.symbol}, ${s.direction},
                  ${s.pattern}, ${s.score}, ${s.price}, ${fixture.sql.json(s.features)}, 'fixture-1')`;
        let seq = 0;
        for (const f of s.flow ?? []) {
          seq += 1;
          const ts = new Date(s.tsEvent.getTime() + f.offsetMs).toISOString();
          await fixture.sql`
            insert into orderflow_events (tenant_id, ts, source, seq, venue, symbol, kind, side, price, size, content_hash)
            values (${firstDeskId}, ${ts}, 'fixture', ${seq}, 'paper', ${s.symbol}, 'trade', ${f.side}, ${f.price},
                    ${f.size}, ${`${s.id}:${seq}`})`;
        }
      } finally {
        await fixture.close();
      }
    },
    async restart({ downMs = 0 } = {}) {
      await running.close();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      running = await start();
    },
  };
}
