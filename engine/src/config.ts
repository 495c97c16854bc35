/**
 * The engine's configuration: every environment variable it reads, parsed once at start with
 * zod (unknown ENGINE_* variables are rejected: a typo must not silently fall back to a default),
 * frozen. The one place in the engine that reads `process.env`.
 *
 * Over 400 lines on purpose: every variable the engine reads, with its bounds, default and why, in
 * the one file that reads the environment.
 */
import { availableParallelism } from 'node:os';
import { configError, configIssuesOf, envBool, envInt, logLevel, parseConfig } from '@aegis/shared/config';
import { parseTokenKeys } from '@aegis/shared/crypto/token-crypto';
import { z } from 'zod';
import { DEFAULT_PATTERN_PARAMS, type PatternParams, patternParamsSchema } from './features/params.ts';
import { parseConnectionRef, type VenueConnectionRef } from './feeds/venues/feed-credentials.ts';
import { SCORING_PATHS, type ScoringPathChoice } from './inference/messages.ts';

/**
 * ENGINE_FEED, a comma list: `synthetic` (a seeded simulated venue), `replay` (a recorded file,
 * ENGINE_REPLAY_FILE), the live venue feeds `coinbase`, `alpaca` and `ccxt` (docs/venue-feeds.md)
 * — the venue feeds, the only ones that set execution prices — and `orderflow`: operator-owned
 * flow on `<prefix>orderflow` (a market-data bridge the operator runs). Its ticks join the shared
 * pipeline every desk's agent proposes from, so it refuses any entry carrying a desk's tenantId;
 * desks' ingested flow stays in their own rows.
 */
const FEEDS = ['synthetic', 'replay', 'orderflow', 'coinbase', 'alpaca', 'ccxt'] as const;
export type FeedName = (typeof FEEDS)[number];
/** The live venue feeds (engine/src/feeds/venues/): each publishes under its own venue. */
export const VENUE_FEEDS = ['coinbase', 'alpaca', 'ccxt'] as const;
export type VenueFeedName = (typeof VENUE_FEEDS)[number];
export const isVenueFeedName = (f: string): f is VenueFeedName =>
  (VENUE_FEEDS as readonly string[]).includes(f);

const feedList = z
  .string()
  .default('synthetic')
  .transform((s, ctx) => {
    const names = s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    const bad = names.filter((n) => !(FEEDS as readonly string[]).includes(n));
    if (names.length === 0 || bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `expected a comma list of ${FEEDS.join('|')}` });
      return z.NEVER;
    }
    return [...new Set(names)] as FeedName[];
  });

const powerOfTwo = (defaultValue: number) =>
  envInt(defaultValue, 64, 1 << 24).refine((n) => (n & (n - 1)) === 0, 'must be a power of two');

const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional());
const blankAsUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalSecret = z.preprocess(blankAsUndefined, z.string().min(1).optional());

/** A ws:// or wss:// URL (a venue's stream; ws:// for local test venues). */
const wsUrl = (defaultValue: string) =>
  z.preprocess(
    blankAsUndefined,
    z
      .string()
      .url()
      .regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL')
      .default(defaultValue),
  );
const optionalUrlOf = (scheme: RegExp, what: string) =>
  z.preprocess(blankAsUndefined, z.string().url().regex(scheme, what).optional());

/**
 * A comma list of venue symbols, each checked against `item` (trimmed, upper-cased when `upper`,
 * duplicates dropped); absent or blank = an empty list (a venue in ENGINE_FEED then fails below,
 * naming the variable).
 */
const symbolList = (item: RegExp, what: string, upper: boolean) =>
  z
    .string()
    .optional()
    .transform((s, ctx): readonly string[] => {
      const names = (s ?? '')
        .split(',')
        .map((x) => (upper ? x.trim().toUpperCase() : x.trim()))
        .filter(Boolean);
      const bad = names.filter((n) => !item.test(n));
      if (bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `expected a comma list of ${what}` });
        return z.NEVER;
      }
      return [...new Set(names)];
    });

/** `<desk uuid>/<connection uuid>`: a broker connection is named by its desk and its id (RLS). */
const connectionRef = z.preprocess(
  blankAsUndefined,
  z
    .string()
    .optional()
    .transform((s, ctx): VenueConnectionRef | undefined => {
      if (s === undefined) return undefined;
      const ref = parseConnectionRef(s);
      if (!ref) {
        ctx.addIssue({ code: 'custom', message: 'expected <desk uuid>/<connection uuid>' });
        return z.NEVER;
      }
      return ref;
    }),
);

const defaultWorkers = Math.max(1, availableParallelism() - 1);

const patternParamsJson = z
  .string()
  .optional()
  .transform((s, ctx): PatternParams => {
    if (s === undefined || s.trim() === '') return DEFAULT_PATTERN_PARAMS;
    let json: unknown;
    try {
      json = JSON.parse(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of pattern parameters' });
      return z.NEVER;
    }
    const r = patternParamsSchema.partial().safeParse(json);
    if (!r.success) {
      for (const i of r.error.issues)
        ctx.addIssue({ code: 'custom', message: `${i.path.join('.') || '(root)'}: ${i.message}` });
      return z.NEVER;
    }
    return Object.freeze({ ...DEFAULT_PATTERN_PARAMS, ...r.data });
  });

const engineEnvObject = z.object({
  /** 0 = an ephemeral port (tests); the bound port is logged. */
  ENGINE_PORT: z.coerce.number().int().min(0).max(65535).default(4100),
  ENGINE_HOST: z.string().min(1).default('127.0.0.1'),
  /** Absent: no persistence (logged at start); ticks and signals still flow to the bus. */
  DATABASE_URL: optionalUrl,
  /** Absent: the in-process bus (embedded mode). */
  REDIS_URL: optionalUrl,
  ENGINE_FEED: feedList,
  ENGINE_SYMBOLS: envInt(1000, 1, 1_000_000),
  ENGINE_SEED: envInt(1, 0, 0xffffffff),
  ENGINE_SHARDS: envInt(4, 1, 64),
  ENGINE_WORKERS: envInt(defaultWorkers, 1, 256),
  ENGINE_RING_CAPACITY: powerOfTwo(1 << 16),
  ENGINE_BACKPRESSURE: z.enum(['block', 'drop']).default('block'),
  ENGINE_MAX_BATCH: envInt(256, 1, 4096),
  ENGINE_MAX_WAIT_US: envInt(200, 0, 1_000_000),
  ENGINE_EXECUTION_PROVIDER: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  /**
   * Which code scores a batch: `auto` the JS forward pass of the model's weights for batches of at
   * most JS_MAX_BATCH rows (inference/scoring-path.ts: the measured crossover), ORT above; `ort` or
   * `js` every batch (`js` needs a model exported by model/onnx-export.ts).
   */
  ENGINE_SCORING_PATH: z.enum(SCORING_PATHS).default('auto'),
  ENGINE_MODEL_PATH: z.string().min(1).optional(),
  ENGINE_REPLAY_FILE: z.string().min(1).optional(),
  /** 0 = full speed, 1 = real time, N = N× real time. */
  ENGINE_REPLAY_SPEED: z.coerce.number().min(0).max(1_000_000).default(1),
  /**
   * Replay the file from its first record, ignoring the saved position (`npm run engine --
   * --from-start` sets it). Without it a rerun resumes where the last run stopped, which for a
   * finished file is its end: the engine then says so at start rather than silently doing nothing.
   */
  ENGINE_REPLAY_FROM_START: envBool(false),
  /**
   * Exit (0, after draining and flushing like SIGTERM) when every feed has ended: a replay at the
   * end of its file, a synthetic feed at its tick limit. For batch replays under a supervisor
   * that must not restart them (systemd `Restart=on-failure`).
   */
  ENGINE_EXIT_ON_EOF: envBool(false),
  ENGINE_SIGNAL_MIN_SCORE: z.coerce.number().min(0).max(1).default(0.6),
  /** Synthetic feed pace in ticks/s; 0 = as fast as the pipeline takes them. */
  ENGINE_TICK_RATE: envInt(10_000, 0, 100_000_000),
  /**
   * Venue of the prices the venue feeds (synthetic, replay) carry: the `instruments.venue` the
   * servers map those instruments to (`SIM`: the synthetic market). Prices are published as
   * `<prefix>prices:<venue>`; desk order flow never is.
   */
  ENGINE_VENUE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,32}$/, 'letters, digits and . _ - (at most 32)')
    .default('SIM'),
  /**
   * Ms between two venue price publish rounds (coalesced: one round carries every change).
   * Measured: ~8 µs per changed instrument per round on this machine, so 1000 busy symbols cost
   * ~3% of the feed thread at 250 ms; prices stay far fresher than the 5 s reference-age limit.
   */
  ENGINE_PRICE_PUBLISH_MS: envInt(250, 10, 60_000),
  /** Ticks dated more than this many ms in the future are refused as prices (counted). */
  ENGINE_MAX_FUTURE_SKEW_MS: envInt(2000, 0, 60_000),
  /** Prefix of the bus stream names (`<prefix>signals`, `<prefix>orderflow`). */
  ENGINE_STREAM_PREFIX: z.string().default('aegis:'),
  /** Consumer name in the orderflow group; stable across restarts so pending entries drain. */
  ENGINE_CONSUMER: z.string().min(1).default('engine-1'),
  /**
   * Order-flow shards of a cluster of engines (docs/engine-shards.md). 0: one stream
   * `<prefix>orderflow` read by this engine alone through its consumer group. N ≥ 1: a symbol's
   * events go to `<prefix>orderflow:<fnv1a(symbol) mod N>`, and each shard is read by the one
   * engine holding its lease (needs DATABASE_URL and the orderflow feed). Same N everywhere.
   */
  ENGINE_ORDERFLOW_SHARDS: envInt(0, 0, 1024),
  /** A shard lease expires this long after its last renewal; failover takes at most TTL + renew. */
  ENGINE_SHARD_LEASE_TTL_MS: envInt(5000, 500, 600_000),
  /** Ms between two lease rounds (renew, heartbeat, rebalance); at most half the TTL. */
  ENGINE_SHARD_RENEW_MS: envInt(1000, 50, 300_000),
  /** Backtest jobs this engine runs at once (engine/src/jobs/); 0 = none here. */
  ENGINE_BACKTEST_WORKERS: envInt(1, 0, 16),
  /** A crashed worker's backtest job is resumed by another this long after its last renewal. */
  ENGINE_BACKTEST_LEASE_MS: envInt(30_000, 1_000, 600_000),
  /**
   * The OpenAI-compatible model a backtest asks when its spec says agent.decider 'openai' (the
   * server's variables, same names: one machine, one key). Unset: such backtests fail, saying so.
   */
  OPENAI_API_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_MODEL: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /** Features persisted at most once per symbol per this many ms (0 = never). */
  ENGINE_FEATURE_SAMPLE_MS: envInt(100, 0, 3_600_000),
  ENGINE_WRITER_BATCH: envInt(50_000, 100, 1_000_000),
  ENGINE_WRITER_FLUSH_MS: envInt(200, 1, 60_000),
  /** A writer flush not answered within this is abandoned and its connection replaced. */
  ENGINE_WRITER_FLUSH_TIMEOUT_MS: envInt(10_000, 100, 600_000),
  /** /health/ready fails while the oldest unpersisted checkpoint is older than this. */
  ENGINE_READY_MAX_WRITER_LAG_MS: envInt(10_000, 100, 3_600_000),
  /**
   * /health/ready fails while ticks, candidates or scores have waited this long for the feature
   * pool, the inference thread or the signal publisher without that consumer moving.
   */
  ENGINE_READY_MAX_RING_STALL_MS: envInt(5_000, 100, 3_600_000),
  /** Deadline of every other database call of the engine (connect, probes, signals, cursors). */
  ENGINE_DB_TIMEOUT_MS: envInt(5_000, 100, 600_000),
  /** SIGTERM to exit, whatever the database and Redis do (drain and flush within it). */
  ENGINE_SHUTDOWN_DEADLINE_MS: envInt(8_000, 1_000, 600_000),
  ENGINE_SIGNALS_MAXLEN: envInt(100_000, 100, 100_000_000),
  /** How often the global halt is read from PostgreSQL (a missed `aegis:halt` message is corrected within one poll). */
  ENGINE_HALT_POLL_MS: envInt(1000, 50, 60_000),
  /**
   * Pattern detector thresholds and cooldowns as a JSON object of the keys to change (the rest
   * keep the fitted defaults of features/params.ts), e.g. {"breakoutCooldownUs":5000000}.
   */
  ENGINE_PATTERN_PARAMS: patternParamsJson,

  // ---- venue feeds (docs/venue-feeds.md) --------------------------------------------------------
  /** Coinbase Advanced Trade product ids (`BTC-USD,ETH-USD`); required with ENGINE_FEED=coinbase. */
  ENGINE_COINBASE_PRODUCTS: symbolList(
    /^[A-Z0-9]{1,16}-[A-Z0-9]{1,16}$/,
    'Coinbase product ids (BTC-USD)',
    true,
  ),
  ENGINE_COINBASE_WS_URL: wsUrl('wss://advanced-trade-ws.coinbase.com'),
  /** Alpaca tickers (`AAPL,MSFT`); required with ENGINE_FEED=alpaca. */
  ENGINE_ALPACA_SYMBOLS: symbolList(/^[A-Z0-9][A-Z0-9./-]{0,15}$/, 'Alpaca tickers (AAPL, BRK.B)', true),
  /** The stream, feed included (`…/v2/iex`, `…/v2/sip`, `…/v2/test`). */
  ENGINE_ALPACA_DATA_URL: wsUrl('wss://stream.data.alpaca.markets/v2/iex'),
  /**
   * Alpaca credentials, one of two ways (never logged): an API-key broker connection a desk linked
   * on the server (ENGINE_ALPACA_CONNECTION=<desk uuid>/<connection uuid>, read from the database
   * and opened with the server's TOKEN_ENCRYPTION_KEYS / TOKEN_ENCRYPTION_KEY), or the keys
   * themselves (ENGINE_ALPACA_KEY_ID + ENGINE_ALPACA_SECRET_KEY) without a linked connection.
   */
  ENGINE_ALPACA_CONNECTION: connectionRef,
  ENGINE_ALPACA_KEY_ID: optionalSecret,
  ENGINE_ALPACA_SECRET_KEY: optionalSecret,
  /** The server's key ring (same variables, same format); only read for ENGINE_ALPACA_CONNECTION. */
  TOKEN_ENCRYPTION_KEYS: optionalSecret,
  TOKEN_ENCRYPTION_KEY: optionalSecret,
  /** A ccxt exchange id (`binance`, `kraken`); required with ENGINE_FEED=ccxt. */
  ENGINE_CCXT_EXCHANGE: z.preprocess(
    blankAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9]{2,32}$/, 'a ccxt exchange id (lower case, e.g. binance)')
      .optional(),
  ),
  /** ccxt unified symbols (`BTC/USDT,ETH/USDT`); required with ENGINE_FEED=ccxt. */
  ENGINE_CCXT_SYMBOLS: symbolList(/^[A-Za-z0-9._/:-]{1,64}$/, 'ccxt unified symbols (BTC/USDT)', false),
  /** `auto`: WebSocket where ccxt pro has it for the venue, else polling. */
  ENGINE_CCXT_MODE: z.enum(['auto', 'ws', 'poll']).default('auto'),
  ENGINE_CCXT_POLL_MS: envInt(1_000, 50, 3_600_000),
  /** Override of every REST / WebSocket origin ccxt uses for the venue (tests, a self-hosted gateway). */
  ENGINE_CCXT_REST_URL: optionalUrlOf(/^https?:\/\//, 'must be an http:// or https:// URL'),
  ENGINE_CCXT_WS_URL: optionalUrlOf(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),

  // ---- order books --------------------------------------------------------------------------------
  /** Ms between two book publish rounds per venue (coalesced like the prices). */
  ENGINE_BOOK_PUBLISH_MS: envInt(250, 10, 60_000),
  /** Levels per side the book features (depth imbalance, withdrawal) are taken over. */
  ENGINE_BOOK_FEATURE_LEVELS: envInt(10, 1, 50),
  LOG_LEVEL: logLevel,
});

/** Venue symbol variables each venue feed needs. */
const VENUE_SYMBOLS_VAR: Readonly<Record<VenueFeedName, keyof EngineEnvObject>> = {
  coinbase: 'ENGINE_COINBASE_PRODUCTS',
  alpaca: 'ENGINE_ALPACA_SYMBOLS',
  ccxt: 'ENGINE_CCXT_SYMBOLS',
};
type EngineEnvObject = z.output<typeof engineEnvObject>;

/** The Alpaca credential rules: exactly one of the two ways, each complete. */
function checkAlpacaCredentials(c: EngineEnvObject, ctx: z.RefinementCtx): void {
  const byConnection = c.ENGINE_ALPACA_CONNECTION !== undefined;
  const byKeys = c.ENGINE_ALPACA_KEY_ID !== undefined || c.ENGINE_ALPACA_SECRET_KEY !== undefined;
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (byConnection && byKeys) {
    issue(
      'ENGINE_ALPACA_CONNECTION',
      'set either a broker connection or ENGINE_ALPACA_KEY_ID/SECRET_KEY, not both',
    );
    return;
  }
  if (byKeys) {
    if (c.ENGINE_ALPACA_KEY_ID === undefined)
      issue('ENGINE_ALPACA_KEY_ID', 'required with ENGINE_ALPACA_SECRET_KEY');
    if (c.ENGINE_ALPACA_SECRET_KEY === undefined)
      issue('ENGINE_ALPACA_SECRET_KEY', 'required with ENGINE_ALPACA_KEY_ID');
    return;
  }
  if (!byConnection) {
    issue(
      'ENGINE_ALPACA_CONNECTION',
      'required when ENGINE_FEED includes alpaca (<desk uuid>/<connection uuid> of an API-key broker connection), unless ENGINE_ALPACA_KEY_ID and ENGINE_ALPACA_SECRET_KEY are set',
    );
    return;
  }
  if (c.DATABASE_URL === undefined) issue('DATABASE_URL', 'required to read ENGINE_ALPACA_CONNECTION');
  if (c.TOKEN_ENCRYPTION_KEYS === undefined && c.TOKEN_ENCRYPTION_KEY === undefined) {
    issue(
      'TOKEN_ENCRYPTION_KEYS',
      "required to open ENGINE_ALPACA_CONNECTION (the server's key ring, or TOKEN_ENCRYPTION_KEY)",
    );
    return;
  }
  try {
    parseTokenKeys(c.TOKEN_ENCRYPTION_KEYS, c.TOKEN_ENCRYPTION_KEY);
  } catch (err) {
    // The message names the variable and the rule, never the key.
    const message = (err as Error).message;
    issue(
      message.startsWith('TOKEN_ENCRYPTION_KEYS') ? 'TOKEN_ENCRYPTION_KEYS' : 'TOKEN_ENCRYPTION_KEY',
      message,
    );
  }
}

export const engineEnvSchema = engineEnvObject.superRefine((c, ctx) => {
  if (c.ENGINE_FEED.includes('replay') && !c.ENGINE_REPLAY_FILE) {
    ctx.addIssue({
      code: 'custom',
      path: ['ENGINE_REPLAY_FILE'],
      message: 'required when ENGINE_FEED includes replay',
    });
  }
  for (const venue of VENUE_FEEDS) {
    const name = VENUE_SYMBOLS_VAR[venue];
    if (c.ENGINE_FEED.includes(venue) && (c[name] as readonly string[]).length === 0)
      ctx.addIssue({ code: 'custom', path: [name], message: `required when ENGINE_FEED includes ${venue}` });
  }
  if (c.ENGINE_FEED.includes('ccxt') && c.ENGINE_CCXT_EXCHANGE === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['ENGINE_CCXT_EXCHANGE'],
      message: 'required when ENGINE_FEED includes ccxt',
    });
  if (c.ENGINE_FEED.includes('alpaca')) checkAlpacaCredentials(c, ctx);
  if (c.ENGINE_EXIT_ON_EOF && c.ENGINE_FEED.some((f) => f !== 'replay')) {
    // Only a replay has an end; a synthetic, orderflow or venue feed would keep the engine up forever.
    ctx.addIssue({
      code: 'custom',
      path: ['ENGINE_EXIT_ON_EOF'],
      message: 'needs ENGINE_FEED=replay alone (the other feeds never end)',
    });
  }
  if (c.ENGINE_ORDERFLOW_SHARDS > 0) {
    if (!c.ENGINE_FEED.includes('orderflow'))
      ctx.addIssue({
        code: 'custom',
        path: ['ENGINE_ORDERFLOW_SHARDS'],
        message: 'needs ENGINE_FEED to include orderflow',
      });
    if (!c.DATABASE_URL)
      ctx.addIssue({
        code: 'custom',
        path: ['ENGINE_ORDERFLOW_SHARDS'],
        message: 'needs DATABASE_URL (the shard leases and cursors live there)',
      });
    if (c.ENGINE_SHARD_RENEW_MS * 2 > c.ENGINE_SHARD_LEASE_TTL_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['ENGINE_SHARD_RENEW_MS'],
        message: 'must be at most half of ENGINE_SHARD_LEASE_TTL_MS',
      });
  }
  if (c.ENGINE_SHARDS > c.ENGINE_SYMBOLS) {
    ctx.addIssue({ code: 'custom', path: ['ENGINE_SHARDS'], message: 'must not exceed ENGINE_SYMBOLS' });
  }
});

export type EngineEnv = z.output<typeof engineEnvSchema>;

/** The engine's settings in the shape the code uses. */
export interface EngineConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly feeds: readonly FeedName[];
  readonly symbols: number;
  readonly seed: number;
  readonly shards: number;
  readonly workers: number;
  readonly ringCapacity: number;
  readonly backpressure: 'block' | 'drop';
  readonly maxBatch: number;
  readonly maxWaitUs: number;
  readonly executionProvider: 'auto' | 'cpu' | 'cuda';
  readonly scoringPath: ScoringPathChoice;
  readonly modelPath: string | undefined;
  readonly replayFile: string | undefined;
  readonly replaySpeed: number;
  readonly replayFromStart: boolean;
  readonly exitOnEof: boolean;
  readonly signalMinScore: number;
  readonly tickRate: number;
  readonly streamPrefix: string;
  readonly venue: string;
  readonly pricePublishMs: number;
  readonly maxFutureSkewMs: number;
  readonly consumer: string;
  /** Order-flow shards (0: unsharded, one engine); see ENGINE_ORDERFLOW_SHARDS. */
  readonly orderflowShards: number;
  readonly shardLeaseTtlMs: number;
  readonly shardRenewMs: number;
  readonly backtestWorkers: number;
  readonly backtestLeaseMs: number;
  /** For backtests with the LLM decider; the key is a secret: never log this object. */
  readonly openai: {
    readonly apiKey: string | null;
    readonly baseUrl: string | null;
    readonly model: string | null;
  };
  readonly featureSampleMs: number;
  readonly writerBatch: number;
  readonly writerFlushMs: number;
  readonly writerFlushTimeoutMs: number;
  readonly readyMaxWriterLagMs: number;
  readonly readyMaxRingStallMs: number;
  readonly dbTimeoutMs: number;
  readonly shutdownDeadlineMs: number;
  readonly signalsMaxLen: number;
  readonly haltPollMs: number;
  /** Detector thresholds and cooldowns (fitted defaults, ENGINE_PATTERN_PARAMS overrides). */
  readonly patternParams: PatternParams;
  /** Settings of the live venue feeds in ENGINE_FEED (null: not configured to run). */
  readonly venueFeeds: VenueFeedsConfig;
  readonly book: { readonly publishMs: number; readonly featureLevels: number };
  readonly logLevel: string;
}

export interface VenueFeedsConfig {
  readonly coinbase: { readonly products: readonly string[]; readonly wsUrl: string } | null;
  readonly alpaca: {
    readonly symbols: readonly string[];
    readonly dataUrl: string;
    /** Secrets: never log this object. */
    readonly credentials: AlpacaCredentialsConfig;
  } | null;
  readonly ccxt: {
    readonly exchange: string;
    readonly symbols: readonly string[];
    readonly mode: 'auto' | 'ws' | 'poll';
    readonly pollMs: number;
    readonly restUrl: string | null;
    readonly wsUrl: string | null;
  } | null;
}

export type AlpacaCredentialsConfig =
  | { readonly kind: 'keys'; readonly keyId: string; readonly secretKey: string }
  | {
      readonly kind: 'connection';
      /** The desk (tenant) and the connection id. */
      readonly ref: VenueConnectionRef;
      readonly tokenKeys: string | undefined;
      readonly tokenKey: string | undefined;
    };

function venueFeedsOf(e: EngineEnv): VenueFeedsConfig {
  const on = (f: VenueFeedName) => e.ENGINE_FEED.includes(f);
  return {
    coinbase: on('coinbase')
      ? { products: e.ENGINE_COINBASE_PRODUCTS, wsUrl: e.ENGINE_COINBASE_WS_URL }
      : null,
    alpaca: on('alpaca')
      ? {
          symbols: e.ENGINE_ALPACA_SYMBOLS,
          dataUrl: e.ENGINE_ALPACA_DATA_URL,
          credentials:
            e.ENGINE_ALPACA_KEY_ID !== undefined && e.ENGINE_ALPACA_SECRET_KEY !== undefined
              ? { kind: 'keys', keyId: e.ENGINE_ALPACA_KEY_ID, secretKey: e.ENGINE_ALPACA_SECRET_KEY }
              : {
                  kind: 'connection',
                  ref: e.ENGINE_ALPACA_CONNECTION as VenueConnectionRef,
                  tokenKeys: e.TOKEN_ENCRYPTION_KEYS,
                  tokenKey: e.TOKEN_ENCRYPTION_KEY,
                },
        }
      : null,
    ccxt: on('ccxt')
      ? {
          exchange: e.ENGINE_CCXT_EXCHANGE as string,
          symbols: e.ENGINE_CCXT_SYMBOLS,
          mode: e.ENGINE_CCXT_MODE,
          pollMs: e.ENGINE_CCXT_POLL_MS,
          restUrl: e.ENGINE_CCXT_REST_URL ?? null,
          wsUrl: e.ENGINE_CCXT_WS_URL ?? null,
        }
      : null,
  };
}

/** Venue symbols the configured venue feeds will intern (sizes the symbol table). */
export function venueSymbolCount(c: EngineConfig): number {
  const v = c.venueFeeds;
  return (v.coinbase?.products.length ?? 0) + (v.alpaca?.symbols.length ?? 0) + (v.ccxt?.symbols.length ?? 0);
}

export function toEngineConfig(e: EngineEnv): EngineConfig {
  return Object.freeze({
    port: e.ENGINE_PORT,
    host: e.ENGINE_HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    feeds: Object.freeze([...e.ENGINE_FEED]),
    symbols: e.ENGINE_SYMBOLS,
    seed: e.ENGINE_SEED,
    shards: e.ENGINE_SHARDS,
    workers: Math.min(e.ENGINE_WORKERS, e.ENGINE_SHARDS),
    ringCapacity: e.ENGINE_RING_CAPACITY,
    backpressure: e.ENGINE_BACKPRESSURE,
    maxBatch: e.ENGINE_MAX_BATCH,
    maxWaitUs: e.ENGINE_MAX_WAIT_US,
    executionProvider: e.ENGINE_EXECUTION_PROVIDER,
    scoringPath: e.ENGINE_SCORING_PATH,
    modelPath: e.ENGINE_MODEL_PATH,
    replayFile: e.ENGINE_REPLAY_FILE,
    replaySpeed: e.ENGINE_REPLAY_SPEED,
    replayFromStart: e.ENGINE_REPLAY_FROM_START,
    exitOnEof: e.ENGINE_EXIT_ON_EOF,
    signalMinScore: e.ENGINE_SIGNAL_MIN_SCORE,
    tickRate: e.ENGINE_TICK_RATE,
    streamPrefix: e.ENGINE_STREAM_PREFIX,
    venue: e.ENGINE_VENUE,
    pricePublishMs: e.ENGINE_PRICE_PUBLISH_MS,
    maxFutureSkewMs: e.ENGINE_MAX_FUTURE_SKEW_MS,
    consumer: e.ENGINE_CONSUMER,
    orderflowShards: e.ENGINE_ORDERFLOW_SHARDS,
    shardLeaseTtlMs: e.ENGINE_SHARD_LEASE_TTL_MS,
    shardRenewMs: e.ENGINE_SHARD_RENEW_MS,
    backtestWorkers: e.ENGINE_BACKTEST_WORKERS,
    backtestLeaseMs: e.ENGINE_BACKTEST_LEASE_MS,
    openai: Object.freeze({
      apiKey: e.OPENAI_API_KEY ?? null,
      baseUrl: e.OPENAI_BASE_URL ?? null,
      model: e.OPENAI_MODEL ?? null,
    }),
    featureSampleMs: e.ENGINE_FEATURE_SAMPLE_MS,
    writerBatch: e.ENGINE_WRITER_BATCH,
    writerFlushMs: e.ENGINE_WRITER_FLUSH_MS,
    writerFlushTimeoutMs: e.ENGINE_WRITER_FLUSH_TIMEOUT_MS,
    readyMaxWriterLagMs: e.ENGINE_READY_MAX_WRITER_LAG_MS,
    readyMaxRingStallMs: e.ENGINE_READY_MAX_RING_STALL_MS,
    dbTimeoutMs: e.ENGINE_DB_TIMEOUT_MS,
    shutdownDeadlineMs: e.ENGINE_SHUTDOWN_DEADLINE_MS,
    signalsMaxLen: e.ENGINE_SIGNALS_MAXLEN,
    haltPollMs: e.ENGINE_HALT_POLL_MS,
    patternParams: e.ENGINE_PATTERN_PARAMS,
    venueFeeds: deepFreeze(venueFeedsOf(e)),
    book: Object.freeze({ publishMs: e.ENGINE_BOOK_PUBLISH_MS, featureLevels: e.ENGINE_BOOK_FEATURE_LEVELS }),
    logLevel: e.LOG_LEVEL,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Unknown ENGINE_* variables: almost always a typo of a real one. */
function unknownEngineVars(env: Record<string, string | undefined>): string[] {
  const known = new Set(Object.keys(engineEnvObject.shape));
  return Object.keys(env).filter((k) => k.startsWith('ENGINE_') && !known.has(k));
}

/** Command-line flags of `npm run engine -- …`, as the variables they stand for. */
const CLI_FLAGS: Readonly<Record<string, readonly [string, string]>> = {
  '--from-start': ['ENGINE_REPLAY_FROM_START', 'true'],
  '--exit-on-eof': ['ENGINE_EXIT_ON_EOF', 'true'],
};

/**
 * Parses the environment (default `process.env`) and the daemon's flags once; throws configError
 * listing every issue. A flag wins over its variable.
 */
export function loadEngineConfig(
  envIn: Record<string, string | undefined> = process.env,
  argv: readonly string[] = [],
): EngineConfig {
  const env = { ...envIn };
  const badFlags: string[] = [];
  for (const arg of argv) {
    const flag = CLI_FLAGS[arg];
    if (flag) env[flag[0]] = flag[1];
    else badFlags.push(`${arg}: unknown flag (known: ${Object.keys(CLI_FLAGS).join(', ')})`);
  }
  if (badFlags.length > 0) throw configError('engine', badFlags);
  const unknown = unknownEngineVars(env).map((name) => `${name}: unknown engine variable (a typo?)`);
  try {
    const parsed = parseConfig('engine', engineEnvSchema, env);
    if (unknown.length > 0) throw configError('engine', unknown);
    return toEngineConfig(parsed);
  } catch (err) {
    const issues = configIssuesOf(err);
    if (issues && unknown.length > 0 && !unknown.every((u) => issues.includes(u))) {
      throw configError('engine', [...issues, ...unknown]);
    }
    throw err;
  }
}
