import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AppError, ErrorCode, isAppErrorFor } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';

/**
 * Dispatcher leases in PostgreSQL (execution_leases): one holder per broker resource at a time —
 * `paper:<deskId>` for a desk's paper account, `connection:<connectionId>` for a linked broker.
 *
 * - Acquire: an upsert that succeeds only when the row is free (expired, released) or already
 *   ours. Expiry is PostgreSQL's clock (`now()`), so servers with skewed clocks agree.
 * - Fencing: the token goes up by one whenever the lease changes hands (or is re-taken after it
 *   lapsed); outbox claims are fenced with it in SQL (outbox.ts), so a stale holder cannot claim.
 * - Renew: every `renewMs`, all leases of this holder in one statement. Locally a lease counts as
 *   held until (time the renewal was *sent*) + TTL, measured on the monotonic clock: a holder
 *   whose renewals stop (database unreachable, process stalled) stops sending before any other
 *   process can take over. `assertHeld()` is called before every broker call. A lapsed lease is
 *   not given up: when the database answers again it is renewed if the row still names this
 *   holder and token (nobody took it), so a database restart does not tear down the session;
 *   otherwise it is lost and the session closed.
 * - Release: the row's expiry is set in the past (the row is kept so the token keeps counting);
 *   the next holder takes it at once instead of waiting out the TTL.
 */
const LEASE_LOST = 'lease_lost';

/**
 * The lease of `resource` is no longer held by this process. An AppError UNAVAILABLE with reason
 * `lease_lost` (and the resource), not a class: callers only ask whether the lease went (the row
 * is not failed, the next holder sends it), and for anyone further up it is "not here, retry".
 */
export const leaseLost = (resource: string): AppError =>
  new AppError(ErrorCode.UNAVAILABLE, `dispatch lease ${resource} is not held by this process`, {
    reason: LEASE_LOST,
    resource,
  });

/** True for `leaseLost`: this process lost the lease it held. */
export const isLeaseLost = (e: unknown): e is AppError => isAppErrorFor(e, ErrorCode.UNAVAILABLE, LEASE_LOST);

export const paperResource = (tenantId: TenantId) => `paper:${tenantId}`;
export const connectionResource = (connectionId: string) => `connection:${connectionId}`;
export const resourceOf = (tenantId: TenantId, connectionId: string | null) =>
  connectionId === null ? paperResource(tenantId) : connectionResource(connectionId);

export class Lease {
  readonly resource: string;
  readonly token: number;
  #validUntil: number;
  #lost = false;

  constructor(resource: string, token: number, validUntil: number) {
    this.resource = resource;
    this.token = token;
    this.#validUntil = validUntil;
  }

  get held(): boolean {
    return !this.#lost && performance.now() < this.#validUntil;
  }

  /** Throws leaseLost unless this process may still talk to the broker. */
  assertHeld(): void {
    if (!this.held) throw leaseLost(this.resource);
  }

  /** @internal */
  extend(until: number): void {
    if (!this.#lost) this.#validUntil = until;
  }

  /** @internal */
  lose(): void {
    this.#lost = true;
  }
}

/**
 * Releases in flight in this process, by resource: an acquire waits for them, so a runtime that
 * replaces another in the same process (a restart in tests) takes the lease at once.
 */
const releasing = new Map<string, Promise<void>>();

export interface LeaseOptions {
  readonly ttlMs: number;
  readonly renewMs: number;
  readonly holder?: string;
}

export class LeaseManager {
  readonly holder: string;
  readonly #db: Db;
  readonly #log: Logger;
  readonly #opts: LeaseOptions;
  readonly #leases = new Map<string, Lease>();
  readonly #lostListeners = new Set<(resource: string) => void>();
  #timer: NodeJS.Timeout | null = null;
  #renewing: Promise<void> | null = null;
  #closed = false;

  constructor(db: Db, log: Logger, opts: LeaseOptions) {
    this.#db = db;
    this.#log = log;
    this.#opts = opts;
    this.holder = opts.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Called once per lease this process loses (renewal refused or lapsed). */
  onLost(listener: (resource: string) => void): () => void {
    this.#lostListeners.add(listener);
    return () => this.#lostListeners.delete(listener);
  }

  /** The lease if this process holds it now. */
  held(resource: string): Lease | null {
    const l = this.#leases.get(resource);
    return l?.held ? l : null;
  }

  /** Resources whose lease this process holds now. */
  heldResources(): string[] {
    return [...this.#leases.values()].filter((l) => l.held).map((l) => l.resource);
  }

  /**
   * Takes the lease when it is free or already ours; null when another live holder has it.
   * `previous` tells a takeover (another holder had it) from a first or renewed acquisition.
   */
  async acquire(resource: string): Promise<{ lease: Lease; takeover: boolean } | null> {
    if (this.#closed) return null;
    const mine = this.held(resource);
    if (mine) return { lease: mine, takeover: false };
    await releasing.get(resource);
    // A lease of ours that lapsed locally (renewals failed while the database was unreachable)
    // is reclaimed with its token when nobody took it meanwhile: the holder and the token are
    // unchanged, so no other process can have acted under it, and the session keeps its state.
    const lapsed = this.#leases.get(resource) ?? null;
    const keepToken = lapsed?.token ?? -1;
    const sentAt = performance.now();
    const ttl = this.#opts.ttlMs;
    const rows = await this.#db.execute<{ token: string; previous: string | null }>(sql`
      with prev as (select holder from execution_leases where resource = ${resource})
      insert into execution_leases as l (resource, holder, fencing_token, acquired_at, expires_at)
      values (${resource}, ${this.holder}, 1, now(), now() + ${ttl} * interval '1 millisecond')
      on conflict (resource) do update set
        holder = excluded.holder,
        fencing_token = case when l.holder = excluded.holder
                               and (l.expires_at > now() or l.fencing_token = ${keepToken})
                             then l.fencing_token else l.fencing_token + 1 end,
        acquired_at = case when l.holder = excluded.holder
                             and (l.expires_at > now() or l.fencing_token = ${keepToken})
                           then l.acquired_at else now() end,
        expires_at = excluded.expires_at
      where l.holder = excluded.holder or l.expires_at <= now()
      returning l.fencing_token::text as token, (select holder from prev) as previous`);
    const row = rows[0];
    if (!row) return null;
    if (lapsed && Number(row.token) === lapsed.token && this.#leases.get(resource) === lapsed) {
      lapsed.extend(sentAt + ttl);
      this.#log.info({ resource, token: lapsed.token }, 'dispatch lease reclaimed after a lapse');
      return { lease: lapsed, takeover: false };
    }
    const lease = new Lease(resource, Number(row.token), sentAt + ttl);
    if (lapsed) this.#lose(lapsed);
    this.#leases.set(resource, lease);
    this.#ensureTimer();
    const takeover = row.previous !== null && row.previous !== this.holder;
    this.#log.info(
      { resource, token: lease.token, takeover, previous: row.previous },
      'dispatch lease acquired',
    );
    return { lease, takeover };
  }

  /** Gives one lease back (its next holder takes it at once). */
  release(resource: string): Promise<void> {
    const lease = this.#leases.get(resource);
    if (!lease) return Promise.resolve();
    this.#leases.delete(resource);
    lease.lose();
    const p = this.#db
      .execute(sql`
        update execution_leases set expires_at = now() - interval '1 millisecond'
        where resource = ${resource} and holder = ${this.holder} and fencing_token = ${lease.token}`)
      .then(() => undefined)
      .catch((err: unknown) =>
        this.#log.warn({ err, resource }, 'releasing a dispatch lease failed; it expires on its own'),
      )
      .finally(() => {
        if (releasing.get(resource) === p) releasing.delete(resource);
      });
    releasing.set(resource, p);
    return p;
  }

  /** Releases every lease and stops renewing (shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#renewing?.catch(() => {});
    await Promise.all([...this.#leases.keys()].map((r) => this.release(r)));
  }

  /** Renews every lease now (the timer calls it; tests may too). */
  renew(): Promise<void> {
    this.#renewing ??= this.#renewOnce().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  async #renewOnce(): Promise<void> {
    const leases = [...this.#leases.values()];
    if (leases.length === 0) return;
    const sentAt = performance.now();
    let renewed: Set<string> | null = null;
    try {
      const rows = await this.#db.execute<{ resource: string; token: string }>(sql`
        update execution_leases set expires_at = now() + ${this.#opts.ttlMs} * interval '1 millisecond'
        where holder = ${this.holder}
          and (resource, fencing_token) in (${sql.join(
            leases.map((l) => sql`(${l.resource}, ${l.token}::bigint)`),
            sql`, `,
          )})
        returning resource, fencing_token::text as token`);
      renewed = new Set(
        rows.filter((r) => this.#leases.get(r.resource)?.token === Number(r.token)).map((r) => r.resource),
      );
    } catch (err) {
      // Unreachable database: the leases stay valid locally until their TTL runs out, then they
      // lapse (nothing is sent under them) without being given up: nobody else can take them
      // without the database either. The first renewal that reaches it revives a lease still
      // ours (same holder and token, even past its expiry) or reports it lost.
      this.#log.warn({ err }, 'dispatch lease renewal failed');
    }
    if (renewed === null) return;
    for (const l of leases) {
      if (this.#leases.get(l.resource) !== l) continue;
      if (renewed.has(l.resource)) l.extend(sentAt + this.#opts.ttlMs);
      else this.#lose(l);
    }
  }

  #lose(l: Lease): void {
    l.lose();
    this.#leases.delete(l.resource);
    this.#log.warn(
      { resource: l.resource, token: l.token },
      'dispatch lease lost: this process stops sending',
    );
    for (const listener of this.#lostListeners) {
      try {
        listener(l.resource);
      } catch (err) {
        this.#log.error({ err, resource: l.resource }, 'lease-lost listener failed');
      }
    }
  }

  #ensureTimer(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.renew(), this.#opts.renewMs);
    this.#timer.unref();
  }
}
