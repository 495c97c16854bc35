/**
 * The writer thread: owns its PostgreSQL connection and the writer cursor of every tick ring.
 * A thread of its own because the feeds on the main thread may block (Atomics.wait) on a full
 * ring under the `block` policy — the consumer that frees the ring must not share their thread.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { isDeadlineExceeded, withDeadline } from '@aegis/shared/deadline';
import { createLogger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import { z } from 'zod';
import { OwnedConnection, ownConnection } from '../db/owned-connection.ts';
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
  tokenName: z.string().min(1),
  flushTimeoutMs: z.number().int().min(100),
  dbTimeoutMs: z.number().int().min(100),
});

if (!parentPort) throw new Error('writer-worker must run in a worker thread');
const port: MessagePort = parentPort;
const send = (m: WriterToMain) => port.postMessage(m);

const s = startupSchema.parse(workerData);
const log = createLogger({ name: 'engine-writer', level: s.logLevel });
const stats = new Float64Array(s.stats);
/** Names this writer's backend in pg_stat_activity (and lets it end a backend it left behind). */
const applicationName = `aegis-writer:${s.tokenName}`.slice(0, 63);

/**
 * One connection, every server-side timeout set (shared/src/db/client.ts); statement_timeout
 * is the flush deadline, so the server gives up on a stuck COPY about when this thread does.
 */
const db = new OwnedConnection({
  connect: () =>
    ownConnection(s.databaseUrl, {
      applicationName,
      dbTimeoutMs: s.dbTimeoutMs,
      statementTimeoutMs: s.flushTimeoutMs,
      idleInTransactionTimeoutMs: s.flushTimeoutMs * 2,
    }),
});
let sql = db.open() as Sql;
const writer = new TimescaleWriter({
  sql,
  tickRings: s.tickRings.map((b) => RingBuffer.attach(b)),
  consumer: s.consumer,
  symbolNames: new SymbolNamesReader(s.symbolNamesSab),
  ...(s.featureStateSab ? { featureState: FeatureState.attach(s.featureStateSab) } : {}),
  featureSampleMs: s.featureSampleMs,
  stats,
  log,
  tokenName: s.tokenName,
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

/** Drops the current connection at once (sockets destroyed) and opens a fresh one. */
function replaceConnection(): void {
  writer.abandonInFlight();
  sql = db.replace() as Sql;
  writer.useConnection(sql);
  // This thread's own stats buffer (writer-thread.ts makes one per thread): the count is the total.
  stats[WRITER_STAT.reconnects] = db.replacements;
}

/** Time left for one database step: the flush deadline, or less when stopping. */
const budget = () =>
  stopDeadline === 0 ? s.flushTimeoutMs : Math.min(s.flushTimeoutMs, stopDeadline - Date.now());

/**
 * Settles a flush whose commit outcome is unknown: ends the backend that ran it if it is still
 * there (a stalled server that woke up, a half-open socket), then reads its token back.
 */
async function resolveInDoubt(): Promise<void> {
  const pending = writer.inDoubt();
  if (!pending) return;
  if (pending.pid !== null) {
    await withDeadline(
      sql`select pg_terminate_backend(pid) from pg_stat_activity
          where pid = ${pending.pid} and application_name = ${applicationName} and pid <> pg_backend_pid()`,
      budget(),
      'end the previous backend',
    );
  }
  const r = await withDeadline(writer.resolveInDoubt(), budget(), 'read the flush token');
  if (!r) return;
  log.info({ outcome: r.outcome, rows: r.rows }, 'writer: flush in doubt resolved');
  if (r.checkpoint) send({ type: 'committed', checkpointId: r.checkpoint.id, rows: r.rows });
}

let lastErrorLog = 0;
let failingSince = 0;
async function main(): Promise<void> {
  try {
    await withDeadline(sql`select 1 from engine_cursors limit 0`, s.dbTimeoutMs, 'startup check');
  } catch (err) {
    send({ type: 'fatal', code: 'DB_UNAVAILABLE', message: (err as Error).message });
    await sql.end({ timeout: 0 }).catch(() => {});
    port.close();
    return;
  }
  stats[WRITER_STAT.dbConnected] = 1;
  send({ type: 'ready' });
  let backoff = 0;
  for (;;) {
    const stopping = stopDeadline !== 0;
    if (stopping && Date.now() >= stopDeadline) break;
    try {
      await resolveInDoubt();
      if (!writer.hasWork()) {
        if (stopping) break;
        await sleep(s.flushMs);
        continue;
      }
      const r = await withDeadline(writer.flush(), budget(), 'flush');
      if (r.checkpoint) send({ type: 'committed', checkpointId: r.checkpoint.id, rows: r.rows });
      if (failingSince !== 0) {
        log.info(
          { outageMs: Date.now() - failingSince },
          'writer: database reachable again; writing resumed',
        );
        failingSince = 0;
      }
      stats[WRITER_STAT.dbConnected] = 1;
      backoff = 0;
    } catch (err) {
      stats[WRITER_STAT.dbConnected] = 0;
      if (isDeadlineExceeded(err)) stats[WRITER_STAT.flushTimeouts]! += 1;
      failingSince ||= Date.now();
      // Whatever failed, the next try starts on a fresh connection: a connection that saw a
      // deadline may still be mid-protocol, and one the server restarted under is dead anyway.
      replaceConnection();
      backoff = Math.min(1000, backoff === 0 ? 50 : backoff * 2);
      if (Date.now() - lastErrorLog > 10_000) {
        lastErrorLog = Date.now();
        log.error(
          {
            err: (err as Error).message,
            code: (err as { code?: string }).code,
            backlog: writer.backlog(),
            inDoubt: writer.inDoubt()?.rows ?? 0,
            retryInMs: backoff,
          },
          'writer: flush failed; reconnecting and retrying',
        );
      }
      await sleep(stopping ? Math.min(backoff, Math.max(0, stopDeadline - Date.now())) : backoff);
    }
    // Small backlog: let a batch accumulate (bounded by flushMs); a big one flushes at once.
    if (stopDeadline === 0 && writer.hasWork() && writer.backlog() < s.batchRows) await sleep(s.flushMs);
  }
  const lost = writer.backlog();
  const inDoubt = writer.inDoubt()?.rows ?? 0;
  stats[WRITER_STAT.ticksLost] = lost;
  if (lost > 0)
    log.error(
      { lost, inDoubt },
      'writer: stopped with ticks not persisted (database unreachable until the deadline)',
    );
  await withDeadline(sql.end({ timeout: 0 }), 250, 'close').catch(() => {});
  send({ type: 'stopped', lost, inDoubt });
  // The message listener would keep this thread alive: close the port so it exits.
  port.close();
}

await main();
