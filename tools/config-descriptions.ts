/**
 * What the schemas cannot say about the apps' variables: where each app's schema lives, and one
 * description per variable per app. `tools/config-reference.ts` renders docs/configuration.md from
 * the schemas and these; its test fails when a variable has no description here or a description
 * names no variable.
 */

export type AppName = 'launcher' | 'server' | 'engine' | 'web' | 'migrate' | 'cli';

/** Where each app's schema is defined and under which export name it is read. */
export interface AppSource {
  readonly app: AppName;
  readonly title: string;
  readonly file: string;
  readonly exportName: string;
  readonly intro: string;
}

export const APPS: readonly AppSource[] = [
  {
    app: 'launcher',
    title: 'Launcher (`npm start`, `npm run dev`)',
    file: 'launcher/src/start/env.ts',
    exportName: 'launcherEnvSchema',
    intro:
      'Decides where PostgreSQL and the bus come from, which ports to take, and hands the same ' +
      'environment to the server, the engine and the console (each validates its own variables). ' +
      'Under `npm start` the engine defaults to `ENGINE_SYMBOLS=24`, `ENGINE_TICK_RATE=200`, ' +
      '`ENGINE_SHARDS=2` unless set.',
  },
  {
    app: 'server',
    title: 'Server (`npm run server`)',
    file: 'server/src/env.ts',
    exportName: 'serverEnvSchema',
    intro: 'tRPC API, sessions, execution, the dispatchers.',
  },
  {
    app: 'engine',
    title: 'Engine (`npm run engine`)',
    file: 'engine/src/config.ts',
    exportName: 'engineEnvSchema',
    intro:
      'An `ENGINE_*` variable the schema does not know stops the engine at start ' +
      '(`unknown engine variable (a typo?)`). The flags `--from-start` and `--exit-on-eof` set ' +
      '`ENGINE_REPLAY_FROM_START` and `ENGINE_EXIT_ON_EOF`.',
  },
  {
    app: 'web',
    title: 'Web console (`node web/.output/server/index.mjs`)',
    file: 'web/src/env.ts',
    exportName: 'webEnvSchema',
    intro:
      "Read by the console's server side at runtime. nitro's listener reads `PORT`/`HOST` " +
      '(or `NITRO_PORT`/`NITRO_HOST`), which also stand in for `WEB_PORT`/`WEB_HOST` when those are unset.',
  },
  {
    app: 'migrate',
    title: 'Migrations (`npm run db:migrate`)',
    file: 'scripts/src/config.ts',
    exportName: 'migrateEnvSchema',
    intro: 'Runs the migrations as the schema owner and creates or repairs the application role.',
  },
  {
    app: 'cli',
    title: 'CLI and scripts (`npm run aegis`, `scripts/lib/client.ts`)',
    file: 'scripts/lib/config.ts',
    exportName: 'cliEnvSchema',
    intro: 'The API key is read only from the environment, never from a flag (shell history, process lists).',
  },
];

/** A description, or one with the default / accepted values said in words where the schema cannot. */
export type Description =
  | string
  | { readonly text: string; readonly default?: string; readonly accepts?: string };

const LOG_LEVEL = 'Pino log level.';

export const DESCRIPTIONS: Readonly<Record<AppName, Readonly<Record<string, Description>>>> = {
  launcher: {
    DATABASE_URL:
      "The application role's PostgreSQL URL. Unset: an embedded PostgreSQL is started under `AEGIS_DATA_DIR`.",
    DATABASE_OWNER_URL: 'The schema owner the migrations run as. Unset: `DATABASE_URL`.',
    DATABASE_APP_ROLE: 'The non-owner role the server and the engine log in as (RLS applies to it).',
    REDIS_URL:
      'Redis for streams, pub/sub and rate limits. Unset: the in-process bus (server and engine share the launcher process).',
    AEGIS_DATA_DIR:
      "The embedded PostgreSQL's data, its log (`postgres.log`) and the generated token key (`token-encryption.key`).",
    AEGIS_EMBEDDED_PG_PORT: 'Port of the embedded PostgreSQL (only when `DATABASE_URL` is unset).',
    WEB_PORT: "The console's port.",
    WEB_HOST: "The console's listening address.",
    SERVER_PORT: "The server's port (checked free before anything starts).",
    SERVER_HOST: "The server's listening address.",
    ENGINE_PORT: "The engine's health and metrics port.",
    PUBLIC_ORIGIN: 'Where the console is served. Unset: `http://127.0.0.1:<WEB_PORT>`.',
    ALLOWED_ORIGINS:
      'Extra origins for cookie mutations (comma list); `http://localhost:<WEB_PORT>` and `http://127.0.0.1:<WEB_PORT>` are always added.',
    LOG_LEVEL,
    TOKEN_ENCRYPTION_KEY:
      'Read only to know whether a token key is set; unset together with `TOKEN_ENCRYPTION_KEYS`: a key is generated once into `<AEGIS_DATA_DIR>/token-encryption.key`.',
    TOKEN_ENCRYPTION_KEYS: 'Read only to know whether a token key ring is set (the server validates it).',
  },
  server: {
    NODE_ENV: 'Runtime mode.',
    LOG_LEVEL,
    SERVER_HOST: 'Listening address.',
    SERVER_PORT: 'Listening port (`0`: an ephemeral port, for tests).',
    DATABASE_URL: "The application role's URL (not the migration owner): RLS applies to it.",
    REDIS_URL:
      'Streams, pub/sub, rate limits and sign-in throttles. Unset: single-process mode with the in-process bus and in-memory throttles.',
    PUBLIC_ORIGIN: 'The origin the console is served from; cookie mutations must come from it.',
    ALLOWED_ORIGINS: 'Extra origins allowed to make cookie-authenticated mutations (comma list).',
    SESSION_IDLE_DAYS: 'A session unused this long expires (sliding expiry).',
    SESSION_ABSOLUTE_DAYS:
      'A session expires this long after sign-in, however active; at least `SESSION_IDLE_DAYS`.',
    REAUTH_WINDOW_MINUTES:
      'How long a password re-entry authorizes sensitive actions (approvals, limits, releasing a halt).',
    ARGON2_MAX_CONCURRENCY: 'Password hashes run at once (each ~19 MiB and one core for tens of ms).',
    AUTONOMOUS_ENABLED: 'Whether any desk may run in autonomous mode.',
    ALERT_WEBHOOKS_ALLOW_LOCALHOST:
      'Alert webhooks may target localhost (development and tests); default: public https only.',
    ALERT_RETENTION_DAYS:
      'Desk alert events and their delivered or dead webhook deliveries are deleted after this many days (hourly; a pending delivery and its event are kept).',
    ALERT_WEBHOOKS_ALLOW_PRIVATE:
      'Alert webhooks may target private addresses (a chat server on the LAN); ignored in production.',
    OPENAI_API_KEY:
      "The decision agent's key for an OpenAI-compatible server. Unset: the rule-based decider.",
    OPENAI_BASE_URL: 'An OpenAI-compatible server (OpenAI, Ollama, vLLM).',
    OPENAI_MODEL: "The decision agent's model.",
    OPENAI_EMBEDDING_MODEL: 'Lessons use this embeddings model. Unset: the local hashing embedder.',
    RATE_LIMIT_ENABLED: 'Per session / API key sliding-window rate limits.',
    RATE_LIMIT_WINDOW_SECONDS: 'The rate-limit window.',
    RATE_LIMIT_READS: 'Queries per window per session or API key.',
    RATE_LIMIT_MUTATIONS: 'Mutations per window per session or API key.',
    TRPC_MAX_BATCH_SIZE:
      'Most calls in one tRPC batch (a larger batch is refused with 400); `auth.login`, `auth.reauthenticate`, `auth.changePassword` are never batched.',
    TRUSTED_PROXIES:
      'IP addresses (comma list) whose `X-Forwarded-For` is believed, e.g. a load balancer. Empty: nobody by address; never loopback.',
    FORWARDER_SECRET:
      'Shared with the console: its `/trpc` forwarder sends it (`x-aegis-forwarder`) so the browser address it states is believed. `npm start` generates one per start.',
    TOKEN_ENCRYPTION_KEY:
      'AES-256-GCM key (base64 of 32 bytes) sealing broker tokens and API-key secrets at rest. Without a key, linking is refused.',
    TOKEN_ENCRYPTION_KEYS:
      'Key ring `kid:base64,…`: the first encrypts, all decrypt (rotation: docs/brokers.md, docs/runbook.md).',
    ALPACA_CLIENT_ID:
      'Alpaca OAuth client id (redirect URI `<PUBLIC_ORIGIN>/oauth/callback/alpaca`). Unset: Alpaca OAuth linking is unavailable.',
    ALPACA_CLIENT_SECRET: 'Alpaca OAuth client secret.',
    ALPACA_OAUTH_AUTHORIZE_URL: "Alpaca's authorization endpoint.",
    ALPACA_OAUTH_TOKEN_URL: "Alpaca's token endpoint.",
    ALPACA_OAUTH_ISSUER: 'Expected `iss` on the callback (RFC 9207); when set the callback requires it.',
    ALPACA_OAUTH_SCOPES: 'Scopes requested from Alpaca (space or comma separated).',
    ALPACA_API_URL: "Alpaca's live trading API.",
    ALPACA_PAPER_API_URL: "Alpaca's paper trading API.",
    ALPACA_STREAM_URL: "Alpaca's live trade-updates stream.",
    ALPACA_PAPER_STREAM_URL: "Alpaca's paper trade-updates stream.",
    COINBASE_CLIENT_ID: 'Coinbase OAuth client id. Unset: Coinbase OAuth linking is unavailable.',
    COINBASE_CLIENT_SECRET: 'Coinbase OAuth client secret.',
    COINBASE_OAUTH_AUTHORIZE_URL: "Coinbase's authorization endpoint.",
    COINBASE_OAUTH_TOKEN_URL: "Coinbase's token endpoint.",
    COINBASE_OAUTH_REVOKE_URL: "Coinbase's token revocation endpoint (used when a link is removed).",
    COINBASE_OAUTH_ISSUER: 'Expected `iss` on the callback (RFC 9207); when set the callback requires it.',
    COINBASE_OAUTH_SCOPES: 'Scopes requested from Coinbase.',
    COINBASE_API_URL: "Coinbase's API (Coinbase has no paper environment).",
    COINBASE_STREAM_URL: "Coinbase's user channel (order updates).",
    IBKR_GATEWAY_URL: 'The IBKR Client Portal gateway. Unset: IBKR cannot be linked.',
    IBKR_GATEWAY_CA_FILE: "PEM file of the gateway's certificate (verified against it).",
    IBKR_GATEWAY_ALLOW_SELF_SIGNED_LOOPBACK:
      "Accept the gateway's self-signed certificate, on a loopback address only.",
    CCXT_API_BASE_URL: "Tests only: every CCXT venue's REST calls go to this base URL.",
    ALPACA_API_KEY_ID:
      "Alpaca API key id the server reads Alpaca's asset list with (`instruments.load`, docs/instruments.md); paper keys do.",
    ALPACA_API_SECRET_KEY: 'Its secret key.',
    OPTIONS_RISK_FREE_RATE:
      'Continuously compounded risk-free rate for option IVs and Greeks (docs/option-chains.md).',
    OPTIONS_DIVIDEND_YIELD: 'Dividend yield of equity underlyings (others: none).',
  },
  engine: {
    ENGINE_PORT: 'Health and metrics port (`0`: an ephemeral port, logged).',
    ENGINE_HOST: 'Listening address.',
    DATABASE_URL:
      "The application role's URL. Unset: no persistence (logged at start); ticks and signals still reach the bus.",
    REDIS_URL: 'Streams and pub/sub. Unset: the in-process bus (only useful in the embedded mode).',
    ENGINE_FEED: {
      text: 'What the engine consumes: `synthetic` (seeded simulated venue), `replay` (`ENGINE_REPLAY_FILE`), `orderflow` (`<prefix>orderflow`, operator flow), and the live venue feeds `coinbase`, `alpaca`, `ccxt` (docs/venue-feeds.md).',
      accepts: 'comma list of `synthetic`, `replay`, `orderflow`, `coinbase`, `alpaca`, `ccxt`',
    },
    ENGINE_SYMBOLS: 'Symbols of the synthetic feed (and the symbol table size).',
    ENGINE_SEED: 'Seed of the synthetic market.',
    ENGINE_SHARDS: 'Tick rings (shards); symbols are split across them. At most `ENGINE_SYMBOLS`.',
    ENGINE_WORKERS: {
      text: 'Feature workers (capped at `ENGINE_SHARDS`); on 2 cores one worker beat two.',
      default: 'cores − 1 (at least 1)',
    },
    ENGINE_RING_CAPACITY: 'Records per ring.',
    ENGINE_BACKPRESSURE:
      'Full ring: `block` waits (feeds pause), `drop` counts the excess in `aegis_engine_ticks_dropped_total`.',
    ENGINE_MAX_BATCH: 'Most rows per inference run.',
    ENGINE_MAX_WAIT_US: 'How long a non-full inference batch may wait for more candidates (µs).',
    ENGINE_EXECUTION_PROVIDER:
      'ONNX Runtime provider: `cuda` makes a missing GPU a start-up error; `auto` falls back to CPU.',
    ENGINE_SCORING_PATH:
      'Which code scores an inference batch: `auto` a JS forward pass of the same weights for batches of at most 128 rows (the measured crossover, `engine/src/inference/scoring-path.ts`) and ONNX Runtime above, on the CUDA provider too; `ort` or `js` every batch.',
    ENGINE_MODEL_PATH: 'The ONNX signal model. Unset: the committed model under `engine/models/`.',
    ENGINE_REPLAY_FILE: 'Recorded file for the `replay` feed (required with it).',
    ENGINE_REPLAY_SPEED: '`0`: full speed, `1`: real time, N: N× real time.',
    ENGINE_REPLAY_FROM_START: 'Replay from the first record, ignoring the saved position (`--from-start`).',
    ENGINE_EXIT_ON_EOF: 'Exit 0 after draining when every feed has ended (`--exit-on-eof`; replay alone).',
    ENGINE_SIGNAL_MIN_SCORE: 'Scored candidates below this are not published as signals.',
    ENGINE_TICK_RATE: 'Synthetic feed pace in ticks/s (`0`: as fast as the pipeline takes them).',
    ENGINE_VENUE:
      'The `instruments.venue` the synthetic and replay prices are published under (`<prefix>prices:<venue>`).',
    ENGINE_PRICE_PUBLISH_MS: 'Ms between venue price publish rounds (coalesced).',
    ENGINE_MAX_FUTURE_SKEW_MS: 'Ticks dated further ahead than this are refused as prices (counted).',
    ENGINE_STREAM_PREFIX: 'Prefix of the bus stream names (`<prefix>signals`, `<prefix>orderflow`, …).',
    ENGINE_CONSUMER:
      "Consumer name in the order-flow group and of the writer's durable cursor; stable across restarts. In a sharded cluster the engine's name: unique per engine.",
    ENGINE_ORDERFLOW_SHARDS:
      'Order-flow shards of a cluster of engines (`docs/engine-shards.md`). `0`: one stream `<prefix>orderflow`, one engine. `N ≥ 1`: symbol → stream `<prefix>orderflow:<fnv1a(symbol) mod N>`, each shard read by the engine holding its lease; needs `DATABASE_URL` and the `orderflow` feed; the same N on every engine and producer.',
    ENGINE_SHARD_LEASE_TTL_MS:
      "A shard lease expires this long after its last renewal: a dead engine's shards move within TTL + `ENGINE_SHARD_RENEW_MS`.",
    ENGINE_SHARD_RENEW_MS:
      'Ms between two shard lease rounds (renew, heartbeat, rebalance); at most half the TTL.',
    ENGINE_BACKTEST_WORKERS: 'Backtest jobs this engine runs at once (`0`: none here).',
    ENGINE_BACKTEST_LEASE_MS:
      "A crashed worker's backtest job is resumed by another this long after its last renewal.",
    OPENAI_API_KEY: "Key for backtests whose decider is `openai` (the server's variable, same name).",
    OPENAI_BASE_URL: 'OpenAI-compatible server for those backtests.',
    OPENAI_MODEL: 'Model for those backtests.',
    ENGINE_FEATURE_SAMPLE_MS: 'Features persisted at most once per symbol per this many ms (`0`: never).',
    ENGINE_WRITER_BATCH: 'Most rows per COPY batch.',
    ENGINE_WRITER_FLUSH_MS: 'Ms between writer flushes.',
    ENGINE_WRITER_FLUSH_TIMEOUT_MS:
      'A flush not answered within this is abandoned and its connection replaced.',
    ENGINE_READY_MAX_WRITER_LAG_MS:
      '`/health/ready` fails while the oldest unpersisted checkpoint is older than this.',
    ENGINE_READY_MAX_RING_STALL_MS:
      '`/health/ready` fails while records wait this long for the feature pool, inference or the signal publisher without its cursor moving.',
    ENGINE_DB_TIMEOUT_MS: 'Deadline of every other engine database call (connect, probes, signals, cursors).',
    ENGINE_SHUTDOWN_DEADLINE_MS: 'SIGTERM to exit, whatever PostgreSQL and Redis do.',
    ENGINE_SIGNALS_MAXLEN: 'Approximate length cap of the signals stream.',
    ENGINE_HALT_POLL_MS: 'How often the halt row is read (corrects a missed `aegis:halt` message).',
    ENGINE_PATTERN_PARAMS: {
      text: 'Detector thresholds and cooldowns to override, e.g. `{"breakoutCooldownUs":5000000}` (the rest keep `engine/src/features/params.ts`).',
      default: 'fitted defaults',
      accepts: 'JSON object',
    },
    ENGINE_COINBASE_PRODUCTS: {
      text: 'Coinbase products; required with `ENGINE_FEED=coinbase`.',
      accepts: 'comma list of product ids (`BTC-USD`)',
    },
    ENGINE_COINBASE_WS_URL: "Coinbase's market data WebSocket.",
    ENGINE_ALPACA_SYMBOLS: {
      text: 'Alpaca tickers; required with `ENGINE_FEED=alpaca`.',
      accepts: 'comma list of tickers (`AAPL`, `BRK.B`)',
    },
    ENGINE_ALPACA_DATA_URL:
      "Alpaca's market data stream, feed included (`…/v2/iex`, `…/v2/sip`, `…/v2/test`).",
    ENGINE_ALPACA_CONNECTION: {
      text: 'An API-key broker connection a desk linked, read from the database and opened with the token key ring. Either this or the two keys below.',
      accepts: '`<desk uuid>/<connection uuid>`',
    },
    ENGINE_ALPACA_KEY_ID: 'Alpaca market data key id (with `ENGINE_ALPACA_SECRET_KEY`).',
    ENGINE_ALPACA_SECRET_KEY: 'Alpaca market data secret key.',
    TOKEN_ENCRYPTION_KEYS: "The server's key ring (same format); read only for `ENGINE_ALPACA_CONNECTION`.",
    TOKEN_ENCRYPTION_KEY: "The server's single key; read only for `ENGINE_ALPACA_CONNECTION`.",
    ENGINE_CCXT_EXCHANGE: 'A ccxt exchange id (`binance`, `kraken`); required with `ENGINE_FEED=ccxt`.',
    ENGINE_CCXT_SYMBOLS: {
      text: 'ccxt unified symbols; required with `ENGINE_FEED=ccxt`.',
      accepts: 'comma list of symbols (`BTC/USDT`)',
    },
    ENGINE_CCXT_MODE: '`auto`: WebSocket where ccxt pro has it for the venue, else polling.',
    ENGINE_CCXT_POLL_MS: 'Polling interval in `poll` mode.',
    ENGINE_CCXT_REST_URL: "Override of ccxt's REST origin for the venue (tests, a self-hosted gateway).",
    ENGINE_CCXT_WS_URL: "Override of ccxt's WebSocket origin for the venue.",
    ENGINE_BOOK_PUBLISH_MS: 'Ms between L2 book publish rounds per venue (coalesced).',
    ENGINE_BOOK_FEATURE_LEVELS: 'Levels per side the book features use.',
    LOG_LEVEL,
  },
  web: {
    NODE_ENV: 'Runtime mode.',
    LOG_LEVEL,
    WEB_PORT: 'Listening port (fallback: `NITRO_PORT`, `PORT`).',
    WEB_HOST: 'Listening address (fallback: `NITRO_HOST`, `HOST`).',
    SERVER_URL: 'Where the tRPC server listens; `/trpc/**` and the OAuth callbacks are forwarded there.',
    WEB_PROXY_TIMEOUT_MS: "Ms to wait for the server's response headers before answering 504.",
    FORWARDER_SECRET:
      "Sent with every forwarded call so the server believes the browser address it states; the same value as the server's.",
  },
  migrate: {
    DATABASE_OWNER_URL: 'The schema owner that runs the DDL.',
    DATABASE_URL: 'Used as the owner URL when `DATABASE_OWNER_URL` is unset.',
    DATABASE_APP_ROLE:
      'The application role to create or repair (not superuser, no BYPASSRLS, owns nothing).',
    DATABASE_APP_PASSWORD: "Sets (or resets) the application role's password. Unset: left as it is.",
    LOG_LEVEL,
  },
  cli: {
    AEGIS_URL: 'The server; tRPC at `<AEGIS_URL>/trpc`.',
    AEGIS_API_KEY:
      'An API key of one desk (`read`, `trade`, `admin` scopes); shown once when created, stored hashed.',
    AEGIS_TIMEOUT_MS: 'Deadline of each call.',
    DATABASE_OWNER_URL: '`aegis admin create` only: works on the database directly (no server, no key yet).',
    DATABASE_URL: 'Used by `aegis admin create` when `DATABASE_OWNER_URL` is unset.',
  },
};
