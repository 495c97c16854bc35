import { configIssuesOf, isConfigError } from '@aegis/shared/config';
import { describe, expect, it } from 'vitest';
import { loadEngineConfig } from './config.ts';
import { DEFAULT_PATTERN_PARAMS } from './features/params.ts';

/** What an invalid configuration (configError) looks like to `toThrow`. */
const INVALID_CONFIG = expect.objectContaining({
  details: expect.objectContaining({ reason: 'invalid_config' }),
});

describe('engine config', () => {
  it('has working defaults and is frozen', () => {
    const c = loadEngineConfig({});
    expect(c).toMatchObject({
      port: 4100,
      feeds: ['synthetic'],
      backpressure: 'block',
      databaseUrl: undefined,
    });
    expect(c.workers).toBeGreaterThanOrEqual(1);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.feeds)).toBe(true);
  });

  it('parses a full environment', () => {
    const c = loadEngineConfig({
      ENGINE_PORT: '4200',
      DATABASE_URL: 'postgres://u@h/db',
      REDIS_URL: 'redis://h:6379',
      ENGINE_FEED: 'synthetic, orderflow,synthetic',
      ENGINE_SHARDS: '8',
      ENGINE_WORKERS: '2',
      ENGINE_RING_CAPACITY: '1024',
      ENGINE_BACKPRESSURE: 'drop',
      ENGINE_EXECUTION_PROVIDER: 'cpu',
      ENGINE_SCORING_PATH: 'js',
      ENGINE_TICK_RATE: '0',
      ENGINE_REPLAY_SPEED: '2.5',
    });
    expect(c).toMatchObject({
      port: 4200,
      feeds: ['synthetic', 'orderflow'],
      shards: 8,
      workers: 2,
      ringCapacity: 1024,
      backpressure: 'drop',
      executionProvider: 'cpu',
      scoringPath: 'js',
      tickRate: 0,
      replaySpeed: 2.5,
    });
  });

  it('lists every bad variable by name, never its value, and flags unknown ENGINE_ variables', () => {
    let err: unknown;
    try {
      loadEngineConfig({
        ENGINE_FEED: 'synthetic,kafka',
        ENGINE_RING_CAPACITY: '1000',
        ENGINE_BACKPRESSURE: 'secret-value',
        ENGINE_SHARD: '4',
      });
    } catch (e) {
      err = e;
    }
    expect(isConfigError(err)).toBe(true);
    const issues = configIssuesOf(err)!.join('\n');
    for (const name of ['ENGINE_FEED', 'ENGINE_RING_CAPACITY', 'ENGINE_BACKPRESSURE', 'ENGINE_SHARD']) {
      expect(issues).toContain(name);
    }
    expect(issues).not.toContain('secret-value');
  });

  it('requires a replay file for the replay feed', () => {
    expect(() => loadEngineConfig({ ENGINE_FEED: 'replay' })).toThrow(/ENGINE_REPLAY_FILE/);
  });
});

describe('replay reruns and batch exits', () => {
  const replay = { ENGINE_FEED: 'replay', ENGINE_REPLAY_FILE: 'ticks.csv' };
  it('--from-start and --exit-on-eof set their variables; unknown flags are refused by name', () => {
    expect(loadEngineConfig(replay).replayFromStart).toBe(false);
    const c = loadEngineConfig(replay, ['--from-start', '--exit-on-eof']);
    expect([c.replayFromStart, c.exitOnEof]).toEqual([true, true]);
    expect(loadEngineConfig({ ...replay, ENGINE_REPLAY_FROM_START: 'true' }).replayFromStart).toBe(true);
    expect(() => loadEngineConfig(replay, ['--from-strat'])).toThrow(/--from-strat: unknown flag/);
  });
  it('ENGINE_EXIT_ON_EOF needs a replay alone (the other feeds never end)', () => {
    expect(loadEngineConfig({ ...replay, ENGINE_EXIT_ON_EOF: 'true' }).exitOnEof).toBe(true);
    expect(() =>
      loadEngineConfig({ ...replay, ENGINE_FEED: 'replay,orderflow', ENGINE_EXIT_ON_EOF: 'true' }),
    ).toThrow(/ENGINE_EXIT_ON_EOF/);
    expect(() => loadEngineConfig({ ENGINE_EXIT_ON_EOF: 'true' })).toThrow(INVALID_CONFIG);
  });

  it('detector params: fitted defaults, ENGINE_PATTERN_PARAMS overrides the keys it names, bad ones name the key', () => {
    expect(loadEngineConfig({}).patternParams).toEqual(DEFAULT_PATTERN_PARAMS);
    const c = loadEngineConfig({
      ENGINE_PATTERN_PARAMS: '{"breakoutCooldownUs":5000000,"meanReversionZ":4}',
    });
    expect(c.patternParams).toEqual({
      ...DEFAULT_PATTERN_PARAMS,
      breakoutCooldownUs: 5_000_000,
      meanReversionZ: 4,
    });
    expect(() => loadEngineConfig({ ENGINE_PATTERN_PARAMS: '{"breakoutMinFlow":2}' })).toThrow(
      /breakoutMinFlow/,
    );
    expect(() => loadEngineConfig({ ENGINE_PATTERN_PARAMS: '{"bandWindow":30}' })).toThrow(INVALID_CONFIG);
    expect(() => loadEngineConfig({ ENGINE_PATTERN_PARAMS: 'not json' })).toThrow(/ENGINE_PATTERN_PARAMS/);
  });
});

describe('venue feeds', () => {
  const issuesOf = (env: Record<string, string>): string => {
    try {
      loadEngineConfig(env);
    } catch (err) {
      const issues = configIssuesOf(err);
      if (issues) return issues.join('\n');
      throw err;
    }
    throw new Error('expected an invalid configuration');
  };
  const KEY = Buffer.alloc(32, 7).toString('base64');
  const desk = '00000000-0000-4000-8000-000000000001';
  const conn = '00000000-0000-4000-8000-0000000000aa';

  it('no venue feed by default; book settings have defaults', () => {
    const c = loadEngineConfig({});
    expect(c.venueFeeds).toEqual({ coinbase: null, alpaca: null, ccxt: null });
    expect(c.book).toEqual({ publishMs: 250, featureLevels: 10 });
  });

  it('coinbase: products upper-cased and deduplicated, default Advanced Trade URL, frozen', () => {
    const c = loadEngineConfig({
      ENGINE_FEED: 'synthetic,coinbase',
      ENGINE_COINBASE_PRODUCTS: 'btc-usd, ETH-USD,BTC-USD',
      ENGINE_BOOK_PUBLISH_MS: '100',
      ENGINE_BOOK_FEATURE_LEVELS: '5',
    });
    expect(c.feeds).toEqual(['synthetic', 'coinbase']);
    expect(c.venueFeeds.coinbase).toEqual({
      products: ['BTC-USD', 'ETH-USD'],
      wsUrl: 'wss://advanced-trade-ws.coinbase.com',
    });
    expect(c.venueFeeds.alpaca).toBeNull();
    expect(c.book).toEqual({ publishMs: 100, featureLevels: 5 });
    expect(Object.isFrozen(c.venueFeeds)).toBe(true);
    expect(Object.isFrozen(c.venueFeeds.coinbase?.products)).toBe(true);
  });

  it('a venue in ENGINE_FEED without its symbols is an error naming the variable', () => {
    expect(issuesOf({ ENGINE_FEED: 'coinbase' })).toMatch(
      /ENGINE_COINBASE_PRODUCTS: missing \(required when ENGINE_FEED includes coinbase\)/,
    );
    expect(issuesOf({ ENGINE_FEED: 'coinbase', ENGINE_COINBASE_PRODUCTS: ' , ' })).toMatch(
      /ENGINE_COINBASE_PRODUCTS/,
    );
    expect(
      issuesOf({ ENGINE_FEED: 'alpaca', ENGINE_ALPACA_KEY_ID: 'k', ENGINE_ALPACA_SECRET_KEY: 's' }),
    ).toMatch(/ENGINE_ALPACA_SYMBOLS: missing/);
    const ccxt = issuesOf({ ENGINE_FEED: 'ccxt' });
    expect(ccxt).toMatch(/ENGINE_CCXT_SYMBOLS: missing/);
    expect(ccxt).toMatch(/ENGINE_CCXT_EXCHANGE: missing/);
    // Symbols of a venue that is not in ENGINE_FEED are accepted and unused.
    expect(loadEngineConfig({ ENGINE_COINBASE_PRODUCTS: 'BTC-USD' }).venueFeeds.coinbase).toBeNull();
  });

  it('refuses malformed symbols, URLs and unknown venue variables by name', () => {
    const issues = issuesOf({
      ENGINE_FEED: 'coinbase,ccxt',
      ENGINE_COINBASE_PRODUCTS: 'BTCUSD',
      ENGINE_COINBASE_WS_URL: 'https://advanced-trade-ws.coinbase.com',
      ENGINE_CCXT_EXCHANGE: 'Binance!',
      ENGINE_CCXT_SYMBOLS: 'BTC/USDT',
      ENGINE_CCXT_MODE: 'fast',
      ENGINE_CCXT_POLL_MS: '10',
      ENGINE_CCXT_REST_URL: 'ws://127.0.0.1:1',
      ENGINE_COINBASE_PRODUCT: 'BTC-USD',
    });
    for (const name of [
      'ENGINE_COINBASE_PRODUCTS',
      'ENGINE_COINBASE_WS_URL',
      'ENGINE_CCXT_EXCHANGE',
      'ENGINE_CCXT_MODE',
      'ENGINE_CCXT_POLL_MS',
      'ENGINE_CCXT_REST_URL',
      'ENGINE_COINBASE_PRODUCT: unknown engine variable',
    ])
      expect(issues).toContain(name);
    expect(issues).not.toContain('ENGINE_CCXT_SYMBOLS');
  });

  it('ccxt: exchange, symbols kept as ccxt spells them, mode, poll interval and URL overrides', () => {
    const c = loadEngineConfig({
      ENGINE_FEED: 'ccxt',
      ENGINE_CCXT_EXCHANGE: 'binance',
      ENGINE_CCXT_SYMBOLS: 'BTC/USDT,ETH/USDT',
      ENGINE_CCXT_MODE: 'poll',
      ENGINE_CCXT_POLL_MS: '500',
      ENGINE_CCXT_REST_URL: 'http://127.0.0.1:9000',
      ENGINE_CCXT_WS_URL: 'ws://127.0.0.1:9001',
    });
    expect(c.venueFeeds.ccxt).toEqual({
      exchange: 'binance',
      symbols: ['BTC/USDT', 'ETH/USDT'],
      mode: 'poll',
      pollMs: 500,
      restUrl: 'http://127.0.0.1:9000',
      wsUrl: 'ws://127.0.0.1:9001',
    });
    expect(
      loadEngineConfig({
        ENGINE_FEED: 'ccxt',
        ENGINE_CCXT_EXCHANGE: 'kraken',
        ENGINE_CCXT_SYMBOLS: 'BTC/USD',
      }).venueFeeds.ccxt,
    ).toMatchObject({ mode: 'auto', pollMs: 1000, restUrl: null, wsUrl: null });
  });

  it('alpaca: keys directly, or a broker connection with its desk, a database and the key ring', () => {
    const base = { ENGINE_FEED: 'alpaca', ENGINE_ALPACA_SYMBOLS: 'aapl,BRK.B' };
    const keys = loadEngineConfig({ ...base, ENGINE_ALPACA_KEY_ID: 'PKID', ENGINE_ALPACA_SECRET_KEY: 'shh' });
    expect(keys.venueFeeds.alpaca).toEqual({
      symbols: ['AAPL', 'BRK.B'],
      dataUrl: 'wss://stream.data.alpaca.markets/v2/iex',
      credentials: { kind: 'keys', keyId: 'PKID', secretKey: 'shh' },
    });
    const linked = loadEngineConfig({
      ...base,
      ENGINE_ALPACA_DATA_URL: 'ws://127.0.0.1:7000/v2/test',
      ENGINE_ALPACA_CONNECTION: `${desk}/${conn}`,
      DATABASE_URL: 'postgres://u@h/db',
      TOKEN_ENCRYPTION_KEYS: `k1:${KEY}`,
    });
    expect(linked.venueFeeds.alpaca?.dataUrl).toBe('ws://127.0.0.1:7000/v2/test');
    expect(linked.venueFeeds.alpaca?.credentials).toEqual({
      kind: 'connection',
      ref: { tenantId: desk, connectionId: conn },
      tokenKeys: `k1:${KEY}`,
      tokenKey: undefined,
    });

    expect(issuesOf(base)).toMatch(
      /ENGINE_ALPACA_CONNECTION: missing \(required when ENGINE_FEED includes alpaca/,
    );
    expect(issuesOf({ ...base, ENGINE_ALPACA_KEY_ID: 'PKID' })).toMatch(/ENGINE_ALPACA_SECRET_KEY: missing/);
    const both = issuesOf({
      ...base,
      ENGINE_ALPACA_KEY_ID: 'PKID',
      ENGINE_ALPACA_SECRET_KEY: 'secret-value',
      ENGINE_ALPACA_CONNECTION: `${desk}/${conn}`,
    });
    expect(both).toMatch(/ENGINE_ALPACA_CONNECTION: .*not both/);
    expect(both).not.toContain('secret-value');
    const incomplete = issuesOf({ ...base, ENGINE_ALPACA_CONNECTION: `${desk}/${conn}` });
    for (const name of ['DATABASE_URL', 'TOKEN_ENCRYPTION_KEYS']) expect(incomplete).toContain(name);
    const badRing = issuesOf({
      ...base,
      ENGINE_ALPACA_CONNECTION: `${desk}/${conn}`,
      DATABASE_URL: 'postgres://u@h/db',
      TOKEN_ENCRYPTION_KEY: 'c2hvcnQta2V5LXNlY3JldA==',
    });
    expect(badRing).toMatch(/TOKEN_ENCRYPTION_KEY: .*32 bytes/);
    expect(badRing).not.toContain('c2hvcnQta2V5LXNlY3JldA');
    // Only the connection id, or not UUIDs: named, with the expected shape.
    expect(issuesOf({ ...base, ENGINE_ALPACA_CONNECTION: conn })).toMatch(
      /ENGINE_ALPACA_CONNECTION: invalid \(expected <desk uuid>\/<connection uuid>\)/,
    );
    expect(issuesOf({ ...base, ENGINE_ALPACA_CONNECTION: `${desk}/not-a-uuid` })).toContain(
      'ENGINE_ALPACA_CONNECTION',
    );
  });

  it('a venue feed never ends: ENGINE_EXIT_ON_EOF refuses it', () => {
    expect(
      issuesOf({ ENGINE_FEED: 'coinbase', ENGINE_COINBASE_PRODUCTS: 'BTC-USD', ENGINE_EXIT_ON_EOF: 'true' }),
    ).toContain('ENGINE_EXIT_ON_EOF');
  });
});
