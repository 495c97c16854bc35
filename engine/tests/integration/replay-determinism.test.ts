import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../src/config.ts';
import { startEngine } from '../../src/index.ts';
import type { SignalOut } from '../../src/signals/signal-publisher.ts';
import { replayFixtureEnv } from '../support/replay-env.ts';

/**
 * Replaying the committed fixture gives the same signals on every run and whatever the number
 * of shards and workers: per-symbol order is kept by the shard rings, features depend only on
 * that order, and scores are per row. (Inference batches differ between runs; scores are
 * compared to 1e-6, well inside the model's float32 noise.)
 */
async function replaySignals(shards: number, workers: number) {
  const config = loadEngineConfig(
    replayFixtureEnv({
      ENGINE_SIGNAL_MIN_SCORE: '0',
      ENGINE_SHARDS: String(shards),
      ENGINE_WORKERS: String(workers),
    }),
  );
  const bus = new MemoryBus();
  const signals: SignalOut[] = [];
  const engine = await startEngine({
    config,
    bus,
    log: createLogger({ name: 'determinism', level: 'silent' }),
    onSignal: (s) => signals.push(s),
  });
  await engine.feedsDone;
  const report = await engine.stop();
  const streamLength = await bus.xlen('aegis:signals');
  await bus.close();
  expect(report.ticksIn).toBe(12_000);
  expect(streamLength).toBe(signals.length);
  return signals
    .map((s) => ({
      symbol: s.symbol,
      pattern: s.pattern,
      direction: s.direction,
      tsEventUs: s.tsEventUs,
      price: s.price,
      score: Math.round(s.score * 1e6) / 1e6,
      features: s.features,
    }))
    .sort(
      (a, b) =>
        a.tsEventUs - b.tsEventUs || a.symbol.localeCompare(b.symbol) || a.pattern.localeCompare(b.pattern),
    );
}

describe('replay of the committed fixture', () => {
  it('gives the same signal list on every run and with 1 or N workers', async () => {
    const first = await replaySignals(1, 1);
    expect(first.length).toBeGreaterThan(10);
    const again = await replaySignals(1, 1);
    expect(again).toEqual(first);
    const sharded = await replaySignals(4, 2);
    expect(sharded).toEqual(first);
  });
});
