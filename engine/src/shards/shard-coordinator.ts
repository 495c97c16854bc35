import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@aegis/shared/logging';
import { orderflowStream } from '@aegis/shared/shards/orderflow-shards';
import { sleep } from '../feeds/feed.ts';
import type { ShardedOrderflowFeed } from './shard-feed.ts';
import { type ShardLeaseStore, streamIdOf } from './shard-lease-store.ts';

/** An owned shard: the lease's token and until when (monotonic ms) this process may act on it. */
interface OwnedShard {
  readonly stream: string;
  readonly token: number;
  validUntil: number;
  handingOver: boolean;
}

export interface ShardCoordinatorStats {
  readonly shards: number;
  readonly owned: readonly { shard: number; token: number }[];
  readonly members: number;
  readonly acquired: number;
  readonly takeovers: number;
  readonly handovers: number;
  readonly lost: number;
  /** False after a round that could not reach the database (readiness). */
  readonly healthy: boolean;
}

export interface ShardCoordinatorOptions {
  readonly store: ShardLeaseStore;
  readonly feed: ShardedOrderflowFeed;
  readonly log: Logger;
  /** Stream prefix (`aegis:`); the cluster is `<prefix>orderflow`. */
  readonly prefix: string;
  readonly shards: number;
  /** ENGINE_CONSUMER: the engine's stable name. */
  readonly engine: string;
  readonly renewMs: number;
  /** Longest a clean handover waits for the shard's last positions to commit. */
  readonly handoverTimeoutMs?: number;
  /** Asks the tick intake for a checkpoint now (a handover waits for its commit). */
  readonly checkpoint: () => void;
  /**
   * A lease this engine was reading under moved to another engine (its renewal found another
   * token): ticks of that shard in this process can no longer be committed. Crash-only: the
   * daemon exits and restarts clean.
   */
  readonly onLost: (shard: number) => void;
}

/**
 * Who reads which order-flow shard. Every `renewMs` this engine, in one round:
 *
 * 1. renews its leases (one statement). A lease is held locally until the time the renewal was
 *    SENT plus the TTL, on the monotonic clock — before PostgreSQL lets anyone else take it — so
 *    a process whose renewals stop (database unreachable, process paused) stops reading first. A
 *    renewal that finds the row taken means the lease was lost: `onLost`.
 * 2. heartbeats its member row and reads the live members and the leases of the cluster;
 * 3. rebalances to about N/live shards each: with L live members, it takes free (expired or
 *    released) shards while it holds fewer than ceil(N/L), and hands one over when it holds more
 *    than ceil(N/L), or more than floor(N/L) while a member holds fewer than floor(N/L). A
 *    handover is clean: stop reading the shard, checkpoint, wait until the writer committed its
 *    last position, then release the lease (its next owner starts at once, from that cursor).
 *
 * A dead engine's leases expire after the TTL and its member row with them; the survivors' next
 * round takes its shards, each from its committed cursor. Failover ≤ TTL + renewMs.
 */
export class ShardCoordinator {
  readonly holder: string;
  readonly cluster: string;
  readonly #o: ShardCoordinatorOptions;
  readonly #owned = new Map<number, OwnedShard>();
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> | null = null;
  #stopped = false;
  #members = 0;
  #acquired = 0;
  #takeovers = 0;
  #handovers = 0;
  #lost = 0;
  #healthy = true;

  constructor(o: ShardCoordinatorOptions) {
    this.#o = o;
    this.cluster = `${o.prefix}orderflow`;
    this.holder = `${o.engine}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Whether this process may act on a shard now (lease held locally). */
  held(shard: number): boolean {
    const o = this.#owned.get(shard);
    return o !== undefined && performance.now() < o.validUntil;
  }

  owned(): number[] {
    return [...this.#owned.keys()].sort((a, b) => a - b);
  }

  stats(): ShardCoordinatorStats {
    return {
      shards: this.#o.shards,
      owned: this.owned().map((shard) => ({ shard, token: (this.#owned.get(shard) as OwnedShard).token })),
      members: this.#members,
      acquired: this.#acquired,
      takeovers: this.#takeovers,
      handovers: this.#handovers,
      lost: this.#lost,
      healthy: this.#healthy,
    };
  }

  /** Joins the cluster: the first round runs now (taking free shards), then every renewMs. */
  async start(): Promise<void> {
    await this.round();
    const next = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => void this.round().finally(next), this.#o.renewMs);
      this.#timer.unref();
    };
    next();
  }

  /** One renew → heartbeat → rebalance round (the timer calls it; tests may too). */
  round(): Promise<void> {
    this.#round ??= this.#roundOnce()
      .catch((err: unknown) => {
        this.#healthy = false;
        this.#o.log.warn({ err: (err as Error).message }, 'engine shards: lease round failed');
      })
      .finally(() => {
        this.#round = null;
      });
    return this.#round;
  }

  async #roundOnce(): Promise<void> {
    if (this.#stopped || this.#lost > 0) return;
    const { store } = this.#o;
    // 1. Renew.
    const mine = [...this.#owned.entries()];
    const sentAt = performance.now();
    const still = await store.renew(
      this.holder,
      mine.map(([, o]) => ({ stream: o.stream, token: o.token })),
    );
    for (const [shard, o] of mine) {
      if (this.#owned.get(shard) !== o) continue;
      if (still.has(o.stream)) o.validUntil = sentAt + store.ttlMs;
      else this.#lose(shard, o);
    }
    this.#healthy = true;
    // After a loss this process is fenced off for good (onLost ends it): taking shards again
    // would fight the engine that holds them now.
    if (this.#stopped || this.#lost > 0) return;
    // 2. Membership and the cluster's leases.
    const members = await store.heartbeat(this.cluster, this.holder, this.#o.engine);
    this.#members = members.length;
    const leases = await store.leases(this.cluster);
    // 3. Rebalance.
    const n = this.#o.shards;
    const live = Math.max(1, members.length);
    const lo = Math.floor(n / live);
    const hi = Math.ceil(n / live);
    const held = new Map<string, number>(members.map((m) => [m.holder, 0]));
    const taken = new Set<number>();
    for (const l of leases) {
      // A live lease of an earlier process of this engine (it crashed and was restarted) is ours
      // to take back at once: acquire moves the token, fencing the old process off.
      const previousLife = l.engine === this.#o.engine && l.holder !== this.holder;
      if (!l.live || l.shard >= n || previousLife) continue;
      taken.add(l.shard);
      if (held.has(l.holder)) held.set(l.holder, (held.get(l.holder) as number) + 1);
    }
    const owned = this.#owned.size;
    const someoneShort = [...held.entries()].some(([h, c]) => h !== this.holder && c < lo);
    if (owned > hi || (owned > lo && someoneShort)) {
      const victim = [...this.#owned.entries()]
        .filter(([, o]) => !o.handingOver)
        .map(([s]) => s)
        .sort((a, b) => b - a)[0];
      if (victim !== undefined) void this.#handOver(victim);
      return;
    }
    if (owned >= hi) return;
    // Free shards, starting at an offset of our own so joining engines do not all race for the
    // same one.
    const free: number[] = [];
    const start = hashOf(this.holder) % n;
    for (let i = 0; i < n; i++) {
      const s = (start + i) % n;
      if (!taken.has(s) && !this.#owned.has(s)) free.push(s);
    }
    for (const shard of free) {
      if (this.#owned.size >= hi || this.#stopped) break;
      await this.#acquire(shard);
    }
  }

  async #acquire(shard: number): Promise<void> {
    const stream = orderflowStream(this.#o.prefix, this.#o.shards, shard);
    const sentAt = performance.now();
    const got = await this.#o.store.acquire({
      cluster: this.cluster,
      stream,
      shard,
      holder: this.holder,
      engine: this.#o.engine,
    });
    if (!got || this.#stopped) return;
    this.#owned.set(shard, {
      stream,
      token: got.token,
      validUntil: sentAt + this.#o.store.ttlMs,
      handingOver: false,
    });
    this.#acquired++;
    const takeover = got.previousEngine !== null && got.previousEngine !== this.#o.engine;
    if (takeover) this.#takeovers++;
    const from = streamIdOf(got.cursor);
    this.#o.feed.add(shard, stream, got.token, from);
    this.#o.log.info(
      { shard, stream, token: got.token, from, previous: got.previousEngine },
      'engine shards: shard acquired; reading from its committed cursor',
    );
  }

  /** Stop reading, checkpoint, wait for the commit, release. Aborted (reading resumes) on timeout. */
  async #handOver(shard: number): Promise<void> {
    const o = this.#owned.get(shard);
    if (!o || o.handingOver) return;
    o.handingOver = true;
    const { feed, log } = this.#o;
    feed.pause(shard);
    const deadline = performance.now() + (this.#o.handoverTimeoutMs ?? 5000);
    while (!feed.settled(shard)) {
      if (this.#owned.get(shard) !== o) return; // lost meanwhile
      if (performance.now() > deadline || this.#stopped) {
        o.handingOver = false;
        feed.resume(shard);
        log.warn({ shard }, 'engine shards: handover timed out waiting for the commit; keeping the shard');
        return;
      }
      this.#o.checkpoint();
      await sleep(10);
    }
    feed.remove(shard);
    this.#owned.delete(shard);
    await this.#o.store
      .release(this.holder, o.stream, o.token)
      .catch((err: unknown) =>
        log.warn({ err: (err as Error).message, shard }, 'engine shards: release failed; the lease expires'),
      );
    this.#handovers++;
    log.info({ shard, token: o.token }, 'engine shards: shard handed over');
  }

  #lose(shard: number, o: OwnedShard): void {
    this.#owned.delete(shard);
    this.#o.feed.remove(shard);
    this.#lost++;
    this.#o.log.error(
      { shard, token: o.token },
      'engine shards: lease lost to another engine; its uncommitted ticks here can no longer be saved',
    );
    this.#o.onLost(shard);
  }

  /**
   * Leaves the cluster: stops the rounds, releases every lease (call after the writer's last
   * flush, so the next owners start from the final cursors) and deletes the member row.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#round?.catch(() => {});
    const { store, log } = this.#o;
    const owned = [...this.#owned.entries()];
    this.#owned.clear();
    await Promise.all(
      owned.map(([shard, o]) =>
        store
          .release(this.holder, o.stream, o.token)
          .catch((err: unknown) =>
            log.warn({ err: (err as Error).message, shard }, 'engine shards: release failed'),
          ),
      ),
    );
    await store.leave(this.holder).catch(() => {});
    if (owned.length > 0) log.info({ released: owned.map(([s]) => s) }, 'engine shards: leases released');
  }
}

function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
