/**
 * `npm start` (and `npm run dev`): the whole platform on one machine.
 *
 * PostgreSQL: DATABASE_URL when set, otherwise a real embedded PostgreSQL under .aegis/.
 * Bus: REDIS_URL when set, otherwise the in-process bus, which is why server and engine share this
 * process in that mode (production runs them apart over Redis: `npm run server`, `npm run engine`).
 * Then migrations, the first admin (its one-time password is printed here, once, never logged),
 * the server, the engine and the web console.
 */

import { loadEngineConfig } from '@aegis/engine/config';
import { startHttpServer as startEngineHttp } from '@aegis/engine/http';
import { startEngine } from '@aegis/engine/index';
import { startConfiguredBacktestJobs } from '@aegis/engine/jobs/backtest-jobs';
import { loadServerConfig } from '@aegis/server/env';
import { startServer } from '@aegis/server/http';
import { createFirstAdminIfNone } from '@aegis/server/provisioning/service';
import { createBus } from '@aegis/shared/bus/index';
import { isConfigError } from '@aegis/shared/config';
import { connectSql, createDb } from '@aegis/shared/db/client';
import { migrate } from '@aegis/shared/db/migrate';
import { createLogger } from '@aegis/shared/logging';
import { ensureWebBuild } from '@aegis/web/build';
import { startEmbeddedPostgres } from './start/embedded-postgres.ts';
import { appEnvironment, loadLauncherConfig, newForwarderSecret } from './start/env.ts';
import { ensurePortFree } from './start/ports.ts';
import { registerSyntheticInstruments } from './start/synthetic-instruments.ts';
import { embeddedTokenKey } from './start/token-key.ts';
import { registerVenueInstruments } from './start/venue-instruments.ts';
import { startWebProcess } from './start/web-process.ts';

const dev = process.argv.includes('--dev');

const stops: Array<() => Promise<void>> = [];

/** Runs every registered stop once, in order; a failing step is reported and the rest still run. */
async function runStops(onError: (err: unknown) => void = () => {}): Promise<void> {
  for (const stop of stops.splice(0)) {
    await stop().catch(onError);
  }
}

async function main(): Promise<void> {
  const cfg = loadLauncherConfig();
  const log = createLogger({ name: 'aegis', level: cfg.LOG_LEVEL });

  // 0. Every port this start listens on, before anything starts: a taken one is one line naming
  //    its variable (and a free port), not a stack trace from the component that hit it.
  await ensurePortFree('WEB_PORT', cfg.WEB_PORT, cfg.WEB_HOST);
  await ensurePortFree('SERVER_PORT', cfg.SERVER_PORT, cfg.SERVER_HOST);
  await ensurePortFree('ENGINE_PORT', cfg.ENGINE_PORT);

  // 1. PostgreSQL.
  let ownerUrl = cfg.DATABASE_OWNER_URL ?? cfg.DATABASE_URL;
  let appUrl = cfg.DATABASE_URL;
  let appPassword: string | undefined;
  if (!appUrl) {
    log.info(
      { port: cfg.AEGIS_EMBEDDED_PG_PORT, dataDir: cfg.AEGIS_DATA_DIR },
      'no DATABASE_URL: starting embedded PostgreSQL',
    );
    const embedded = await startEmbeddedPostgres({
      dataDir: cfg.AEGIS_DATA_DIR,
      port: cfg.AEGIS_EMBEDDED_PG_PORT,
      appRole: cfg.DATABASE_APP_ROLE,
      onLog: (line) => log.debug({ component: 'postgres' }, line),
    });
    stops.push(() => embedded.stop());
    ownerUrl = embedded.ownerUrl;
    appUrl = embedded.appUrl;
    appPassword = embedded.appPassword;
  }
  if (!ownerUrl || !appUrl) throw new Error('unreachable: database URLs resolved above');

  // 2. Migrations as the owner; the services connect as the application role.
  const migrated = await migrate({
    ownerUrl,
    appRole: { name: cfg.DATABASE_APP_ROLE, ...(appPassword ? { password: appPassword } : {}) },
    log,
  });
  log.info({ applied: migrated.applied.length, timeseries: migrated.timeseries }, 'migrations current');

  // 3. Server and engine in this process, sharing one bus.
  // 127.0.0.1 rather than localhost: the console listens on IPv4 loopback, and browsers try ::1
  // first for `localhost`. Both spellings are allowed origins.
  const publicOrigin = cfg.PUBLIC_ORIGIN ?? `http://127.0.0.1:${cfg.WEB_PORT}`;
  const allowedOrigins = [`http://localhost:${cfg.WEB_PORT}`, `http://127.0.0.1:${cfg.WEB_PORT}`];
  const env = appEnvironment(
    {
      DATABASE_URL: appUrl,
      // Server and console both get it (webEnv below extends env); nobody else knows it.
      FORWARDER_SECRET: newForwarderSecret(),
      // Broker secrets at rest: the operator's key, else one kept under the data directory.
      TOKEN_ENCRYPTION_KEY:
        cfg.TOKEN_ENCRYPTION_KEY || cfg.TOKEN_ENCRYPTION_KEYS
          ? cfg.TOKEN_ENCRYPTION_KEY
          : embeddedTokenKey(cfg.AEGIS_DATA_DIR),
      PUBLIC_ORIGIN: publicOrigin,
      ALLOWED_ORIGINS: [cfg.ALLOWED_ORIGINS, ...allowedOrigins].filter(Boolean).join(','),
      SERVER_PORT: String(cfg.SERVER_PORT),
      SERVER_HOST: cfg.SERVER_HOST,
      ENGINE_PORT: String(cfg.ENGINE_PORT),
    },
    {
      NODE_ENV: dev ? 'development' : 'production',
      // The single-machine default feeds a paced synthetic market (a few GB of ticks a day,
      // kept as retention allows); set ENGINE_TICK_RATE / ENGINE_SYMBOLS to change it.
      ENGINE_TICK_RATE: '200',
      ENGINE_SYMBOLS: '24',
      ENGINE_SHARDS: '2',
    },
  );
  // Read before anything starts: a bad ENGINE_* variable stops the launch with every issue named.
  const engineConfig = loadEngineConfig(env);
  // The live venue feeds' instruments (ENGINE_FEED=coinbase/alpaca/ccxt) must exist before the
  // servers load the registry: a price is mapped to its instrument through instruments.venue.
  const venueSql = connectSql(ownerUrl, { max: 1, applicationName: 'aegis-launcher' });
  const venueAdded = await registerVenueInstruments(venueSql, engineConfig).finally(() =>
    venueSql.end({ timeout: 5 }),
  );
  if (venueAdded.length > 0) log.info({ added: venueAdded }, 'venue feed instruments registered');
  const bus = createBus({ redisUrl: cfg.REDIS_URL, log });
  stops.push(() => bus.close());
  const server = await startServer({ config: loadServerConfig(env), log: log.child({ app: 'server' }), bus });
  stops.unshift(() => server.close());
  const engine = await startEngine({ config: engineConfig, bus, log: log.child({ app: 'engine' }) });
  stops.unshift(async () => {
    await engine.stop();
  });
  // Backtests queued from the console or the CLI run here too (ENGINE_BACKTEST_WORKERS).
  const backtests = await startConfiguredBacktestJobs(engineConfig, bus, log.child({ app: 'engine' }));
  stops.unshift(async () => {
    await backtests?.stop();
  });
  const engineHttp = await startEngineHttp({
    engine,
    host: engineConfig.host,
    port: engineConfig.port,
    log: log.child({ app: 'engine' }),
  });
  stops.unshift(() => engineHttp.close());

  // 4. The console.
  const webEnv = {
    ...env,
    PORT: String(cfg.WEB_PORT),
    HOST: cfg.WEB_HOST,
    WEB_PORT: String(cfg.WEB_PORT),
    WEB_HOST: cfg.WEB_HOST,
    SERVER_URL: server.url,
  };
  if (!dev) {
    const build = await ensureWebBuild();
    if (build.built) log.info({ ms: build.ms }, 'web console built (first start or sources changed)');
  }
  const web = startWebProcess({ dev, env: webEnv });
  stops.unshift(
    () =>
      new Promise<void>((resolve) => {
        if (web.exitCode !== null) return resolve();
        web.once('exit', () => resolve());
        web.kill('SIGTERM');
      }),
  );
  await waitForHttp(`http://${cfg.WEB_HOST}:${cfg.WEB_PORT}/`, 60_000);

  // The first admin, once, when everything answers: a start that failed half-way never eats
  // the only copy of the one-time password.
  const ownerDb = createDb(ownerUrl, { max: 2, applicationName: 'aegis-launcher' });
  const { admin: firstAdmin, agentHint } = await (async () => {
    if (engineConfig.feeds.includes('synthetic')) {
      const added = await registerSyntheticInstruments(ownerDb.sql, engineConfig.symbols);
      if (added > 0) log.info({ added }, 'synthetic market instruments registered (venue SIM)');
    }
    const admin = await createFirstAdminIfNone(ownerDb.db);
    // The agent hint only while no desk lists an instrument yet (not after every restart).
    const [listed] = await ownerDb.sql<{ any: boolean }[]>`
      select exists(select 1 from agent_settings where cardinality(instruments) > 0) as any`;
    return { admin, agentHint: !listed?.any };
  })().finally(() => ownerDb.close());

  banner({
    url: publicOrigin,
    serverUrl: server.url,
    engineUrl: `http://127.0.0.1:${cfg.ENGINE_PORT}`,
    feeds: engineConfig.feeds,
    firstAdmin,
    agentHint,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await runStops((err) => log.error({ err }, 'shutdown step failed'));
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  web.on('exit', (code) => {
    if (!stopping) {
      log.error({ code }, 'web console exited');
      void shutdown('web-exit');
    }
  });
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Printed to the operator's terminal (stdout), not to the log: it may carry the one-time password. */
function banner(info: {
  url: string;
  serverUrl: string;
  engineUrl: string;
  feeds: readonly string[];
  firstAdmin: { email: string; password: string } | null;
  /** No desk lists an instrument for its agent yet: say how. */
  agentHint: boolean;
}): void {
  const lines = [
    '',
    '  Aegis is running',
    `  console   ${info.url}`,
    `  server    ${info.serverUrl}  (health: ${info.serverUrl}/health/ready)`,
    `  engine    ${info.engineUrl}  (metrics: ${info.engineUrl}/metrics)`,
    `  feeds     ${info.feeds.join(', ')}  (ENGINE_FEED; venue feeds: docs/venue-feeds.md)`,
  ];
  if (!info.firstAdmin) {
    lines.push('', '  Sign in with your admin account (its one-time password was shown at the first start).');
  }
  if (info.firstAdmin) {
    lines.push(
      '',
      '  First admin created. Sign in and choose a new password; this one is shown only now:',
      `  email     ${info.firstAdmin.email}`,
      `  password  ${info.firstAdmin.password}`,
    );
  }
  if (info.agentHint) {
    lines.push(
      '',
      '  The agent proposes trades only on instruments a desk lists (deny by default): add some of',
      '  the synthetic market (SYN0000, SYN0001, …) under Settings → Decision agent to see proposals.',
    );
  }
  lines.push('', '  Ctrl-C stops everything.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch(async (err: unknown) => {
  await runStops();
  if (isConfigError(err)) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(
      `aegis: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
