import type { Sql } from 'postgres';

/**
 * The SQL of order-flow shard leases (drizzle/0022_engine_shard_leases.sql). Every statement is
 * one round trip and runs on PostgreSQL's clock (`now()`), so engines with skewed clocks agree on
 * expiry. The engine-side policy (when to take, keep and hand over) is shard-coordinator.ts.
 *
 * - acquire: succeeds only when the row is free (expired or released) or held by an earlier
 *   incarnation of the same engine name (a restarted engine needs not wait out its own TTL: its
 *   supervisor runs one process per name, and the token moves, so the old one is fenced off).
 *   The token goes up by one on every acquire. The shard's committed cursor is read in a second
 *   statement of the same transaction: a takeover waits for a commit that holds the lease row
 *   (FOR SHARE in the cursor fence), and the next statement's snapshot then sees that commit.
 * - renew: only rows still naming this holder and token. A renewal that finds no row means the
 *   lease moved on: the caller must stop.
 * - release: expiry in the past, holder and token kept (the token keeps counting on the next
 *   acquire); the next engine takes it at once.
 */
export interface AcquiredShard {
  readonly stream: string;
  readonly shard: number;
  readonly token: number;
  /** The committed cursor (`<token>/<stream id>`), or null when the shard was never committed. */
  readonly cursor: string | null;
  /** The engine that held it before (null: first acquisition). */
  readonly previousEngine: string | null;
}

export interface LeaseRow {
  readonly stream: string;
  readonly shard: number;
  readonly holder: string;
  readonly engine: string;
  readonly token: number;
  readonly live: boolean;
}

export interface MemberRow {
  readonly holder: string;
  readonly engine: string;
}

/** The engine_cursors row of a shard stream (the writer upserts it with the ticks). */
export const shardCursorName = (stream: string): string => `feed:orderflow:${stream}`;

/** A position names its fencing token and the last stream id it covers: `<token>/<id>`. */
export function shardPosition(token: number, id: string): string {
  return `${token}/${id}`;
}

/** The stream id of a position (`0-0` when there is none). */
export function streamIdOf(position: string | null): string {
  if (!position) return '0-0';
  const slash = position.indexOf('/');
  return slash < 0 ? '0-0' : position.slice(slash + 1);
}

export class ShardLeaseStore {
  readonly #sql: Sql;
  readonly #ttlMs: number;

  constructor(sql: Sql, ttlMs: number) {
    this.#sql = sql;
    this.#ttlMs = ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  async acquire(o: {
    cluster: string;
    stream: string;
    shard: number;
    holder: string;
    engine: string;
  }): Promise<AcquiredShard | null> {
    return this.#sql.begin(async (tx) => {
      const rows = await tx<{ token: string; previous: string | null }[]>`
        with prev as (select engine from engine_shard_leases where stream = ${o.stream})
        insert into engine_shard_leases as l
          (stream, cluster, shard, holder, engine, fencing_token, acquired_at, expires_at)
        values (${o.stream}, ${o.cluster}, ${o.shard}, ${o.holder}, ${o.engine}, 1, now(),
                now() + ${this.#ttlMs} * interval '1 millisecond')
        on conflict (stream) do update set
          holder = excluded.holder,
          engine = excluded.engine,
          fencing_token = l.fencing_token + 1,
          acquired_at = now(),
          expires_at = excluded.expires_at
        where l.expires_at <= now() or (l.engine = excluded.engine and l.holder <> excluded.holder)
        returning l.fencing_token::text as token, (select engine from prev) as previous`;
      const row = rows[0];
      if (!row) return null;
      const cursor = await tx<{ position: string }[]>`
        select position from engine_cursors where name = ${shardCursorName(o.stream)}`;
      return {
        stream: o.stream,
        shard: o.shard,
        token: Number(row.token),
        cursor: cursor[0]?.position ?? null,
        previousEngine: row.previous,
      };
    }) as Promise<AcquiredShard | null>;
  }

  /** Renews the given leases of this holder; returns the streams still held. */
  async renew(holder: string, leases: readonly { stream: string; token: number }[]): Promise<Set<string>> {
    if (leases.length === 0) return new Set();
    const rows = await this.#sql<{ stream: string }[]>`
      update engine_shard_leases as l
         set expires_at = now() + ${this.#ttlMs} * interval '1 millisecond'
        from (select unnest(${this.#sql.array(leases.map((l) => l.stream))}::text[]) as stream,
                     unnest(${this.#sql.array(leases.map((l) => String(l.token)))}::bigint[]) as token) as mine
       where l.stream = mine.stream and l.fencing_token = mine.token and l.holder = ${holder}
      returning l.stream`;
    return new Set(rows.map((r) => r.stream));
  }

  async release(holder: string, stream: string, token: number): Promise<boolean> {
    const rows = await this.#sql`
      update engine_shard_leases set expires_at = now() - interval '1 millisecond'
       where stream = ${stream} and holder = ${holder} and fencing_token = ${token}
      returning stream`;
    return rows.length > 0;
  }

  async leases(cluster: string): Promise<LeaseRow[]> {
    const rows = await this.#sql<
      { stream: string; shard: number; holder: string; engine: string; token: string; live: boolean }[]
    >`
      select stream, shard, holder, engine, fencing_token::text as token, expires_at > now() as live
        from engine_shard_leases where cluster = ${cluster} order by shard`;
    return rows.map((r) => ({ ...r, token: Number(r.token) }));
  }

  /** Announces this engine as a live member and returns every live member of the cluster. */
  async heartbeat(cluster: string, holder: string, engine: string): Promise<MemberRow[]> {
    return this.#sql.begin(async (tx) => {
      await tx`
        insert into engine_shard_members (holder, cluster, engine, expires_at)
        values (${holder}, ${cluster}, ${engine}, now() + ${this.#ttlMs} * interval '1 millisecond')
        on conflict (holder) do update set expires_at = excluded.expires_at`;
      // An earlier process of this engine (crashed, restarted) is no member any more; long-dead
      // members are swept by whoever is alive.
      await tx`delete from engine_shard_members
                where cluster = ${cluster} and holder <> ${holder}
                  and (engine = ${engine} or expires_at < now() - interval '1 hour')`;
      return tx<MemberRow[]>`
        select holder, engine from engine_shard_members
         where cluster = ${cluster} and expires_at > now() order by holder`;
    }) as Promise<MemberRow[]>;
  }

  async leave(holder: string): Promise<void> {
    await this.#sql`delete from engine_shard_members where holder = ${holder}`;
  }
}
