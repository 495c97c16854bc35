import type { Bus } from '@aegis/shared/bus/index';
import { withDeadline } from '@aegis/shared/deadline';
import type { UserId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import type { Desk } from '@aegis/shared/schemas/identity';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { z } from 'zod';
import type { ApiKeyRecord, AuthUser, SessionRecord } from './principal.ts';

/**
 * Validated credentials, kept for a few seconds in the server process so a burst of requests
 * with one session or API key costs one database read, not one per request.
 *
 * What is cached: the session (with its user) by session id, the API key (with its user) by
 * SHA-256 of the presented key — never a token or key itself — and the list of a user's desks as
 * `auth.me` and `desks.list` show it (auth/memberships.ts listUserDesksCached). The role that
 * authorizes a request is never cached: it is read in the same round trip that opens the tenant
 * transaction (trpc/tenant-transaction.ts), and switching desk checks membership in the database.
 * A membership change (provisioning/service.ts: role granted, changed or revoked, desk created)
 * announces the user (below), so the next list is read again.
 *
 * Invalidation is immediate, not only by TTL. Every function that ends or changes a session or
 * key (session.ts, api-keys.ts: logout, revocation, password change, role change, disabling a
 * user, re-authentication, switching desk) announces it through `authInvalidations`, which
 * 1. drops the entries from every cache in this process at once, and
 * 2. publishes the change on the bus (AUTH_INVALIDATION_CHANNEL), so every other server process
 *    drops them when the message arrives. The announcement is awaited before the change commits
 *    (it is made inside the changing transaction), so by the time the caller hears "revoked", the
 *    other servers have been told.
 * An announcement also blocks re-caching the same session, key or user for BLOCK_MS: a request
 * that read the row just before the change committed cannot put the old row back. While blocked,
 * every request reads the database, exactly as without a cache.
 *
 * A change made outside the server (SQL by hand) is seen within TTL; an expiry time passing is
 * seen at once (checked on every hit), and a session due for its sliding extension goes to the
 * database (which extends it and re-sends the cookie).
 */

export const AUTH_INVALIDATION_CHANNEL = 'aegis:auth:invalidate';
export const DEFAULT_AUTH_CACHE_TTL_MS = 2_000;
/** Longer than a transaction that announces a change takes to commit (it does so just before). */
export const AUTH_CACHE_BLOCK_MS = 2_000;
const BLOCK_MS = AUTH_CACHE_BLOCK_MS;
const MAX_ENTRIES = 20_000;

export const authInvalidationSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('session'), sessionId: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.strictObject({ kind: z.literal('api_key'), keyId: z.uuid() }),
  z.strictObject({ kind: z.literal('user'), userId: z.uuid() }),
]);
export type AuthInvalidation = z.infer<typeof authInvalidationSchema>;

interface Entry<T> {
  readonly value: T;
  readonly userId: UserId;
  readonly until: number;
}

export interface CachedSession {
  readonly session: SessionRecord;
  readonly user: AuthUser;
}

export interface CachedApiKey {
  readonly apiKey: ApiKeyRecord;
  readonly user: AuthUser;
}

export interface AuthCacheStats {
  hits: number;
  misses: number;
  invalidations: number;
  /** Desk lists (auth.me, desks.list) served from the cache, and read from the database. */
  deskHits: number;
  deskMisses: number;
}

/** SHA-256 of a presented API key: the cache's handle for it (the key itself is never kept). */
export const apiKeyCacheId = (key: string): string =>
  encodeHexLowerCase(sha256(new TextEncoder().encode(key)));

export class AuthCache {
  readonly ttlMs: number;
  readonly stats: AuthCacheStats = { hits: 0, misses: 0, invalidations: 0, deskHits: 0, deskMisses: 0 };
  readonly #now: () => number;
  readonly #sessions = new Map<string, Entry<CachedSession>>();
  readonly #keys = new Map<string, Entry<CachedApiKey>>();
  /** User id → that user's desks (names, slugs, roles), for display only. */
  readonly #desks = new Map<string, Entry<readonly Desk[]>>();
  /** Key id → cache ids of that key (one key, one presented form: normally one). */
  readonly #keyIds = new Map<string, string>();
  /** 'session:<id>', 'key:<id>', 'user:<id>' → until when nothing of it may be cached. */
  readonly #blocked = new Map<string, number>();
  /** When each key's last use was last written (so a cached key is not touched on every request). */
  readonly #keyTouchedAt = new Map<string, number>();

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_AUTH_CACHE_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The cached session for a session id, or null (absent, stale, expired, due to slide). */
  session(sessionId: string, idleMs: number): CachedSession | null {
    const e = this.#sessions.get(sessionId);
    const now = this.#now();
    if (!e || e.until <= now) return this.#miss(e && this.#sessions.delete(sessionId));
    const s = e.value.session;
    // Expired, or in the second half of its idle window (the database slides it): not served here.
    if (
      now >= s.expiresAt.getTime() ||
      now >= s.absoluteExpiresAt.getTime() ||
      s.expiresAt.getTime() - now < idleMs / 2
    ) {
      this.#sessions.delete(sessionId);
      return this.#miss();
    }
    this.stats.hits++;
    return e.value;
  }

  putSession(value: CachedSession, readStartedAt: number): void {
    if (this.ttlMs <= 0 || this.#isBlocked(`session:${value.session.id}`, value.user.id, readStartedAt))
      return;
    this.#bound(this.#sessions);
    this.#sessions.set(value.session.id, { value, userId: value.user.id, until: this.#now() + this.ttlMs });
  }

  apiKey(cacheId: string): CachedApiKey | null {
    const e = this.#keys.get(cacheId);
    const now = this.#now();
    if (!e || e.until <= now) return this.#miss(e && this.#keys.delete(cacheId));
    const expiresAt = e.value.apiKey.expiresAt;
    if (expiresAt && expiresAt.getTime() <= now) {
      this.#keys.delete(cacheId);
      return this.#miss();
    }
    this.stats.hits++;
    const touchedAt = this.#keyTouchedAt.get(e.value.apiKey.id);
    if (touchedAt === undefined) return e.value;
    // The last-use time this process wrote since caching it, so the once-a-minute write holds.
    return { ...e.value, apiKey: { ...e.value.apiKey, lastUsedAt: new Date(touchedAt) } };
  }

  putApiKey(cacheId: string, value: CachedApiKey, readStartedAt: number): void {
    if (this.ttlMs <= 0 || this.#isBlocked(`key:${value.apiKey.id}`, value.user.id, readStartedAt)) return;
    this.#bound(this.#keys);
    this.#keys.set(cacheId, { value, userId: value.user.id, until: this.#now() + this.ttlMs });
    this.#keyIds.set(value.apiKey.id, cacheId);
  }

  /** The user's desks as last read, or null (absent or stale). */
  desks(userId: UserId): readonly Desk[] | null {
    const e = this.#desks.get(userId);
    if (!e || e.until <= this.#now()) {
      if (e) this.#desks.delete(userId);
      this.stats.deskMisses++;
      return null;
    }
    this.stats.deskHits++;
    return e.value;
  }

  putDesks(userId: UserId, desks: readonly Desk[], readStartedAt: number): void {
    if (this.ttlMs <= 0 || this.#isBlocked(`user:${userId}`, userId, readStartedAt)) return;
    this.#bound(this.#desks);
    this.#desks.set(userId, { value: desks, userId, until: this.#now() + this.ttlMs });
  }

  /** The request wrote the key's last-use time (api-keys.ts touchApiKeyLastUsed). */
  noteApiKeyUsed(keyId: string, at: Date): void {
    if (this.#keyTouchedAt.size > MAX_ENTRIES) this.#keyTouchedAt.clear();
    this.#keyTouchedAt.set(keyId, at.getTime());
  }

  /** Drops what the change touches and blocks re-caching it for a while (see the module comment). */
  invalidate(change: AuthInvalidation): void {
    this.stats.invalidations++;
    const until = this.#now() + BLOCK_MS;
    this.#sweepBlocked();
    switch (change.kind) {
      case 'session':
        this.#sessions.delete(change.sessionId);
        this.#blocked.set(`session:${change.sessionId}`, until);
        break;
      case 'api_key': {
        const cacheId = this.#keyIds.get(change.keyId);
        if (cacheId !== undefined) this.#keys.delete(cacheId);
        this.#keyIds.delete(change.keyId);
        this.#blocked.set(`key:${change.keyId}`, until);
        break;
      }
      case 'user':
        this.#desks.delete(change.userId);
        for (const [id, e] of this.#sessions) if (e.userId === change.userId) this.#sessions.delete(id);
        for (const [id, e] of this.#keys) {
          if (e.userId !== change.userId) continue;
          this.#keys.delete(id);
          this.#keyIds.delete(e.value.apiKey.id);
        }
        this.#blocked.set(`user:${change.userId}`, until);
        break;
    }
  }

  clear(): void {
    this.#sessions.clear();
    this.#keys.clear();
    this.#keyIds.clear();
    this.#desks.clear();
  }

  get size(): { sessions: number; apiKeys: number; desks: number } {
    return { sessions: this.#sessions.size, apiKeys: this.#keys.size, desks: this.#desks.size };
  }

  #miss(_?: unknown): null {
    this.stats.misses++;
    return null;
  }

  /**
   * Blocked: an invalidation of this entry (or its user) is recent, or happened after the read
   * that produced the value started (the value may predate the change).
   */
  #isBlocked(entry: string, userId: UserId, readStartedAt: number): boolean {
    const now = this.#now();
    for (const k of [entry, `user:${userId}`]) {
      const until = this.#blocked.get(k);
      if (until !== undefined && (until > now || until - BLOCK_MS >= readStartedAt)) return true;
    }
    return false;
  }

  #sweepBlocked(): void {
    if (this.#blocked.size < 1_000) return;
    const now = this.#now();
    for (const [k, until] of this.#blocked) if (until <= now) this.#blocked.delete(k);
  }

  /** A full map drops its oldest entries (insertion order): memory stays bounded under churn. */
  #bound(map: Map<string, unknown>): void {
    if (map.size < MAX_ENTRIES) return;
    let drop = map.size - MAX_ENTRIES + 1 + Math.floor(MAX_ENTRIES / 10);
    for (const k of map.keys()) {
      if (drop-- <= 0) break;
      map.delete(k);
    }
  }
}

interface Registration {
  readonly cache: AuthCache;
  readonly bus: Bus | null;
  readonly log: Logger | null;
}

/**
 * Where session and key changes are announced. One per process (`authInvalidations`); a test may
 * give a server its own to stand for a separate process that hears changes only over the bus.
 */
export class AuthInvalidationHub {
  readonly #registered = new Set<Registration>();

  /** Serves `cache` with this hub's changes and with the ones heard on `bus`. Returns the undo. */
  async register(options: { cache: AuthCache; bus?: Bus; log?: Logger }): Promise<() => Promise<void>> {
    const reg: Registration = { cache: options.cache, bus: options.bus ?? null, log: options.log ?? null };
    let unsubscribe: (() => Promise<void>) | null = null;
    let closed = false;
    let retry: NodeJS.Timeout | undefined;
    const bus = options.bus;
    const listen = async (): Promise<void> => {
      if (!bus || closed) return;
      try {
        unsubscribe = await bus.subscribe(AUTH_INVALIDATION_CHANNEL, (message) => {
          const parsed = parseInvalidation(message);
          if (parsed) options.cache.invalidate(parsed);
          else options.log?.warn('auth invalidation: malformed message ignored');
        });
        if (closed) await unsubscribe().catch(() => {});
      } catch (err) {
        // Redis down at start: the server still starts (it refuses what needs Redis until it is
        // back); other servers' changes reach this cache within its TTL until the retry succeeds.
        options.log?.warn({ err: (err as Error).message }, 'auth invalidation: subscribe failed; retrying');
        retry = setTimeout(() => void listen(), 5_000);
        retry.unref();
      }
    };
    await listen();
    this.#registered.add(reg);
    return async () => {
      closed = true;
      clearTimeout(retry);
      this.#registered.delete(reg);
      await unsubscribe?.().catch(() => {});
    };
  }

  /**
   * Applies a change to every cache of this process, then publishes it on each bus (at most
   * PUBLISH_WAIT_MS: a bus that is down must not hold a revocation; the other processes then see
   * it within the TTL).
   */
  async announce(change: AuthInvalidation): Promise<void> {
    const buses = new Map<Bus, Logger | null>();
    for (const reg of this.#registered) {
      reg.cache.invalidate(change);
      if (reg.bus && !buses.has(reg.bus)) buses.set(reg.bus, reg.log);
    }
    const message = JSON.stringify(change);
    await Promise.all(
      [...buses].map(([bus, log]) =>
        withDeadline(
          bus.publish(AUTH_INVALIDATION_CHANNEL, message),
          PUBLISH_WAIT_MS,
          'auth invalidation publish',
        ).catch((err) => {
          log?.warn({ err: (err as Error).message }, 'auth invalidation: publish failed (TTL applies)');
        }),
      ),
    );
  }
}

const PUBLISH_WAIT_MS = 250;

function parseInvalidation(message: string): AuthInvalidation | null {
  try {
    const r = authInvalidationSchema.safeParse(JSON.parse(message));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** This process's hub: session.ts and api-keys.ts announce here; startServer registers its cache. */
export const authInvalidations = new AuthInvalidationHub();

/** Publishes a change on a bus only (what another process's announcement looks like here). */
export async function publishAuthInvalidation(bus: Bus, change: AuthInvalidation): Promise<void> {
  await bus.publish(AUTH_INVALIDATION_CHANNEL, JSON.stringify(authInvalidationSchema.parse(change)));
}
