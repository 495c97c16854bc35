import type { Bus, StreamEntry } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import { type Feed, sleep } from '../feeds/feed.ts';
import type { MalformedRecords } from '../feeds/malformed.ts';
import { decodeOrderflowEntry } from '../feeds/orderflow-stream.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import type { TickRecord, TickSink } from '../feeds/tick.ts';
import { shardCursorName, shardPosition } from './shard-lease-store.ts';

/** One owned shard: its stream, the lease token it is read under, and how far it got. */
interface ShardReader {
  readonly shard: number;
  readonly stream: string;
  readonly token: number;
  /** Stream id of the last entry handed to the sink (ticks up to it are in the rings). */
  after: string;
  /** Stream id of the last entry the writer committed (with this reader's token). */
  committed: string;
  /** Set during a handover: nothing more is read. */
  paused: boolean;
  events: number;
}

export interface ShardFeedStats {
  readonly shard: number;
  readonly stream: string;
  readonly token: number;
  readonly events: number;
  readonly after: string;
  readonly committed: string;
}

/**
 * The order-flow feed of a sharded cluster: reads the streams `<prefix>orderflow:<k>` of the
 * shards this engine holds a lease on (shard-coordinator.ts adds and removes them), each from its
 * committed cursor with plain XREAD — no consumer group: the lease says who reads, the cursor in
 * PostgreSQL says from where, and nothing is acknowledged in Redis.
 *
 * Positions: one engine_cursors row per shard, `feed:orderflow:<stream>` =
 * `<fencing token>/<last stream id>`. The writer upserts them in the transaction that persists
 * the ticks they cover; the cursor fence (drizzle/0022) refuses a changed position whose token is
 * no longer the lease's, so a stale owner's whole flush — ticks included — fails.
 *
 * One reader loop for every owned shard, in turn, keeps each shard's entries (and so each
 * symbol's) in stream order. Reads do not block: a round that finds nothing sleeps `idleMs`.
 */
export class ShardedOrderflowFeed implements Feed {
  readonly name = 'orderflow';
  readonly #bus: Bus;
  readonly #symbolTable: SymbolTable;
  readonly #malformed: MalformedRecords;
  readonly #log: Logger;
  readonly #t: TickRecord;
  readonly #count: number;
  readonly #idleMs: number;
  /** Whether this engine may still act on a shard (its lease is held locally). */
  readonly #held: (shard: number) => boolean;
  readonly #readers = new Map<number, ShardReader>();
  #stopped = false;
  #ticksIn = 0;
  #dropped = 0;
  #wake: (() => void) | null = null;

  constructor(
    options: {
      bus: Bus;
      symbolTable: SymbolTable;
      malformed: MalformedRecords;
      log: Logger;
      held: (shard: number) => boolean;
      count?: number;
      idleMs?: number;
    },
    scratch: TickRecord,
  ) {
    this.#bus = options.bus;
    this.#symbolTable = options.symbolTable;
    this.#malformed = options.malformed;
    this.#log = options.log;
    this.#held = options.held;
    this.#count = options.count ?? 1000;
    this.#idleMs = options.idleMs ?? 20;
    this.#t = scratch;
  }

  get ticksIn(): number {
    return this.#ticksIn;
  }
  get ticksDropped(): number {
    return this.#dropped;
  }

  /** Per-shard positions come from cursorPositions(); this feed has no single one. */
  position(): string | null {
    return null;
  }

  async commit(): Promise<void> {}

  /** Every owned shard's position, by cursor name (what a checkpoint records). */
  cursorPositions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of this.#readers.values()) out[shardCursorName(r.stream)] = shardPosition(r.token, r.after);
    return out;
  }

  /** The writer committed these positions: those carrying a reader's own token move its cursor. */
  commitPositions(positions: Readonly<Record<string, string>>): void {
    for (const r of this.#readers.values()) {
      const p = positions[shardCursorName(r.stream)];
      const prefix = `${r.token}/`;
      if (p?.startsWith(prefix)) r.committed = p.slice(prefix.length);
    }
  }

  /** Starts reading a shard after `fromId` (its committed cursor) under lease token `token`. */
  add(shard: number, stream: string, token: number, fromId: string): void {
    this.#readers.set(shard, {
      shard,
      stream,
      token,
      after: fromId,
      committed: fromId,
      paused: false,
      events: 0,
    });
    this.#wake?.();
  }

  /** Stops reading a shard (a handover begins); what was read stays to be committed. */
  pause(shard: number): void {
    const r = this.#readers.get(shard);
    if (r) r.paused = true;
  }

  resume(shard: number): void {
    const r = this.#readers.get(shard);
    if (r) r.paused = false;
    this.#wake?.();
  }

  /** True once everything read from the shard is committed. */
  settled(shard: number): boolean {
    const r = this.#readers.get(shard);
    return !r || r.committed === r.after;
  }

  /** Forgets a shard (after its lease is handed over or lost). */
  remove(shard: number): void {
    this.#readers.delete(shard);
  }

  /** The shards being read, in shard order (readers are added as their leases arrive). */
  shards(): ShardFeedStats[] {
    return [...this.#readers.values()]
      .sort((a, b) => a.shard - b.shard)
      .map((r) => ({
        shard: r.shard,
        stream: r.stream,
        token: r.token,
        events: r.events,
        after: r.after,
        committed: r.committed,
      }));
  }

  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  async run(sink: TickSink): Promise<void> {
    while (!this.#stopped) {
      let read = 0;
      for (const r of [...this.#readers.values()]) {
        if (this.#stopped) break;
        if (r.paused || !this.#held(r.shard)) continue;
        let entries: StreamEntry[];
        try {
          entries = await this.#bus.read(r.stream, r.after, { count: this.#count });
        } catch (err) {
          this.#log.warn({ err: (err as Error).message, stream: r.stream }, 'orderflow shard: read failed');
          await sleep(500);
          continue;
        }
        // The shard may have been handed over, lost or paused while the read was in flight; and
        // a process paused for longer than its lease must not act on what it read before.
        if (entries.length === 0 || this.#readers.get(r.shard) !== r || r.paused || !this.#held(r.shard))
          continue;
        this.#process(r, entries, sink);
        read += entries.length;
        await sink.backpressure?.();
      }
      if (read === 0 && !this.#stopped) await this.#idle();
    }
  }

  #process(r: ShardReader, entries: readonly StreamEntry[], sink: TickSink): void {
    const t = this.#t;
    for (const e of entries) {
      const bad = decodeOrderflowEntry(e.fields, t, this.#symbolTable);
      if (bad === null) {
        if (sink.publish(t)) this.#ticksIn++;
        else this.#dropped++;
      } else if (bad !== 'skip') {
        this.#malformed.record(`orderflow:${r.stream}`, bad, `entry ${e.id}`);
      }
      r.after = e.id;
      r.events++;
    }
    sink.flush?.();
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#idleMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }
}
