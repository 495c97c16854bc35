import { ConfigError } from '@aegis/shared/config';
import { describe, expect, it } from 'vitest';
import { loadEngineConfig } from './config.ts';
import { DEFAULT_PATTERN_PARAMS } from './features/params.ts';

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
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues.join('\n');
    for (const name of ['ENGINE_FEED', 'ENGINE_RING_CAPACITY', 'ENGINE_BACKPRESSURE', 'ENGINE_SHARD']) {
      expect(issues).toContain(name);
    }
    expect(issues).not.toContain('secret-value');
  });

  it('requires a replay file for the replay feed', () => {
    expect(() => loadEngineConfig({ ENGINE_FEED: 'replay' })).toThrow(/ENGINE_REPLAY_FILE/);
  });
});

describe('replay reruns and batch exits (issue 10)', () => {
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
    expect(() => loadEngineConfig({ ENGINE_EXIT_ON_EOF: 'true' })).toThrow(ConfigError);
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
    expect(() => loadEngineConfig({ ENGINE_PATTERN_PARAMS: '{"bandWindow":30}' })).toThrow(ConfigError);
    expect(() => loadEngineConfig({ ENGINE_PATTERN_PARAMS: 'not json' })).toThrow(/ENGINE_PATTERN_PARAMS/);
  });
});
