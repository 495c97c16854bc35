// One file over 400 lines: the Redis Bus implements every method of the Bus interface in one
// class sharing its connections, timeouts and reconnect handling.
import { Redis, type RedisOptions } from 'ioredis';
import { AppError, ErrorCode } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { formatStreamId, nextStreamId, parseStreamId } from './stream-id.ts';
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

const PING_TIMEOUT_MS = 2000;

/**
 * Every Redis call has a deadline (crash-only recovery, docs/runbook.md "Redis lost"). `connectTimeout` bounds
 * reaching the server; `commandTimeout` bounds each command on the shared connection (a command
 * queued while Redis is down fails after it instead of waiting without bound);
 * `maxRetriesPerRequest` caps reconnect-and-resend. Blocking reads (`BLOCK n`) run on their own
 * connections with a deadline of n + BLOCK_GRACE_MS, after which that connection is destroyed.
 */
export const REDIS_TIMEOUT_DEFAULTS = Object.freeze({
  connectTimeoutMs: 5000,
  commandTimeoutMs: 5000,
  maxRetriesPerRequest: 2,
  blockGraceMs: 5000,
});

/**
 * The bus over Redis (7+: XAUTOCLAIM, XPENDING IDLE, XINFO GROUPS lag).
 *
 * Connections: one shared client for non-blocking commands (ioredis pipelines them on one socket);
 * a blocking read (`BLOCK`) would stall that socket, so each runs on a connection taken from a
 * small free list of duplicates; pub/sub needs its own connection too (a subscribed connection
 * accepts no other commands).
 *
 * `protocol: 2` (RESP2): ioredis 6 defaults to RESP3, measured slower here; replies
 * are parsed below in their RESP2 shapes.
 */
export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  readonly #client: Redis;
  readonly #blockingFree: Redis[] = [];
  readonly #blockingAll = new Set<Redis>();
  #subscriber: Redis | null = null;
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #log: Logger | undefined;
  #closed = false;
  /** Groups this bus created or confirmed (`ensureGroup`): recreated if Redis loses them. */
  readonly #ensured = new Set<string>();
  /** Consumer groups recreated after NOGROUP (Redis restarted empty, or the key was deleted). */
  groupsRecreated = 0;

  constructor(url: string, options: { log?: Logger; redisOptions?: RedisOptions } = {}) {
    this.#log = options.log;
    this.#client = new Redis(url, {
      protocol: 2,
      connectTimeout: REDIS_TIMEOUT_DEFAULTS.connectTimeoutMs,
      commandTimeout: REDIS_TIMEOUT_DEFAULTS.commandTimeoutMs,
      // Commands fail fast when Redis is down instead of queueing without bound; callers retry.
      maxRetriesPerRequest: REDIS_TIMEOUT_DEFAULTS.maxRetriesPerRequest,
      ...options.redisOptions,
    });
    this.#client.on('error', (err: Error) =>
      this.#log?.warn({ err: err.message }, 'redis bus: connection error'),
    );
  }

  async xadd(stream: string, fields: StreamFields, options?: XAddOptions): Promise<string> {
    const args: (string | number)[] = [stream];
    if (options?.maxLen !== undefined) args.push('MAXLEN', '~', options.maxLen);
    args.push('*');
    for (const [k, v] of Object.entries(fields)) args.push(k, v);
    return (await this.#call('XADD', args)) as string;
  }

  async ensureGroup(stream: string, group: string, startId = '$'): Promise<void> {
    try {
      await this.#call('XGROUP', ['CREATE', stream, group, startId, 'MKSTREAM']);
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
    this.#ensured.add(groupKey(stream, group));
  }

  /**
   * Runs a group command; on NOGROUP for a group this bus ensured, recreates the group and runs
   * it once more. Redis restarted without persistence (or the stream was deleted): the group is
   * gone and every read would fail forever. It is recreated from `0`: what
   * the stream holds now was written after the loss and never delivered to this group; consumers
   * are idempotent, so an entry seen before a mere group deletion is harmless. Logged once per
   * recreation.
   */
  async #withGroup<T>(stream: string, group: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isNoGroup(err) || !this.#ensured.has(groupKey(stream, group)) || this.#closed) throw err;
      try {
        await this.#call('XGROUP', ['CREATE', stream, group, '0', 'MKSTREAM']);
        this.groupsRecreated++;
        this.#log?.warn(
          { stream, group, recreations: this.groupsRecreated },
          'redis bus: consumer group was missing (Redis restarted empty?); recreated from 0',
        );
      } catch (createErr) {
        // Another consumer of the group recreated it first: fine.
        if (!String((createErr as Error).message).startsWith('BUSYGROUP')) throw createErr;
      }
      return fn();
    }
  }

  async readGroup(
    stream: string,
    group: string,
    consumer: string,
    options: ReadGroupOptions = {},
  ): Promise<StreamEntry[]> {
    const id = options.id ?? '>';
    const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', options.count ?? 100];
    const block = id === '>' && options.blockMs !== undefined && options.blockMs > 0;
    if (block) args.push('BLOCK', options.blockMs as number);
    args.push('STREAMS', stream, id);
    const reply = await this.#withGroup(stream, group, () =>
      this.#run(block, 'XREADGROUP', args, block ? (options.blockMs as number) : 0),
    );
    const entries = parseReadReply(reply);
    if (id === '>') return live(entries);
    // History read: entries trimmed away come back with nil fields; drop them from the PEL
    // (nothing is left to process), matching the in-process bus.
    const dead = entries.filter((e) => !isLive(e)).map((e) => e.id);
    if (dead.length > 0) await this.ack(stream, group, dead);
    return live(entries);
  }

  async read(stream: string, afterId: string, options: ReadOptions = {}): Promise<StreamEntry[]> {
    const args: (string | number)[] = ['COUNT', options.count ?? 100];
    const block = options.blockMs !== undefined && options.blockMs > 0;
    if (block) args.push('BLOCK', options.blockMs as number);
    args.push('STREAMS', stream, afterId);
    return live(
      parseReadReply(await this.#run(block, 'XREAD', args, block ? (options.blockMs as number) : 0)),
    );
  }

  async range(stream: string, start = '-', end = '+', count?: number): Promise<StreamEntry[]> {
    const args: (string | number)[] = [stream, start, end];
    if (count !== undefined) args.push('COUNT', count);
    return live(parseEntries((await this.#call('XRANGE', args)) as RawEntry[]));
  }

  async ack(stream: string, group: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.#call('XACK', [stream, group, ...ids])) as number;
  }

  /**
   * XPENDING (idle filter, with delivery counts) then XCLAIM of those ids: XAUTOCLAIM itself
   * returns no delivery counts, which the dead-letter decision needs. XCLAIM re-checks the idle
   * time, so an entry another consumer claimed in between is not stolen back.
   */
  async autoclaim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    options: { start?: string; count?: number } = {},
  ): Promise<AutoclaimResult> {
    const count = options.count ?? 100;
    const start = options.start ?? '0-0';
    const rows = (await this.#withGroup(stream, group, () =>
      this.#call('XPENDING', [stream, group, 'IDLE', minIdleMs, start, '+', count]),
    )) as [string, string, number, number][];
    if (rows.length === 0) return { nextStart: '0-0', entries: [], deletedIds: [] };
    const ids = rows.map((r) => r[0]);
    const claimed = parseEntries(
      (await this.#call('XCLAIM', [stream, group, consumer, minIdleMs, ...ids])) as RawEntry[],
    );
    const deliveriesBefore = new Map(rows.map((r) => [r[0], Number(r[3])]));
    const entries: ClaimedEntry[] = [];
    const claimedIds = new Set<string>();
    for (const e of claimed) {
      claimedIds.add(e.id);
      if (!isLive(e)) continue;
      entries.push({ id: e.id, fields: e.fields, deliveries: (deliveriesBefore.get(e.id) ?? 0) + 1 });
    }
    // Ids not claimed were either taken by another consumer meanwhile or trimmed away; Redis 7
    // drops the trimmed ones from the PEL inside XCLAIM. Tell them apart with XRANGE.
    const deletedIds: string[] = [];
    for (const id of ids) {
      if (claimedIds.has(id)) continue;
      const still = (await this.#call('XRANGE', [stream, id, id])) as RawEntry[];
      if (still.length === 0) {
        await this.#call('XACK', [stream, group, id]);
        deletedIds.push(id);
      }
    }
    for (const e of claimed) if (!isLive(e)) deletedIds.push(e.id);
    const last = ids[ids.length - 1] as string;
    const nextStart = rows.length < count ? '0-0' : formatStreamId(nextStreamId(parseStreamId(last)));
    return { nextStart, entries, deletedIds };
  }

  async touch(stream: string, group: string, consumer: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const reply = (await this.#withGroup(stream, group, () =>
      this.#call('XCLAIM', [stream, group, consumer, 0, ...ids, 'JUSTID']),
    )) as string[];
    return reply.map(String);
  }

  async pending(stream: string, group: string): Promise<PendingSummary> {
    const reply = (await this.#call('XPENDING', [stream, group])) as [
      number,
      string | null,
      string | null,
      [string, string][] | null,
    ];
    const consumers: Record<string, number> = {};
    for (const [name, n] of reply[3] ?? []) consumers[name] = Number(n);
    return { count: Number(reply[0]), consumers };
  }

  async xlen(stream: string): Promise<number> {
    return (await this.#call('XLEN', [stream])) as number;
  }

  async groups(stream: string): Promise<GroupInfo[]> {
    let reply: unknown[][];
    try {
      reply = (await this.#call('XINFO', ['GROUPS', stream])) as unknown[][];
    } catch (err) {
      if (String((err as Error).message).includes('no such key')) return [];
      throw err;
    }
    return reply.map((flat) => {
      const m = new Map<string, unknown>();
      for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
      const lag = m.get('lag');
      return {
        name: String(m.get('name')),
        consumers: Number(m.get('consumers')),
        pending: Number(m.get('pending')),
        lastDeliveredId: String(m.get('last-delivered-id')),
        lag: lag === null || lag === undefined ? null : Number(lag),
      };
    });
  }

  async deleteStream(stream: string): Promise<void> {
    await this.#call('DEL', [stream]);
  }

  async hset(key: string, fields: Readonly<Record<string, string>>): Promise<void> {
    const args: string[] = [key];
    for (const [f, v] of Object.entries(fields)) args.push(f, v);
    if (args.length > 1) await this.#call('HSET', args);
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    // RESP2 reply: a flat [field, value, field, value, …] array.
    const flat = (await this.#call('HGETALL', [key])) as string[];
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
    return out;
  }

  async publish(channel: string, message: string): Promise<number> {
    return (await this.#call('PUBLISH', [channel, message])) as number;
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<Unsubscribe> {
    const sub = this.#ensureSubscriber();
    let set = this.#handlers.get(channel);
    if (!set) {
      set = new Set();
      this.#handlers.set(channel, set);
      try {
        await sub.subscribe(channel);
      } catch (err) {
        // Forget the channel, or a retry would find it "subscribed" and never subscribe.
        if (this.#handlers.get(channel) === set && set.size === 0) this.#handlers.delete(channel);
        throw err;
      }
    }
    const wrapped: MessageHandler = (m, c) => handler(m, c);
    set.add(wrapped);
    return async () => {
      const current = this.#handlers.get(channel);
      if (!current?.delete(wrapped) || current.size > 0) return;
      this.#handlers.delete(channel);
      if (!this.#closed) await sub.unsubscribe(channel);
    };
  }

  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new AppError(ErrorCode.UNAVAILABLE, 'redis ping timed out')),
            PING_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Blocked reads end with "Connection is closed", which #run turns into an empty result.
    for (const c of this.#blockingAll) c.disconnect();
    this.#subscriber?.disconnect();
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Every command goes through here so Redis errors surface as the in-process bus's do. */
  async #call(command: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#client.call(command, args);
    } catch (err) {
      throw mapRedisError(err);
    }
  }

  async #run(blocking: boolean, command: string, args: (string | number)[], blockMs = 0): Promise<unknown> {
    if (!blocking) return this.#call(command, args);
    if (this.#closed) return null;
    const conn = this.#blockingFree.pop() ?? this.#newBlockingConnection();
    // The shared commandTimeout would cut every BLOCK longer than it: blocking connections have
    // none, and each blocking call gets its own deadline, longer than the block it asked for.
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      return await Promise.race([
        conn.call(command, args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(
              new AppError(
                ErrorCode.UNAVAILABLE,
                `redis ${command}: no reply within ${blockMs + REDIS_TIMEOUT_DEFAULTS.blockGraceMs} ms`,
              ),
            );
          }, blockMs + REDIS_TIMEOUT_DEFAULTS.blockGraceMs);
        }),
      ]);
    } catch (err) {
      if (this.#closed) return null;
      throw mapRedisError(err);
    } finally {
      clearTimeout(timer);
      if (timedOut) {
        // A connection that missed its deadline may deliver the reply later to the wrong
        // caller: it is never reused.
        this.#blockingAll.delete(conn);
        conn.disconnect();
      } else if (!this.#closed) this.#blockingFree.push(conn);
    }
  }

  #newBlockingConnection(): Redis {
    const conn = this.#client.duplicate({ maxRetriesPerRequest: 1, commandTimeout: undefined });
    conn.on('error', (err: Error) =>
      this.#log?.warn({ err: err.message }, 'redis bus: blocking connection error'),
    );
    this.#blockingAll.add(conn);
    return conn;
  }

  #ensureSubscriber(): Redis {
    if (this.#subscriber) return this.#subscriber;
    const sub = this.#client.duplicate();
    sub.on('error', (err: Error) => this.#log?.warn({ err: err.message }, 'redis bus: subscriber error'));
    sub.on('message', (channel: string, message: string) => {
      const set = this.#handlers.get(channel);
      if (!set) return;
      for (const h of set) {
        try {
          h(message, channel);
        } catch (err) {
          this.#log?.error({ err, channel }, 'redis bus: subscriber handler threw');
        }
      }
    });
    this.#subscriber = sub;
    return sub;
  }
}

type RawEntry = [string, string[] | null];

interface MaybeEntry {
  readonly id: string;
  readonly fields: StreamFields;
  readonly live: boolean;
}

const isLive = (e: MaybeEntry): boolean => e.live;

function live(entries: MaybeEntry[]): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const e of entries) if (e.live) out.push({ id: e.id, fields: e.fields });
  return out;
}

const groupKey = (stream: string, group: string) => `${stream}\u0000${group}`;

function isNoGroup(err: unknown): boolean {
  return String((err as Error)?.message ?? err).startsWith('NOGROUP');
}

function mapRedisError(err: unknown): unknown {
  const message = String((err as Error)?.message ?? err);
  if (message.startsWith('NOGROUP'))
    return new AppError(ErrorCode.NOT_FOUND, message, undefined, { cause: err });
  return err;
}

function parseEntries(raw: RawEntry[]): MaybeEntry[] {
  return raw.map(([id, flat]) => {
    if (!flat) return { id, fields: {}, live: false };
    const fields: StreamFields = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
    return { id, fields, live: true };
  });
}

function parseReadReply(reply: unknown): MaybeEntry[] {
  if (!reply) return [];
  const out: MaybeEntry[] = [];
  for (const [, entries] of reply as [string, RawEntry[]][]) out.push(...parseEntries(entries));
  return out;
}
