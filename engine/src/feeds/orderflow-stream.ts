import type { Bus, StreamEntry } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import { type Feed, sleep } from './feed.ts';
import type { MalformedRecords } from './malformed.ts';
import type { SymbolTable } from './symbol-table.ts';
import {
  MALFORMED,
  type MalformedKind,
  optionalDecimal,
  setQuoteFields,
  type TickRecord,
  type TickSink,
  validateTick,
} from './tick.ts';
import { parseTimestampUs } from './tick-csv.ts';

/**
 * Operator-owned order flow (a market-data bridge the operator runs, a recorded tape) arrives on
 * the bus stream `aegis:orderflow`, one entry per event, flat string fields:
 *
 *   ts       ISO 8601 event time (up to µs) — required
 *   symbol   instrument symbol — required
 *   kind     trade | quote | depth — required (depth carries no tick and is skipped)
 *   seq      source sequence number (integer) — optional, default 0
 *   side     buy | sell — trades, optional (aggressor)
 *   price    decimal string — trades: required; quotes: optional (mid used when absent)
 *   size     decimal string — trades: required
 *   bid, ask, bidSize, askSize   decimal strings — quotes: bid and ask required
 *   (source, venue, id … may be present and are ignored by the engine)
 *
 * Its ticks feed the shared market pipeline — the ticks table, per-symbol features and the
 * signals every desk's agent proposes from — so an entry that carries a `tenantId` (present at
 * all, even empty) is refused: that is one desk's data, and anything a desk sends may affect only
 * that desk. The server keeps what a desk ingests in its own `orderflow_events` rows and
 * no longer publishes it here; the refusal is the defence in depth against any producer that
 * still would (counted as malformed kind `desk_flow`, logged, acknowledged, never a tick). Nor
 * does this feed ever set an execution price: the venue price publisher takes venue feeds only.
 *
 * Delivery: consumer group `engine`. At start the consumer drains ITS OWN pending entries (read
 * before a crash, never acknowledged), then reads new ones, and periodically auto-claims entries
 * stuck on a dead consumer. An entry is acknowledged once the ticks it produced are persisted
 * (`commit`, called by the engine after the writer's transaction; without a database, once the
 * tick is accepted into the ring). A malformed entry is counted, logged (rate-limited) and
 * acknowledged; an entry delivered more than `maxDeliveries` times is moved to `<stream>:dead`.
 */
export interface OrderflowStreamOptions {
  readonly bus: Bus;
  readonly stream: string;
  readonly group?: string;
  readonly consumer: string;
  readonly symbolTable: SymbolTable;
  readonly malformed: MalformedRecords;
  readonly log: Logger;
  readonly claimIdleMs?: number;
  readonly claimEveryMs?: number;
  readonly maxDeliveries?: number;
  readonly blockMs?: number;
  readonly count?: number;
}

export class OrderflowStreamFeed implements Feed {
  readonly name = 'orderflow';
  readonly #o: OrderflowStreamOptions;
  readonly #group: string;
  readonly #t: TickRecord;
  readonly #source: string;
  /** Ids handed to the sink (or skipped) and not yet acknowledged, in processing order. */
  #unacked: string[] = [];
  /** The same ids as a set: a sweep must not re-claim (and re-process) our own in-flight entries. */
  readonly #inflight = new Set<string>();
  /** Entries processed since start; a position is `<processed>` (see commit). */
  #processed = 0;
  #acked = 0;
  #stopped = false;
  #ticksIn = 0;
  #dropped = 0;
  deadLettered = 0;
  claimed = 0;

  constructor(options: OrderflowStreamOptions, scratch: TickRecord) {
    this.#o = options;
    this.#group = options.group ?? 'engine';
    this.#t = scratch;
    this.#source = `orderflow:${options.stream}`;
  }

  get ticksIn(): number {
    return this.#ticksIn;
  }
  get ticksDropped(): number {
    return this.#dropped;
  }

  /** Entries processed so far; committing it acknowledges every one of them. */
  position(): string {
    return String(this.#processed);
  }

  async commit(position: string): Promise<void> {
    const upTo = Number(position);
    const n = Math.min(upTo - this.#acked, this.#unacked.length);
    if (!(n > 0)) return;
    const ids = this.#unacked.slice(0, n);
    await this.#o.bus.ack(this.#o.stream, this.#group, ids);
    for (const id of ids) this.#inflight.delete(id);
    this.#unacked = this.#unacked.slice(n);
    this.#acked += n;
  }

  stop(): void {
    this.#stopped = true;
  }

  async run(sink: TickSink): Promise<void> {
    const { bus, stream, consumer } = this.#o;
    const count = this.#o.count ?? 1000;
    // 1. Our own pending entries first: delivered before a crash, never acknowledged. Retried
    //    while the bus is unreachable (the engine starts even if Redis is still coming up).
    let after = '0';
    for (;;) {
      if (this.#stopped) return;
      try {
        await bus.ensureGroup(stream, this.#group, '0');
        for (;;) {
          const pending = await bus.readGroup(stream, this.#group, consumer, { id: after, count });
          if (pending.length === 0 || this.#stopped) break;
          this.#processAll(pending, sink);
          await sink.backpressure?.();
          after = (pending[pending.length - 1] as StreamEntry).id;
        }
        break;
      } catch (err) {
        this.#o.log.warn(
          { err: (err as Error).message, stream },
          'orderflow: bus unavailable at start, retrying',
        );
        await sleep(1000);
      }
    }
    if (after !== '0')
      this.#o.log.info({ stream, consumer, upTo: after }, 'orderflow: drained own pending entries');
    // 2. New entries, with a periodic sweep for entries stuck on dead consumers.
    const claimEvery = this.#o.claimEveryMs ?? 5000;
    let lastClaim = 0;
    while (!this.#stopped) {
      try {
        if (Date.now() - lastClaim >= claimEvery) {
          lastClaim = Date.now();
          await this.#reclaim(sink);
        }
        const entries = await bus.readGroup(stream, this.#group, consumer, {
          count,
          blockMs: this.#o.blockMs ?? 500,
        });
        if (entries.length > 0) this.#processAll(entries, sink);
        await sink.backpressure?.();
      } catch (err) {
        if (this.#stopped) break;
        // The bus is down or restarting: back off and retry; the engine keeps running. A Redis
        // that came back empty answers NOGROUP: the bus recreates the group this feed ensured
        // (from 0, logged once) inside readGroup/autoclaim, so that never lands here twice.
        this.#o.log.warn({ err: (err as Error).message, stream }, 'orderflow: read failed, retrying');
        await sleep(1000);
      }
    }
  }

  async #reclaim(sink: TickSink): Promise<void> {
    const { bus, stream, consumer } = this.#o;
    const maxDeliveries = this.#o.maxDeliveries ?? 5;
    let start = '0-0';
    do {
      const r = await bus.autoclaim(stream, this.#group, consumer, this.#o.claimIdleMs ?? 60_000, {
        start,
        count: 500,
      });
      const live: StreamEntry[] = [];
      for (const e of r.entries) {
        // Ours, waiting for the writer (a database outage can outlast claimIdleMs): already in
        // the pipeline — processing it again would duplicate its tick.
        if (this.#inflight.has(e.id)) continue;
        if (e.deliveries > maxDeliveries) {
          // Poison entry: park it for an operator instead of retrying forever.
          await bus.xadd(`${stream}:dead`, {
            ...e.fields,
            originalId: e.id,
            deliveries: String(e.deliveries),
          });
          await bus.ack(stream, this.#group, [e.id]);
          this.deadLettered++;
        } else live.push(e);
      }
      this.claimed += live.length;
      if (live.length > 0) this.#processAll(live, sink);
      start = r.nextStart;
    } while (start !== '0-0' && !this.#stopped);
  }

  #processAll(entries: readonly StreamEntry[], sink: TickSink): void {
    const t = this.#t;
    for (const e of entries) {
      const bad = decodeOrderflowEntry(e.fields, t, this.#o.symbolTable);
      if (bad === null) {
        if (sink.publish(t)) this.#ticksIn++;
        else this.#dropped++;
      } else if (bad !== 'skip') {
        this.#o.malformed.record(this.#source, bad, `entry ${e.id}`);
      }
      this.#unacked.push(e.id);
      this.#inflight.add(e.id);
      this.#processed++;
    }
    sink.flush?.();
  }
}

/**
 * Decodes one order-flow entry into `t` (the format in OrderflowStreamFeed's header): null when
 * `t` holds a valid tick, 'skip' for an entry that carries none (depth), else the malformed kind.
 * Shared by the unsharded feed and the shard feeds (engine/src/shards/).
 */
export function decodeOrderflowEntry(
  f: Record<string, string>,
  t: TickRecord,
  symbolTable: SymbolTable,
): MalformedKind | 'skip' | null {
  // Before anything else: a desk's entry is refused whatever else it holds (see the header).
  if (f.tenantId !== undefined) return MALFORMED.deskFlow;
  if (typeof f.ts !== 'string' || typeof f.symbol !== 'string' || typeof f.kind !== 'string') {
    return MALFORMED.payload;
  }
  if (f.kind === 'depth') return 'skip';
  const ts = parseTimestampUs(f.ts);
  if (ts === null) return MALFORMED.timestamp;
  const id = symbolTable.intern(f.symbol);
  if (id < 0) return MALFORMED.symbol;
  const seq = f.seq === undefined || f.seq === '' ? 0 : Number(f.seq);
  if (Number.isNaN(seq) || !setQuoteFields(t, f.bid, f.ask, f.bidSize, f.askSize)) return MALFORMED.number;
  t.symbolId = id;
  t.seq = seq;
  t.tsEventUs = ts;
  if (f.kind === 'trade') {
    if (f.price === undefined || f.size === undefined) return MALFORMED.payload;
    t.kind = 1;
    t.price = optionalDecimal(f.price);
    t.size = optionalDecimal(f.size);
    if (Number.isNaN(t.price) || Number.isNaN(t.size)) return MALFORMED.number;
    t.aggressor =
      f.side === 'buy' ? 1 : f.side === 'sell' ? -1 : f.side === undefined || f.side === '' ? 0 : 2;
    if (t.aggressor === 2) return MALFORMED.aggressor;
  } else if (f.kind === 'quote') {
    t.kind = 2;
    t.aggressor = 0;
    t.size = 0;
    t.price = f.price !== undefined && f.price !== '' ? optionalDecimal(f.price) : (t.bid + t.ask) / 2;
    if (Number.isNaN(t.price)) return MALFORMED.number;
  } else {
    return MALFORMED.kind;
  }
  return validateTick(t);
}
