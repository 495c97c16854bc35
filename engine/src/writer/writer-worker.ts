/**
 * The writer thread: owns its PostgreSQL connection and the writer cursor of every tick ring.
 * A thread of its own because the feeds on the main thread may block (Atomics.wait) on a full
 * ring under the `block` policy — the consumer that frees the ring must not share their thread.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@aegis/shared/logging';
import postgres from 'postgres';
import { z } from 'zod';
import { FeatureState } from '../features/state.ts';
import { SymbolNamesReader } from '../feeds/symbol-table.ts';
import { RingBuffer } from '../ring/ring-buffer.ts';
import { TimescaleWriter, WRITER_STAT } from './timescale-writer.ts';
import type { MainToWriter, WriterToMain } from './writer-messages.ts';

const startupSchema = z.object({
  databaseUrl: z.string().min(1),
  tickRings: z.array(z.instanceof(SharedArrayBuffer)).min(1),
  symbolNamesSab: z.instanceof(SharedArrayBuffer),
  consumer: z.number().int().min(0),
  featureStateSab: z.instanceof(SharedArrayBuffer).nullable(),
  featureSampleMs: z.number().int().min(0),
  flushMs: z.number().int().min(1),
  batchRows: z.number().int().min(1),
  stats: z.instanceof(SharedArrayBuffer),
  logLevel: z.string(),
});

if (!parentPort) throw new Error('writer-worker must run in a worker thread');
const port: MessagePort = parentPort;
const send = (m: WriterToMain) => port.postMessage(m);

const s = startupSchema.parse(workerData);
const log = createLogger({ name: 'engine-writer', level: s.logLevel });
const stats = new Float64Array(s.stats);
const sql = postgres(s.databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
const writer = new TimescaleWriter({
  sql,
  tickRings: s.tickRings.map((b) => RingBuffer.attach(b)),
  consumer: s.consumer,
  symbolNames: new SymbolNamesReader(s.symbolNamesSab),
  ...(s.featureStateSab ? { featureState: FeatureState.attach(s.featureStateSab) } : {}),
  featureSampleMs: s.featureSampleMs,
  stats,
  log,
});

let stopDeadline = 0;
let wake: (() => void) | null = null;
port.on('message', (m: MainToWriter) => {
  if (m.type === 'checkpoint') {
    writer.offer(m.checkpoint);
    if (writer.backlog() >= s.batchRows) wake?.();
  } else if (m.type === 'stop') {
    stopDeadline = Date.now() + m.deadlineMs;
    wake?.();
  }
});

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      wake = null;
      resolve();
    }, ms);
    wake = () => {
      clearTimeout(t);
      wake = null;
      resolve();
    };
  });

let lastErrorLog = 0;
async function main(): Promise<void> {
  try {
    await sql`select 1 from engine_cursors limit 0`;
  } catch (err) {
    send({ type: 'fatal', code: 'DB_UNAVAILABLE', message: (err as Error).message });
    await sql.end({ timeout: 1 }).catch(() => {});
    port.close();
    return;
  }
  send({ type: 'ready' });
  let backoff = 0;
  for (;;) {
    const stopping = stopDeadline !== 0;
    if (!writer.hasWork()) {
      if (stopping) break;
      await sleep(s.flushMs);
      continue;
    }
    if (stopping && Date.now() > stopDeadline) break;
    try {
      const r = await writer.flush();
      backoff = 0;
      if (r.checkpoint) send({ type: 'committed', checkpointId: r.checkpoint.id, rows: r.rows });
    } catch (err) {
      backoff = Math.min(5000, backoff === 0 ? 100 : backoff * 2);
      if (Date.now() - lastErrorLog > 10_000) {
        lastErrorLog = Date.now();
        log.error(
          { err: (err as Error).message, backlog: writer.backlog(), retryInMs: backoff },
          'writer: flush failed; retrying',
        );
      }
      await sleep(stopping ? Math.min(backoff, Math.max(0, stopDeadline - Date.now())) : backoff);
      continue;
    }
    // Small backlog: let a batch accumulate (bounded by flushMs); a big one flushes at once.
    if (stopDeadline === 0 && writer.backlog() < s.batchRows) await sleep(s.flushMs);
  }
  const lost = writer.backlog();
  stats[WRITER_STAT.ticksLost] = lost;
  if (lost > 0) log.error({ lost }, 'writer: stopped with ticks not persisted (database unreachable)');
  await sql.end({ timeout: 5 }).catch(() => {});
  send({ type: 'stopped', lost });
  // The message listener would keep this thread alive: close the port so it exits.
  port.close();
}

await main();
