import { Worker } from 'node:worker_threads';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import type { RingBuffer } from '../ring/ring-buffer.ts';
import { WRITER_STAT, type WriterCheckpoint } from './timescale-writer.ts';
import type { MainToWriter, WriterStartup, WriterToMain } from './writer-messages.ts';

export interface WriterThreadOptions {
  readonly databaseUrl: string;
  readonly tickRings: readonly RingBuffer[];
  readonly consumer: number;
  readonly featureStateSab: SharedArrayBuffer | null;
  readonly featureSampleMs: number;
  readonly flushMs: number;
  readonly batchRows: number;
  readonly symbolTable: SymbolTable;
  readonly logLevel: string;
  /** engine_cursors row of the flush token; one per engine consumer (`writer:<consumer>`). */
  readonly tokenName: string;
  /** A flush not answered within this is abandoned and its connection dropped. */
  readonly flushTimeoutMs: number;
  /** Connect / lock timeout of the writer's connection. */
  readonly dbTimeoutMs: number;
  /** Called (in order) once the positions of a checkpoint are durable. */
  readonly onCommitted: (positions: Readonly<Record<string, string>>) => void;
  /** An error that ended the thread (it exits next): the engine logs it, with its cause. */
  readonly onThreadError?: (err: unknown) => void;
}

export interface WriterStats {
  readonly ticksPersisted: number;
  readonly featuresPersisted: number;
  readonly flushes: number;
  readonly flushErrors: number;
  readonly lastFlushRows: number;
  readonly lastFlushMs: number;
  readonly ticksLost: number;
  readonly ticksWithoutPosition: number;
  /** Rows of a flush whose commit is unknown until the writer reads its token back. */
  readonly ticksInDoubt: number;
  /** Flushes abandoned at their deadline. */
  readonly flushTimeouts: number;
  readonly reconnects: number;
  /** Ticks refused as already stored (timescale-writer.ts WRITER_STAT.ticksDuplicate). */
  readonly ticksDuplicate: number;
  /** The writer's last database round trip succeeded. */
  readonly dbConnected: boolean;
  /** Ticks in the rings not yet persisted. */
  readonly backlog: number;
  /** Seconds since the oldest checkpoint still waiting to be committed was taken (0 = none). */
  readonly lagSeconds: number;
}

export interface WriterThreadHandle {
  readonly ready: Promise<void>;
  /** Records the rings' heads and the feeds' positions; the writer persists up to them. */
  checkpoint(positions: Readonly<Record<string, string>>): void;
  /**
   * Flushes everything checkpointed (give a last checkpoint first), then exits. Bounded: if the
   * thread has not answered `deadlineMs` + 1 s after the request it is terminated, and what it
   * held is reported as lost.
   */
  stop(deadlineMs: number): Promise<WriterStopReport>;
  stats(): WriterStats;
  readonly exited: Promise<number>;
}

export interface WriterStopReport {
  /** Ticks accepted into the rings and not known to be persisted. */
  readonly lost: number;
  /** Of those, rows of a flush whose commit was in flight at the deadline (they may be stored). */
  readonly inDoubt: number;
}

/** Grace after the writer's own deadline before its thread is terminated. */
const STOP_GRACE_MS = 1000;

/** Starts the writer thread (writer-worker.ts) over the tick rings' writer cursor. */
export function startWriterThread(o: WriterThreadOptions): WriterThreadHandle {
  const statsSab = new SharedArrayBuffer(WRITER_STAT.WORDS * 8);
  const stats = new Float64Array(statsSab);
  const startup: WriterStartup = {
    databaseUrl: o.databaseUrl,
    tickRings: o.tickRings.map((r) => r.sab),
    symbolNamesSab: o.symbolTable.namesSab,
    consumer: o.consumer,
    featureStateSab: o.featureStateSab,
    featureSampleMs: o.featureSampleMs,
    flushMs: o.flushMs,
    batchRows: o.batchRows,
    stats: statsSab,
    logLevel: o.logLevel,
    tokenName: o.tokenName,
    flushTimeoutMs: o.flushTimeoutMs,
    dbTimeoutMs: o.dbTimeoutMs,
  };
  const worker = new Worker(new URL('./writer-worker.ts', import.meta.url), {
    workerData: startup,
    name: 'aegis-writer',
  });
  let nextId = 1;
  const pending: { id: number; positions: Readonly<Record<string, string>>; atMs: number }[] = [];
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {});
  let resolveStopped: ((r: WriterStopReport) => void) | null = null;
  let lost = 0;
  let inDoubt = 0;
  let hasExited = false;

  worker.on('message', (m: WriterToMain) => {
    if (m.type === 'ready') resolveReady();
    else if (m.type === 'fatal')
      rejectReady(new AppError(ErrorCode.UNAVAILABLE, `writer: ${m.message}`, { code: m.code }));
    else if (m.type === 'committed') {
      // Checkpoints commit in order; everything up to this id is durable.
      while (pending.length > 0 && (pending[0] as { id: number }).id <= m.checkpointId) {
        const cp = pending.shift() as { positions: Readonly<Record<string, string>> };
        if (pending.length === 0 || (pending[0] as { id: number }).id > m.checkpointId)
          o.onCommitted(cp.positions);
      }
    } else if (m.type === 'stopped') {
      lost = m.lost;
      inDoubt = m.inDoubt;
      resolveStopped?.({ lost, inDoubt });
    }
  });
  const exited = new Promise<number>((resolve) => {
    worker.on('exit', (code) => {
      hasExited = true;
      rejectReady(new AppError(ErrorCode.UNAVAILABLE, `writer thread exited (${code})`));
      resolveStopped?.({
        lost: lost || backlog(),
        inDoubt: inDoubt || (stats[WRITER_STAT.ticksInDoubt] as number),
      });
      resolve(code);
    });
  });
  worker.on('error', (err) => {
    // Before ready this fails the start; after it, the thread is gone and only 'exit' follows:
    // without this the cause of a writer death would never be seen.
    o.onThreadError?.(err);
    rejectReady(err);
  });

  const backlog = () => {
    let n = 0;
    for (const r of o.tickRings) n += r.readable(o.consumer);
    return n;
  };

  return {
    ready,
    exited,
    checkpoint(positions) {
      const checkpoint: WriterCheckpoint = {
        id: nextId++,
        heads: o.tickRings.map((r) => r.head()),
        positions: { ...positions },
        tsIngestUs: Date.now() * 1000,
      };
      pending.push({ id: checkpoint.id, positions: checkpoint.positions, atMs: Date.now() });
      worker.postMessage({ type: 'checkpoint', checkpoint } satisfies MainToWriter);
    },
    stop(deadlineMs) {
      // A thread that already died cannot flush: what it left in the rings is lost.
      if (hasExited)
        return Promise.resolve({
          lost: lost || backlog(),
          inDoubt: stats[WRITER_STAT.ticksInDoubt] as number,
        });
      return new Promise((resolve) => {
        resolveStopped = resolve;
        worker.postMessage({ type: 'stop', deadlineMs } satisfies MainToWriter);
        // Backstop: a thread stuck where no deadline reaches (it should not be) still ends.
        const t = setTimeout(() => void worker.terminate(), Math.max(0, deadlineMs) + STOP_GRACE_MS);
        t.unref();
        void exited.then(() => clearTimeout(t));
      });
    },
    stats() {
      const oldest = pending[0];
      return {
        ticksPersisted: stats[WRITER_STAT.ticksPersisted] as number,
        featuresPersisted: stats[WRITER_STAT.featuresPersisted] as number,
        flushes: stats[WRITER_STAT.flushes] as number,
        flushErrors: stats[WRITER_STAT.flushErrors] as number,
        lastFlushRows: stats[WRITER_STAT.lastFlushRows] as number,
        lastFlushMs: stats[WRITER_STAT.lastFlushMs] as number,
        ticksLost: stats[WRITER_STAT.ticksLost] as number,
        ticksWithoutPosition: stats[WRITER_STAT.ticksWithoutPosition] as number,
        ticksInDoubt: stats[WRITER_STAT.ticksInDoubt] as number,
        flushTimeouts: stats[WRITER_STAT.flushTimeouts] as number,
        reconnects: stats[WRITER_STAT.reconnects] as number,
        ticksDuplicate: stats[WRITER_STAT.ticksDuplicate] as number,
        dbConnected: stats[WRITER_STAT.dbConnected] === 1,
        backlog: backlog(),
        lagSeconds: oldest && backlog() > 0 ? (Date.now() - oldest.atMs) / 1000 : 0,
      };
    },
  };
}
