// One file over 400 lines: TimescaleWriter is one class whose tick and feature paths share one
// transaction, one cursor save and one set of WRITER_STAT counters.
import type { Logger } from '@aegis/shared/logging';
import type { Sql, TransactionSql } from 'postgres';
import { F, type FeatureState } from '../features/state.ts';
import type { SymbolNamesReader } from '../feeds/symbol-table.ts';
import type { RingBuffer } from '../ring/ring-buffer.ts';
import { COPY_REJECTED, copyIn } from './copy-stream.ts';
import { float8, timestampText } from './copy-text.ts';
import { saveCursors } from './cursor-store.ts';
import { copyWrites, TICK_COLUMNS, TickCopyEncoder } from './tick-copy.ts';

/**
 * Persists ticks (every one) and features (sampled per symbol) to PostgreSQL/TimescaleDB with
 * COPY, as one more consumer of each shard's TICK ring (its own cursor, `consumer`).
 *
 * Exactly-once with durable positions: the engine's main thread — the single producer, which
 * runs the feeds — sends a checkpoint after each feed batch: the rings' published heads and
 * every feed's position at that moment (feeds flush to the rings before they yield, so the two
 * agree). A flush persists the ring ranges [writer cursor, checkpoint head) AND upserts the
 * checkpoint's positions in ONE transaction, then advances the writer cursors. After kill -9 a
 * restart resumes each feed at the last committed position: ticks after it were not persisted,
 * ticks before it were, once.
 *
 * Bounded batches: a flush covers at most the rings' capacity (the producer cannot run further
 * ahead of this consumer); flushes happen every `flushMs` or as soon as `batchRows` ticks wait.
 * Overload escape: if a ring is 3/4 full with no newer checkpoint, ticks up to the head are
 * persisted without a position (at-least-once for those, never a deadlock with a blocked feed).
 *
 * Commits whose outcome is unknown: a connection that dies or stalls during COMMIT
 * leaves the writer not knowing whether the rows landed. Each flush therefore also upserts a
 * flush token (`<tokenName>` = `<process instance>:<attempt>`) in the same transaction; until
 * `resolveInDoubt()` has read that row back on a fresh connection, the attempt stays "in doubt"
 * and nothing is written again. Token present: the attempt committed, the cursors advance
 * without rewriting. Absent: it rolled back, the same ranges are retried. Hence exactly once
 * across PostgreSQL restarts, not only across engine restarts.
 *
 * Over 400 lines on purpose: the exactly-once protocol (checkpoints, flush tokens, commits in
 * doubt) is one state machine over one connection.
 */
export interface WriterCheckpoint {
  readonly id: number;
  /** Published head (u32 sequence) per ring at the checkpoint. */
  readonly heads: readonly number[];
  /** Durable positions (cursor name -> position) the ticks up to `heads` complete. */
  readonly positions: Readonly<Record<string, string>>;
  /** Wall time of the checkpoint, µs (stored as ts_ingest: an upper bound of ingest time). */
  readonly tsIngestUs: number;
}

/** Float64 words of the writer's shared stats (the writer thread writes, /metrics reads). */
export const WRITER_STAT = {
  ticksPersisted: 0,
  featuresPersisted: 1,
  flushes: 2,
  flushErrors: 3,
  lastFlushRows: 4,
  lastFlushMs: 5,
  /** Checkpoint id of the last commit. */
  committedCheckpoint: 6,
  /** Wall time (ms since epoch) of the last committed checkpoint. */
  committedAtMs: 7,
  /** Ticks left unpersisted at shutdown (database unreachable until the deadline). */
  ticksLost: 8,
  /** Ticks persisted without a durable position (overload escape). */
  ticksWithoutPosition: 9,
  /** 1 while the last database round trip succeeded, 0 after a failure (readiness). */
  dbConnected: 10,
  /** Rows of a flush whose commit outcome is unknown (connection lost during COMMIT). */
  ticksInDoubt: 11,
  /** Flushes abandoned at their deadline (the connection was dropped). */
  flushTimeouts: 12,
  /** Times the writer replaced its connection. */
  reconnects: 13,
  /**
   * Ticks refused because the table already held them (key symbol, ts, seq: the same file
   * replayed twice, two engines on one feed). Counted in ticksPersisted too: they are stored.
   */
  ticksDuplicate: 14,
  WORDS: 16,
} as const;

export interface TimescaleWriterOptions {
  /** The writer's connection (max 1); replaced with useConnection() after a failure. */
  readonly sql: Sql;
  readonly tickRings: readonly RingBuffer[];
  readonly consumer: number;
  /** id -> symbol name, from the symbol table's shared memory (grows as feeds intern symbols). */
  readonly symbolNames: SymbolNamesReader;
  readonly featureState?: FeatureState;
  /** Minimum ms between two feature rows of a symbol; 0 disables features. */
  readonly featureSampleMs: number;
  readonly stats: Float64Array;
  readonly log: Logger;
  /** engine_cursors row holding the last flush token of this writer (one per engine consumer). */
  readonly tokenName: string;
  /** SET LOCAL synchronous_commit = off in flush transactions (see flush()). Default false. */
  readonly asyncCommit?: boolean;
}

/** A flush sent to PostgreSQL whose effects are applied only once its commit is known. */
interface FlushAttempt {
  readonly token: string;
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly rows: number;
  readonly features: number;
  readonly overloaded: boolean;
  readonly checkpoint: WriterCheckpoint | null;
  readonly t0: number;
  /** Backend pid of the connection that ran it (to end it if it outlives its client). */
  pid: number | null;
  /** Set when the caller gave up on it (deadline): a late success must not apply it twice. */
  abandoned: boolean;
  /** Ticks of the batch the table already held (refused by the tick key). */
  duplicates: number;
}

const CHUNK_ROWS = 2048;
const TICK_COPY = `COPY ticks (${TICK_COLUMNS}) FROM STDIN (FORMAT binary)`;
/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';
const FEATURE_COLUMNS =
  'ts, symbol, ema_fast, ema_slow, vwap, realized_vol, order_flow_imbalance, micro_price, spread_z, momentum';

export class TimescaleWriter {
  readonly #o: TimescaleWriterOptions;
  #latest: WriterCheckpoint | null = null;
  /** Positions of the last committed checkpoint (JSON), to spot position-only progress. */
  #committedPositions = '{}';
  /** Per symbol: event time of the last feature row written, and the wall time it was written. */
  #featureTs = new Float64Array(0);
  #featureWallMs = new Float64Array(0);
  /** Random per process: a token never matches one written by an earlier engine process. */
  readonly #instance = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  #attempts = 0;
  #inDoubt: FlushAttempt | null = null;
  #sql: Sql;
  /** Binary COPY encoder; its buffer is reused by every flush (no allocation per tick). */
  readonly #ticks: TickCopyEncoder;

  constructor(options: TimescaleWriterOptions) {
    this.#o = options;
    this.#sql = options.sql;
    this.#ticks = new TickCopyEncoder(options.symbolNames);
  }

  /** Switches to a new connection (the previous one was dropped after a failure or a deadline). */
  useConnection(sql: Sql): void {
    this.#sql = sql;
  }

  /** The attempt whose commit outcome is unknown, if any (its backend pid, its rows). */
  inDoubt(): { readonly pid: number | null; readonly rows: number } | null {
    return this.#inDoubt;
  }

  /** The caller stopped waiting for the flush in flight (its deadline passed). */
  abandonInFlight(): void {
    if (this.#inDoubt) this.#inDoubt.abandoned = true;
  }

  /**
   * Learns whether the in-doubt attempt committed, on a connection that did not run it: its
   * token row is read FOR UPDATE, so a transaction still holding that row (its COMMIT not yet
   * processed) is waited for, bounded by the connection's lock timeout. Applies the attempt when
   * it committed, forgets it when it did not. Returns the outcome (null: nothing was in doubt).
   */
  async resolveInDoubt(): Promise<{
    outcome: 'committed' | 'rolled_back';
    rows: number;
    checkpoint: WriterCheckpoint | null;
  } | null> {
    const a = this.#inDoubt;
    if (!a) return null;
    const sql = this.#sql;
    const rows = await sql.begin(
      (tx) => tx<{ position: string }[]>`
        select position from engine_cursors where name = ${this.#o.tokenName} for update`,
    );
    if (this.#inDoubt !== a) return null; // resolved meanwhile by its own late reply
    this.#inDoubt = null;
    this.#o.stats[WRITER_STAT.ticksInDoubt] = 0;
    if (rows[0]?.position === a.token) {
      this.#apply(a);
      return { outcome: 'committed', rows: a.rows, checkpoint: a.checkpoint };
    }
    this.#unsample();
    return { outcome: 'rolled_back', rows: a.rows, checkpoint: null };
  }

  /** Newer checkpoints supersede older ones: a flush always goes to the latest. */
  offer(cp: WriterCheckpoint): void {
    if (!this.#latest || cp.id > this.#latest.id) this.#latest = cp;
  }

  /** Ticks waiting for this consumer across rings. */
  backlog(): number {
    let n = 0;
    for (const r of this.#o.tickRings) n += r.readable(this.#o.consumer);
    return n;
  }

  /** True when the latest checkpoint covers ticks not yet persisted. */
  hasWork(): boolean {
    const cp = this.#latest;
    if (!cp) return this.#overloaded();
    // Positions can move without ticks (an order-flow entry that was malformed or carried no
    // tick): they must still become durable, or the entries are never acknowledged.
    if (JSON.stringify(cp.positions) !== this.#committedPositions) return true;
    return (
      this.#o.tickRings.some((r, i) => ((cp.heads[i] as number) - r.cursor(this.#o.consumer)) >>> 0 !== 0) ||
      this.#overloaded()
    );
  }

  /**
   * One transaction: COPY the ticks up to the latest checkpoint (or up to the heads in overload),
   * COPY sampled features, upsert the positions, commit, then advance the ring cursors.
   * Returns the number of ticks persisted and the checkpoint committed (null: none).
   */
  async flush(): Promise<{ rows: number; checkpoint: WriterCheckpoint | null }> {
    const { tickRings, consumer, stats } = this.#o;
    if (this.#inDoubt) throw new Error('writer: a flush is in doubt; resolveInDoubt() first');
    const cp = this.#latest;
    const overloaded = this.#overloaded();
    const ends = tickRings.map((r, i) => {
      if (overloaded) return r.head();
      return cp ? (cp.heads[i] as number) >>> 0 : r.cursor(consumer);
    });
    const starts = tickRings.map((r) => r.cursor(consumer));
    let rows = 0;
    for (let i = 0; i < ends.length; i++) {
      const n = ((ends[i] as number) - (starts[i] as number)) >>> 0;
      // A checkpoint behind the cursor (already persisted by an overload flush): nothing to do.
      if (n > (tickRings[i] as RingBuffer).capacity) ends[i] = starts[i] as number;
      else rows += n;
    }
    const positions = !overloaded && cp ? cp.positions : {};
    const tsIngestUs = cp?.tsIngestUs ?? Date.now() * 1000;
    const features = this.#sampleFeatures();
    if (rows === 0 && features.length === 0 && Object.keys(positions).length === 0) {
      return { rows: 0, checkpoint: null };
    }
    const attempt: FlushAttempt = {
      token: `${this.#instance}:${++this.#attempts}`,
      starts,
      ends,
      rows,
      features: features.length,
      overloaded,
      checkpoint: overloaded ? null : cp,
      t0: performance.now(),
      pid: null,
      abandoned: false,
      duplicates: 0,
    };
    // In doubt from the moment the transaction may reach COMMIT until its reply is in.
    this.#inDoubt = attempt;
    stats[WRITER_STAT.ticksInDoubt] = rows;
    try {
      await this.#sql.begin(async (tx) => {
        const [me] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        // Opt-in, tick path only (docs/tick-storage.md): COMMIT returns before the WAL is on
        // disk. Off by default because it weakens this writer's exactly-once promise: a
        // PostgreSQL crash (not a clean restart) can drop the last ~3 × wal_writer_delay of
        // commits the writer already counted, so the rows of those flushes are missing until the
        // feeds replay them. Never for orders, fills or cash.
        if (this.#o.asyncCommit) await tx`select set_config('synchronous_commit', 'off', true)`;
        attempt.pid = me?.pid ?? null;
        if (rows > 0) {
          attempt.duplicates = await this.#copyTicks(tx, starts, ends, tsIngestUs, rows);
        }
        if (features.length > 0) {
          await copyIn(tx, `COPY features (${FEATURE_COLUMNS}) FROM STDIN`, chunked(features));
        }
        await saveCursors(tx, { ...positions, [this.#o.tokenName]: attempt.token });
      });
    } catch (err) {
      stats[WRITER_STAT.flushErrors]! += 1;
      // Still in doubt (unless abandoned and resolved already): an error from COMMIT itself
      // does not say whether the commit happened; resolveInDoubt() finds out.
      throw err;
    }
    if (attempt.abandoned || this.#inDoubt !== attempt) {
      // The caller gave up on this flush and will resolve it by reading the token back.
      return { rows: 0, checkpoint: null };
    }
    this.#inDoubt = null;
    stats[WRITER_STAT.ticksInDoubt] = 0;
    this.#apply(attempt);
    return { rows, checkpoint: attempt.checkpoint };
  }

  /**
   * COPY the ticks straight into `ticks` (the fast path: one pass, no staging) under a
   * savepoint. If the table already holds one of them (unique key symbol, ts, seq; 23505), the
   * batch goes again through a temporary table and INSERT … ON CONFLICT DO NOTHING, which keeps
   * the new ticks and refuses the known ones. Returns the number refused.
   */
  async #copyTicks(
    tx: TransactionSql,
    starts: number[],
    ends: number[],
    tsIngestUs: number,
    rows: number,
  ): Promise<number> {
    try {
      await tx.savepoint(async (sp) => {
        await copyIn(sp, TICK_COPY, copyWrites(this.#encodeTicks(starts, ends, tsIngestUs)));
      });
      return 0;
    } catch (err) {
      // COPY_REJECTED: refused after its last byte, cause unknown. The path below either
      // stores the batch (it was a duplicate) or fails with the real error.
      const code = (err as { code?: string }).code;
      if (code !== UNIQUE_VIOLATION && code !== COPY_REJECTED) throw err;
    }
    await tx.unsafe('CREATE TEMP TABLE IF NOT EXISTS ticks_in (LIKE ticks) ON COMMIT DELETE ROWS');
    await copyIn(
      tx,
      `COPY ticks_in (${TICK_COLUMNS}) FROM STDIN (FORMAT binary)`,
      copyWrites(this.#encodeTicks(starts, ends, tsIngestUs)),
    );
    const inserted = await tx.unsafe(
      `INSERT INTO ticks (${TICK_COLUMNS}) SELECT ${TICK_COLUMNS} FROM ticks_in ON CONFLICT DO NOTHING`,
    );
    return rows - inserted.count;
  }

  /** The effects of a committed attempt: ring cursors, stats, committed positions, samples. */
  #apply(a: FlushAttempt): void {
    const { tickRings, consumer, stats } = this.#o;
    for (let i = 0; i < tickRings.length; i++)
      (tickRings[i] as RingBuffer).commit(consumer, a.ends[i] as number);
    stats[WRITER_STAT.ticksPersisted]! += a.rows;
    stats[WRITER_STAT.ticksDuplicate]! += a.duplicates;
    stats[WRITER_STAT.featuresPersisted]! += a.features;
    stats[WRITER_STAT.flushes]! += 1;
    stats[WRITER_STAT.lastFlushRows] = a.rows;
    stats[WRITER_STAT.lastFlushMs] = performance.now() - a.t0;
    if (a.overloaded) stats[WRITER_STAT.ticksWithoutPosition]! += a.rows;
    else if (a.checkpoint) {
      this.#committedPositions = JSON.stringify(a.checkpoint.positions);
      stats[WRITER_STAT.committedCheckpoint] = a.checkpoint.id;
      stats[WRITER_STAT.committedAtMs] = Date.now();
    }
    this.#commitSamples();
  }

  #overloaded(): boolean {
    const { tickRings, consumer } = this.#o;
    const cp = this.#latest;
    for (let i = 0; i < tickRings.length; i++) {
      const r = tickRings[i] as RingBuffer;
      const waiting = r.readable(consumer);
      if (waiting < (r.capacity * 3) / 4) continue;
      const covered = cp ? ((cp.heads[i] as number) - r.cursor(consumer)) >>> 0 : 0;
      if (covered > r.capacity || covered < waiting / 2) return true;
    }
    return false;
  }

  #encodeTicks(starts: readonly number[], ends: readonly number[], tsIngestUs: number): Buffer {
    return this.#ticks.encode(this.#o.tickRings, starts, ends, tsIngestUs);
  }

  // ---- feature sampling ----------------------------------------------------------------------

  #pendingSamples: number[] = [];
  #pendingTs: number[] = [];

  /** Feature rows for symbols that ticked since their last row, at most one per sample period. */
  #sampleFeatures(): string[] {
    const state = this.#o.featureState;
    const period = this.#o.featureSampleMs;
    this.#pendingSamples = [];
    this.#pendingTs = [];
    if (!state || period <= 0) return [];
    const names = this.#o.symbolNames;
    names.nameOf(Number.MAX_SAFE_INTEGER); // refresh the cached names
    const n = Math.min(names.size, state.symbols);
    if (this.#featureTs.length < n) {
      const ts = new Float64Array(n);
      ts.set(this.#featureTs);
      const wall = new Float64Array(n);
      wall.set(this.#featureWallMs);
      this.#featureTs = ts;
      this.#featureWallMs = wall;
    }
    const now = Date.now();
    const out: string[] = [];
    for (let sym = 0; sym < n; sym++) {
      const ts = state.get(sym, F.LAST_TS_US);
      if (!(ts > (this.#featureTs[sym] as number)) || now - (this.#featureWallMs[sym] as number) < period)
        continue;
      out.push(
        `${timestampText(ts)}\t${names.nameOf(sym)}\t${float8(state.get(sym, F.EMA_FAST))}\t${float8(state.get(sym, F.EMA_SLOW))}\t${float8(state.get(sym, F.VWAP))}\t${float8(state.get(sym, F.REALIZED_VOL))}\t${float8(state.get(sym, F.ORDER_FLOW_IMBALANCE))}\t${float8(state.get(sym, F.MICRO_PRICE))}\t${float8(state.get(sym, F.SPREAD_Z))}\t${float8(state.get(sym, F.MOMENTUM))}\n`,
      );
      this.#pendingSamples.push(sym);
      this.#pendingTs.push(ts);
    }
    return out;
  }

  #commitSamples(): void {
    const now = Date.now();
    for (let k = 0; k < this.#pendingSamples.length; k++) {
      const sym = this.#pendingSamples[k] as number;
      this.#featureTs[sym] = this.#pendingTs[k] as number;
      this.#featureWallMs[sym] = now;
    }
    this.#pendingSamples = [];
  }

  #unsample(): void {
    this.#pendingSamples = [];
  }
}

function* chunked(lines: readonly string[]): Generator<string> {
  for (let i = 0; i < lines.length; i += CHUNK_ROWS) yield lines.slice(i, i + CHUNK_ROWS).join('');
}
