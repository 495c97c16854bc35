/**
 * The message bus between processes: Redis Streams (durable, consumer groups) plus pub/sub
 * (fire-and-forget fan-out). Two implementations keep the SAME semantics:
 *
 * - `RedisBus` (redis-bus.ts): production, server and engine in separate processes.
 * - `MemoryBus` (memory-bus.ts): the embedded single-process mode; consumer groups, pending
 *   entries, acks, delivery counts and auto-claim behave like Redis so code written against one
 *   runs unchanged on the other (`shared/tests/integration/bus.test.ts` runs one suite on both).
 *
 * Stream semantics (Redis 7):
 * - `xadd` appends with an auto id `<ms>-<seq>`; `maxLen` trims approximately (`MAXLEN ~`), so a
 *   stream may hold somewhat more than `maxLen` entries, never fewer when it has more.
 * - A consumer group delivers each new entry (`readGroup` with id `>`) to one consumer and keeps
 *   it in that consumer's pending list until `ack`. After a crash the same consumer drains its
 *   own pending entries first (`readGroup` with id `0`), then reads new ones.
 * - Entries pending on a dead consumer are taken over with `autoclaim` once idle long enough;
 *   each claim counts as a delivery, so a poison entry can be dead-lettered by its count.
 * - Pending entries whose data was trimmed away are dropped from the pending list and never
 *   returned (there is nothing left to process).
 */

/** Field/value pairs of one stream entry. Values are strings (JSON-encode structured values). */
export type StreamFields = Record<string, string>;

export interface StreamEntry {
  /** Stream id `<ms>-<seq>`. */
  readonly id: string;
  readonly fields: StreamFields;
}

export interface ClaimedEntry extends StreamEntry {
  /** How many times the entry has been delivered, this claim included. */
  readonly deliveries: number;
}

export interface AutoclaimResult {
  /** Cursor for the next `autoclaim` call; `0-0` when the scan of the pending list is complete. */
  readonly nextStart: string;
  readonly entries: readonly ClaimedEntry[];
  /** Ids that were pending but whose entries no longer exist (trimmed); removed from the PEL. */
  readonly deletedIds: readonly string[];
}

export interface ReadGroupOptions {
  /** `>` (default): entries never delivered to this group. `0` (or any id): this consumer's own
   *  pending entries with an id greater than the one given — the drain after a restart. */
  readonly id?: string;
  /** Upper bound of entries returned (default 100). */
  readonly count?: number;
  /** Wait up to this many ms for new entries when none are ready (only with id `>`).
   *  Absent: return at once. Keep it finite: `close()` ends waits early. */
  readonly blockMs?: number;
}

export interface ReadOptions {
  readonly count?: number;
  readonly blockMs?: number;
}

export interface XAddOptions {
  /** Approximate cap on the stream length (`MAXLEN ~ n`). */
  readonly maxLen?: number;
}

export interface GroupInfo {
  readonly name: string;
  readonly consumers: number;
  /** Entries delivered and not yet acknowledged. */
  readonly pending: number;
  readonly lastDeliveredId: string;
  /** Entries in the stream not yet delivered to the group (null when unknown, e.g. after trims). */
  readonly lag: number | null;
}

export interface PendingSummary {
  readonly count: number;
  /** Pending entries per consumer name. */
  readonly consumers: Readonly<Record<string, number>>;
}

export type MessageHandler = (message: string, channel: string) => void;
export type Unsubscribe = () => Promise<void>;

export interface Bus {
  /** `redis` or `memory`: which implementation this is (logged once at start). */
  readonly kind: 'redis' | 'memory';

  // ---- streams -------------------------------------------------------------------------------
  xadd(stream: string, fields: StreamFields, options?: XAddOptions): Promise<string>;
  /** Creates the group (and the stream) if missing; `startId` `$` (default) = only new entries,
   *  `0` = the whole stream. Idempotent. */
  ensureGroup(stream: string, group: string, startId?: string): Promise<void>;
  readGroup(
    stream: string,
    group: string,
    consumer: string,
    options?: ReadGroupOptions,
  ): Promise<StreamEntry[]>;
  /** Plain read (no group): entries with an id greater than `afterId` (`$` = only new ones). */
  read(stream: string, afterId: string, options?: ReadOptions): Promise<StreamEntry[]>;
  /** Entries between two ids inclusive (`-` / `+` for the ends). */
  range(stream: string, start?: string, end?: string, count?: number): Promise<StreamEntry[]>;
  ack(stream: string, group: string, ids: readonly string[]): Promise<number>;
  /** Claims entries pending for at least `minIdleMs` on any consumer of the group. */
  autoclaim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    options?: { start?: string; count?: number },
  ): Promise<AutoclaimResult>;
  /**
   * Keeps entries this consumer is still working on from looking abandoned: takes them (if
   * pending in the group) for `consumer` and resets their idle time, without counting a delivery
   * (`XCLAIM … JUSTID`). Returns the ids it touched (ids no longer pending are left alone).
   */
  touch(stream: string, group: string, consumer: string, ids: readonly string[]): Promise<string[]>;
  pending(stream: string, group: string): Promise<PendingSummary>;
  xlen(stream: string): Promise<number>;
  groups(stream: string): Promise<GroupInfo[]>;
  /** Deletes a stream with its groups (tests, tooling). */
  deleteStream(stream: string): Promise<void>;

  // ---- hashes (latest value per field) -------------------------------------------------------
  /** Sets fields of a hash (`HSET`): snapshots of latest values, e.g. venue prices per instrument. */
  hset(key: string, fields: Readonly<Record<string, string>>): Promise<void>;
  /** Every field of a hash (`HGETALL`); `{}` when the key does not exist. */
  hgetall(key: string): Promise<Record<string, string>>;

  // ---- pub/sub -------------------------------------------------------------------------------
  /** Returns the number of subscribers that received the message. */
  publish(channel: string, message: string): Promise<number>;
  subscribe(channel: string, handler: MessageHandler): Promise<Unsubscribe>;

  // ---- lifecycle -----------------------------------------------------------------------------
  /** Round trip to the backend; throws when it is unreachable. */
  ping(): Promise<void>;
  /** Ends pending blocking reads (they resolve empty) and releases connections. */
  close(): Promise<void>;
}
