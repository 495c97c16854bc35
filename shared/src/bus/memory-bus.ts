// One file over 400 lines: the in-memory Bus must implement every method of the Bus interface
// (streams, groups, pub/sub, trimming) with the same semantics as redis-bus.ts, in one class.
import { AppError, ErrorCode } from '../errors.ts';
import {
  compareStreamIds,
  formatStreamId,
  nextStreamId,
  parseStreamId,
  type StreamId,
  ZERO_ID,
} from './stream-id.ts';
import type {
  AutoclaimResult,
  Bus,
  ClaimedEntry,
  GroupInfo,
  MessageHandler,
  PendingSummary,
  ReadGroupOptions,
  ReadOptions,
  StreamEntry,
  StreamFields,
  Unsubscribe,
  XAddOptions,
} from './types.ts';

interface Entry extends StreamId {
  readonly id: string;
  readonly fields: StreamFields;
}

interface PendingEntry extends StreamId {
  readonly id: string;
  consumer: string;
  deliveries: number;
  deliveredAt: number;
}

interface Group {
  lastDelivered: StreamId;
  /** Insertion order = ascending id: entries join the PEL only through `>` reads. */
  readonly pel: Map<string, PendingEntry>;
  readonly consumers: Set<string>;
}

interface Stream {
  entries: Entry[];
  last: StreamId;
  readonly groups: Map<string, Group>;
  /** Blocked readers, woken by the next `xadd`. */
  readonly waiters: Set<() => void>;
}

/** Approximate trimming, like `MAXLEN ~`: trim only once 10% over the cap (amortised O(1)). */
const TRIM_SLACK = 1.1;

/**
 * The in-process bus for the embedded single-process mode. Same semantics as `RedisBus` (see
 * types.ts); everything lives in this process's memory, so it is not durable across restarts —
 * PostgreSQL stays the system of record (docs/architecture.md §2, §8).
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly #streams = new Map<string, Stream>();
  readonly #channels = new Map<string, Set<MessageHandler>>();
  readonly #hashes = new Map<string, Map<string, string>>();
  #closed = false;
  /** Groups created or confirmed with ensureGroup: recreated after a deleteStream, as RedisBus does. */
  readonly #ensured = new Set<string>();
  groupsRecreated = 0;

  async xadd(stream: string, fields: StreamFields, options?: XAddOptions): Promise<string> {
    this.#assertOpen();
    const s = this.#streamOrCreate(stream);
    const now = Date.now();
    const id: StreamId = now > s.last.ms ? { ms: now, seq: 0 } : { ms: s.last.ms, seq: s.last.seq + 1 };
    s.last = id;
    const idText = formatStreamId(id);
    s.entries.push({ id: idText, ms: id.ms, seq: id.seq, fields: { ...fields } });
    const maxLen = options?.maxLen;
    if (maxLen !== undefined && s.entries.length > Math.max(maxLen * TRIM_SLACK, maxLen + 1)) {
      s.entries = s.entries.slice(s.entries.length - maxLen);
    }
    for (const wake of s.waiters) wake();
    s.waiters.clear();
    return idText;
  }

  async ensureGroup(stream: string, group: string, startId = '$'): Promise<void> {
    this.#assertOpen();
    const s = this.#streamOrCreate(stream);
    this.#ensured.add(`${stream}\u0000${group}`);
    if (s.groups.has(group)) return;
    const start = startId === '$' ? s.last : parseStreamId(startId);
    s.groups.set(group, { lastDelivered: start, pel: new Map(), consumers: new Set() });
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    options: ReadGroupOptions = {},
  ): Promise<StreamEntry[]> {
    this.#assertOpen();
    const count = options.count ?? 100;
    const id = options.id ?? '>';
    const g = this.#groupOrRecreate(stream, group);
    g.consumers.add(consumer);
    if (id !== '>') return this.#readOwnPending(stream, g, consumer, parseStreamId(id), count);

    let out = this.#deliverNew(stream, g, consumer, count);
    if (out.length === 0 && options.blockMs !== undefined && options.blockMs > 0) {
      await this.#waitForEntry(stream, options.blockMs);
      if (this.#closed) return [];
      out = this.#deliverNew(stream, this.#group(stream, group), consumer, count);
    }
    return out;
  }

  async read(stream: string, afterId: string, options: ReadOptions = {}): Promise<StreamEntry[]> {
    this.#assertOpen();
    const count = options.count ?? 100;
    const s = this.#streams.get(stream);
    const after = afterId === '$' ? (s?.last ?? ZERO_ID) : parseStreamId(afterId);
    let out = s ? this.#after(s, after, count) : [];
    if (out.length === 0 && options.blockMs !== undefined && options.blockMs > 0) {
      await this.#waitForEntry(stream, options.blockMs);
      if (this.#closed) return [];
      const s2 = this.#streams.get(stream);
      out = s2 ? this.#after(s2, after, count) : [];
    }
    return out;
  }

  async range(
    stream: string,
    start = '-',
    end = '+',
    count = Number.MAX_SAFE_INTEGER,
  ): Promise<StreamEntry[]> {
    this.#assertOpen();
    const s = this.#streams.get(stream);
    if (!s) return [];
    const lo = start === '-' ? ZERO_ID : parseStreamId(start);
    const hi =
      end === '+' ? { ms: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER } : parseStreamId(end);
    const out: StreamEntry[] = [];
    for (let i = lowerBound(s.entries, lo); i < s.entries.length && out.length < count; i++) {
      const e = s.entries[i] as Entry;
      if (compareStreamIds(e, hi) > 0) break;
      out.push({ id: e.id, fields: { ...e.fields } });
    }
    return out;
  }

  async ack(stream: string, group: string, ids: readonly string[]): Promise<number> {
    this.#assertOpen();
    const g = this.#streams.get(stream)?.groups.get(group);
    if (!g) return 0;
    let n = 0;
    for (const id of ids) if (g.pel.delete(formatStreamId(parseStreamId(id)))) n++;
    return n;
  }

  async autoclaim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    options: { start?: string; count?: number } = {},
  ): Promise<AutoclaimResult> {
    this.#assertOpen();
    const g = this.#groupOrRecreate(stream, group);
    const s = this.#streams.get(stream);
    g.consumers.add(consumer);
    const start = parseStreamId(options.start ?? '0-0');
    const count = options.count ?? 100;
    const now = Date.now();
    const entries: ClaimedEntry[] = [];
    const deletedIds: string[] = [];
    // Redis examines at most COUNT * 10 pending entries per call and claims at most COUNT.
    let attempts = count * 10;
    let next: StreamId | null = null;
    const pel = [...g.pel.values()].sort(compareStreamIds);
    for (const p of pel) {
      if (compareStreamIds(p, start) < 0) continue;
      if (attempts === 0 || entries.length + deletedIds.length === count) {
        next = p;
        break;
      }
      attempts--;
      if (now - p.deliveredAt < minIdleMs) continue;
      const data = s ? findEntry(s.entries, p) : undefined;
      if (!data) {
        g.pel.delete(p.id);
        deletedIds.push(p.id);
        continue;
      }
      p.consumer = consumer;
      p.deliveries++;
      p.deliveredAt = now;
      entries.push({ id: p.id, fields: { ...data.fields }, deliveries: p.deliveries });
    }
    return { nextStart: next ? formatStreamId(next) : '0-0', entries, deletedIds };
  }

  async touch(stream: string, group: string, consumer: string, ids: readonly string[]): Promise<string[]> {
    this.#assertOpen();
    const g = this.#groupOrRecreate(stream, group);
    g.consumers.add(consumer);
    const touched: string[] = [];
    for (const id of ids) {
      const key = formatStreamId(parseStreamId(id));
      const p = g.pel.get(key);
      if (!p) continue;
      p.consumer = consumer;
      p.deliveredAt = Date.now();
      touched.push(key);
    }
    return touched;
  }

  async pending(stream: string, group: string): Promise<PendingSummary> {
    this.#assertOpen();
    const g = this.#group(stream, group);
    const consumers: Record<string, number> = {};
    for (const p of g.pel.values()) consumers[p.consumer] = (consumers[p.consumer] ?? 0) + 1;
    return { count: g.pel.size, consumers };
  }

  async xlen(stream: string): Promise<number> {
    this.#assertOpen();
    return this.#streams.get(stream)?.entries.length ?? 0;
  }

  async groups(stream: string): Promise<GroupInfo[]> {
    this.#assertOpen();
    const s = this.#streams.get(stream);
    if (!s) return [];
    return [...s.groups.entries()].map(([name, g]) => ({
      name,
      consumers: g.consumers.size,
      pending: g.pel.size,
      lastDeliveredId: formatStreamId(g.lastDelivered),
      lag: s.entries.length - lowerBound(s.entries, nextStreamId(g.lastDelivered)),
    }));
  }

  async deleteStream(stream: string): Promise<void> {
    this.#assertOpen();
    const s = this.#streams.get(stream);
    if (!s) return;
    this.#streams.delete(stream);
    for (const wake of s.waiters) wake();
  }

  async hset(key: string, fields: Readonly<Record<string, string>>): Promise<void> {
    this.#assertOpen();
    let h = this.#hashes.get(key);
    if (!h) {
      h = new Map();
      this.#hashes.set(key, h);
    }
    for (const [f, v] of Object.entries(fields)) h.set(f, v);
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    this.#assertOpen();
    return Object.fromEntries(this.#hashes.get(key) ?? []);
  }

  async publish(channel: string, message: string): Promise<number> {
    this.#assertOpen();
    const handlers = this.#channels.get(channel);
    if (!handlers || handlers.size === 0) return 0;
    const snapshot = [...handlers];
    // Delivered on a later turn, as from a socket: a handler never runs inside publish().
    setImmediate(() => {
      for (const h of snapshot) {
        try {
          h(message, channel);
        } catch {
          // A subscriber's bug must not break the publisher or the other subscribers.
        }
      }
    });
    return snapshot.length;
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<Unsubscribe> {
    this.#assertOpen();
    let set = this.#channels.get(channel);
    if (!set) {
      set = new Set();
      this.#channels.set(channel, set);
    }
    // Wrapped so the same function subscribed twice counts twice, as in two Redis subscriptions.
    const wrapped: MessageHandler = (m, c) => handler(m, c);
    set.add(wrapped);
    return async () => {
      const current = this.#channels.get(channel);
      current?.delete(wrapped);
      if (current?.size === 0) this.#channels.delete(channel);
    };
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#streams.values()) {
      for (const wake of s.waiters) wake();
      s.waiters.clear();
    }
    this.#channels.clear();
  }

  // ---- internals -------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new AppError(ErrorCode.UNAVAILABLE, 'bus is closed');
  }

  #streamOrCreate(name: string): Stream {
    let s = this.#streams.get(name);
    if (!s) {
      s = { entries: [], last: ZERO_ID, groups: new Map(), waiters: new Set() };
      this.#streams.set(name, s);
    }
    return s;
  }

  /** Same contract as RedisBus: a lost group this bus ensured comes back, reading from 0. */
  #groupOrRecreate(stream: string, group: string): Group {
    const existing = this.#streams.get(stream)?.groups.get(group);
    if (existing || !this.#ensured.has(`${stream}\u0000${group}`)) return this.#group(stream, group);
    const g: Group = { lastDelivered: ZERO_ID, pel: new Map(), consumers: new Set() };
    this.#streamOrCreate(stream).groups.set(group, g);
    this.groupsRecreated++;
    return g;
  }

  #group(stream: string, group: string): Group {
    const g = this.#streams.get(stream)?.groups.get(group);
    if (!g) {
      throw new AppError(
        ErrorCode.NOT_FOUND,
        `NOGROUP no such consumer group '${group}' for stream '${stream}'`,
      );
    }
    return g;
  }

  #deliverNew(stream: string, g: Group, consumer: string, count: number): StreamEntry[] {
    const s = this.#streams.get(stream) as Stream;
    const now = Date.now();
    const out: StreamEntry[] = [];
    for (
      let i = lowerBound(s.entries, nextStreamId(g.lastDelivered));
      i < s.entries.length && out.length < count;
      i++
    ) {
      const e = s.entries[i] as Entry;
      g.pel.set(e.id, { id: e.id, ms: e.ms, seq: e.seq, consumer, deliveries: 1, deliveredAt: now });
      g.lastDelivered = e;
      out.push({ id: e.id, fields: { ...e.fields } });
    }
    return out;
  }

  #readOwnPending(stream: string, g: Group, consumer: string, after: StreamId, count: number): StreamEntry[] {
    const s = this.#streams.get(stream) as Stream;
    const now = Date.now();
    const out: StreamEntry[] = [];
    for (const p of [...g.pel.values()].sort(compareStreamIds)) {
      if (out.length === count) break;
      if (p.consumer !== consumer || compareStreamIds(p, after) <= 0) continue;
      const data = findEntry(s.entries, p);
      if (!data) {
        // Trimmed away: nothing left to process (Redis returns a nil entry; both buses drop it).
        g.pel.delete(p.id);
        continue;
      }
      // Re-reading history counts as a delivery, as in Redis.
      p.deliveries++;
      p.deliveredAt = now;
      out.push({ id: p.id, fields: { ...data.fields } });
    }
    return out;
  }

  #after(s: Stream, after: StreamId, count: number): StreamEntry[] {
    const out: StreamEntry[] = [];
    for (
      let i = lowerBound(s.entries, nextStreamId(after));
      i < s.entries.length && out.length < count;
      i++
    ) {
      const e = s.entries[i] as Entry;
      out.push({ id: e.id, fields: { ...e.fields } });
    }
    return out;
  }

  #waitForEntry(stream: string, blockMs: number): Promise<void> {
    const s = this.#streamOrCreate(stream);
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        s.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, blockMs);
      s.waiters.add(wake);
    });
  }
}

/** Index of the first entry with id >= `id`. */
function lowerBound(entries: readonly Entry[], id: StreamId): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareStreamIds(entries[mid] as Entry, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function findEntry(entries: readonly Entry[], id: StreamId): Entry | undefined {
  const i = lowerBound(entries, id);
  const e = entries[i];
  return e && compareStreamIds(e, id) === 0 ? e : undefined;
}
