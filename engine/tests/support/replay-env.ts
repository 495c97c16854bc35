import { FIXTURE_PATH, FIXTURE_SYMBOLS } from '../fixtures/make-replay-fixture.ts';

/**
 * The engine's environment for replaying the committed fixture (tests/fixtures/replay-small.ticks)
 * as fast as it reads: its 12 symbols on two shards, one worker, the CPU execution provider, no
 * logs; `env` adds to it or overrides (a database, a stream prefix, a speed, log level).
 */
export function replayFixtureEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    ENGINE_FEED: 'replay',
    ENGINE_REPLAY_FILE: FIXTURE_PATH,
    ENGINE_REPLAY_SPEED: '0',
    ENGINE_SYMBOLS: String(FIXTURE_SYMBOLS),
    ENGINE_SHARDS: '2',
    ENGINE_WORKERS: '1',
    ENGINE_EXECUTION_PROVIDER: 'cpu',
    LOG_LEVEL: 'silent',
    ...env,
  };
}
