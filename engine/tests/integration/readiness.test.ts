import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import type { StreamFields, XAddOptions } from '@aegis/shared/bus/types';
import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../src/config.ts';
import { startHttpServer } from '../../src/http.ts';
import { startEngine } from '../../src/index.ts';
import { until } from '../support/wait.ts';

/**
 * `/health/ready`'s `rings` check is a real condition: a consumer of the hot path that stops
 * while records wait for it makes the engine not ready, even though every other probe passes.
 * The fault here is a bus that answers pings but whose appends to the signals stream never
 * return (a Redis stuck on a full disk or a network that drops only large writes): the signal
 * publisher waits on its append and stops reading the scored ring, while the inference thread
 * keeps filling it.
 */
class StuckAppendBus extends MemoryBus {
  stuck = false;
  readonly #held: (() => void)[] = [];

  override async xadd(stream: string, fields: StreamFields, options?: XAddOptions): Promise<string> {
    if (this.stuck && stream.endsWith('signals')) await new Promise<void>((r) => this.#held.push(r));
    return super.xadd(stream, fields, options);
  }

  unstick(): void {
    this.stuck = false;
    for (const release of this.#held.splice(0)) release();
  }
}

const STALL_MS = 500;

describe('engine readiness', () => {
  it('reports rings not ready while the signal publisher is stuck, and ready again once it moves', async () => {
    const log = createLogger({ name: 'readiness-test', level: 'silent' });
    const config = loadEngineConfig({
      ENGINE_FEED: 'synthetic',
      ENGINE_SYMBOLS: '16',
      ENGINE_SHARDS: '1',
      ENGINE_WORKERS: '1',
      ENGINE_TICK_RATE: '20000',
      ENGINE_SIGNAL_MIN_SCORE: '0',
      ENGINE_EXECUTION_PROVIDER: 'cpu',
      ENGINE_READY_MAX_RING_STALL_MS: String(STALL_MS),
      LOG_LEVEL: 'silent',
    });
    const bus = new StuckAppendBus();
    const engine = await startEngine({ config, bus, log });
    const http = await startHttpServer({ engine, host: '127.0.0.1', port: 0, log });
    const ready = async () => {
      const res = await fetch(`http://127.0.0.1:${http.port}/health/ready`);
      return { status: res.status, body: (await res.json()) as { checks: Record<string, boolean> } };
    };
    try {
      await until('signals flowing', () => engine.stats().signals.signalsOut > 0, 30_000);
      await until('ready', async () => (await ready()).status === 200, 10_000);
      expect(engine.readiness().rings).toBe(true);

      bus.stuck = true;
      await until('not ready', async () => (await ready()).status === 503, 10_000);
      const { body } = await ready();
      expect(body.checks.rings).toBe(false);
      // Everything else still passes: only the ring check saw the fault.
      expect(body.checks).toMatchObject({
        inference: true,
        writer: true,
        db: true,
        bus: true,
        accepting: true,
      });
      expect(engine.stats().scoredRing.readable(0)).toBeGreaterThan(0);

      bus.unstick();
      await until('ready again', async () => (await ready()).status === 200, 10_000);
      expect(engine.readiness().rings).toBe(true);
    } finally {
      bus.unstick();
      await http.close();
      await engine.stop();
      await bus.close();
    }
  });
});
