import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { connectSql } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SymbolTable } from '../../src/feeds/symbol-table.ts';
import { PATTERN, SCORED, usHi, usLo } from '../../src/ring/layout.ts';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';
import { SignalPublisher } from '../../src/signals/signal-publisher.ts';
import { type StallProxy, startStallProxy } from '../support/stall-proxy.ts';
import { until } from '../support/wait.ts';

/**
 * The signal publisher against a database connection that goes silent (a stalled host, a
 * half-open socket after a restart): the insert must not wait forever. Before the insert had a
 * deadline, one such connection held every later signal of the engine (engine/tests/integration/
 * writer-recovery.test.ts saw the scored ring stalled after PostgreSQL thawed).
 */
const log = createLogger({ name: 'signal-publisher-test', level: 'silent' });
const DEADLINE_MS = 500;

let db: MigratedTestDatabase;
let owner: Sql;
let proxy: StallProxy;

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  owner = postgres(db.url, { max: 1, onnotice: () => {} });
  const target = new URL(db.appUrl);
  proxy = await startStallProxy({ host: target.hostname, port: Number(target.port || 5432) });
});
afterAll(async () => {
  await proxy?.close();
  await owner?.end({ timeout: 1 });
  await db?.drop();
});

/** Puts one scored record above the threshold into the ring and publishes it. */
function pushSignal(ring: RingBuffer, symbolId: number, price: number): void {
  const seq = ring.claim(1, 1000);
  const b32 = ring.base32(seq);
  const b64 = ring.base64(seq);
  const b8 = ring.base8(seq);
  const now = Date.now() * 1000;
  ring.u32[b32 + SCORED.u32.symbolId] = symbolId;
  ring.u32[b32 + SCORED.u32.tsEventHi] = usHi(now);
  ring.u32[b32 + SCORED.u32.tsEventLo] = usLo(now);
  ring.u32[b32 + SCORED.u32.tsSignalHi] = usHi(now + 50);
  ring.u32[b32 + SCORED.u32.tsSignalLo] = usLo(now + 50);
  ring.f32[b32 + SCORED.f32.score] = 0.9;
  ring.u8[b8 + SCORED.u8.pattern] = PATTERN.breakout;
  ring.i8[b8 + SCORED.i8.direction] = 1;
  ring.f64[b64 + SCORED.f64.price] = price;
  ring.publish((seq + 1) >>> 0);
}

describe('signal publisher on a connection that goes silent', () => {
  it('gives up on the insert at its deadline, retries on a fresh connection, and stores every signal once', async () => {
    const viaProxy = new URL(db.appUrl);
    viaProxy.port = String(proxy.port);
    const ring = RingBuffer.create({ capacity: 64, recordBytes: SCORED.bytes, consumers: 1 });
    const symbols = new SymbolTable({ capacity: 4, shards: 1 });
    const symbolId = symbols.intern('ACME');
    const bus = new MemoryBus();
    const publisher = new SignalPublisher({
      scoredRing: ring,
      consumer: 0,
      symbolTable: symbols,
      bus,
      stream: 'test:signals',
      maxLen: 1000,
      minScore: 0.5,
      modelVersion: 'test',
      connect: () =>
        connectSql(viaProxy.toString(), { max: 1, connectTimeout: 1, applicationName: 'signals-test' }),
      dbTimeoutMs: DEADLINE_MS,
      log,
    });
    publisher.start();
    try {
      pushSignal(ring, symbolId, 100);
      await until('the first signal stored', () => publisher.signalsOut === 1, 10_000);
      const connectionsBefore = proxy.connections;

      // The publisher's connection goes silent for good; the next insert cannot get an answer on it.
      proxy.stallOpen();
      pushSignal(ring, symbolId, 101);
      await until('the second signal stored', () => publisher.signalsOut === 2, 10_000);

      expect(publisher.persistTimeouts).toBeGreaterThanOrEqual(1);
      expect(proxy.connections).toBeGreaterThan(connectionsBefore);
      expect(publisher.backlog()).toBe(0);
    } finally {
      await publisher.stop();
    }
    const rows = await owner<{ price: string }[]>`select price::text from signals order by ts`;
    expect(rows.map((r) => Number(r.price))).toEqual([100, 101]);
    expect(await bus.xlen('test:signals')).toBe(2);
  });
});
