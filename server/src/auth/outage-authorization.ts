import { createHash } from 'node:crypto';
import type { TenantId } from '@aegis/shared/ids';
import { LRUCache } from 'lru-cache';
import type { RequestCredentials } from '../context.ts';
import type { Role } from './permissions.ts';
import type { Principal } from './principal.ts';

/**
 * Last-known authorizations, for risk-reducing procedures (halt.engage, orders.cancel) while
 * PostgreSQL is unreachable. Every request authenticates against PostgreSQL, so without this an
 * operator could not engage the halt during an outage: the very moment it matters most.
 *
 * What it remembers: per credential (stored only as its SHA-256, like the session table), the
 * principal the database last confirmed and the caller's role on each desk it last acted on.
 * What it is used for: nothing but a procedure declared `riskReducing`, and only when the
 * database answered with a transient failure (connection refused, shutting down). Any other
 * request still fails with 503. A remembered authorization is at most `ttlMs` old and never
 * outlives the session's or key's own expiry; a credential revoked in that window could at worst
 * halt trading or cancel its desk's orders, which only reduce risk.
 */
export interface OutageAuthorizationOptions {
  /** How long a confirmation is trusted after the database last gave it; default 5 min. */
  readonly ttlMs?: number;
  /** Credentials remembered at most (least recently used go first); default 10,000. */
  readonly max?: number;
}

interface Remembered {
  readonly principal: Principal;
  readonly roles: Map<string, Role>;
}

export class OutageAuthorizations {
  readonly #cache: LRUCache<string, Remembered>;

  constructor(o: OutageAuthorizationOptions = {}) {
    this.#cache = new LRUCache({ max: o.max ?? 10_000, ttl: o.ttlMs ?? 5 * 60_000 });
  }

  /** The database just confirmed this principal for these credentials. */
  rememberPrincipal(credentials: RequestCredentials, principal: Principal): void {
    const key = keyOf(credentials);
    if (!key) return;
    const prev = this.#cache.get(key, { updateAgeOnGet: false });
    const sameUser = prev?.principal.user.id === principal.user.id;
    this.#cache.set(key, { principal, roles: sameUser ? prev.roles : new Map() });
  }

  /** The database just confirmed this principal's role on a desk. */
  rememberRole(credentials: RequestCredentials, tenantId: TenantId, role: Role): void {
    const key = keyOf(credentials);
    const entry = key ? this.#cache.get(key, { updateAgeOnGet: false }) : undefined;
    entry?.roles.set(tenantId, role);
  }

  /** The principal last confirmed for these credentials, if still within both deadlines. */
  principal(credentials: RequestCredentials, now = new Date()): Principal | null {
    const key = keyOf(credentials);
    const entry = key ? this.#cache.get(key, { updateAgeOnGet: false }) : undefined;
    if (!entry || expired(entry.principal, now)) return null;
    return entry.principal;
  }

  /** The role last confirmed for these credentials on this desk. */
  role(credentials: RequestCredentials, tenantId: TenantId, now = new Date()): Role | null {
    const key = keyOf(credentials);
    const entry = key ? this.#cache.get(key, { updateAgeOnGet: false }) : undefined;
    if (!entry || expired(entry.principal, now)) return null;
    return entry.roles.get(tenantId) ?? null;
  }

  /** Forgets a credential (logout, revocation seen by this process). */
  forget(credentials: RequestCredentials): void {
    const key = keyOf(credentials);
    if (key) this.#cache.delete(key);
  }
}

function keyOf(c: RequestCredentials): string | null {
  const token = c.bearer ?? c.cookieToken;
  if (token === null) return null;
  // Never the token itself in memory longer than the request: its hash, as the database keeps it.
  return createHash('sha256').update(token).digest('base64url');
}

function expired(p: Principal, now: Date): boolean {
  if (p.kind === 'session') return p.session.expiresAt <= now || p.session.absoluteExpiresAt <= now;
  return p.apiKey.expiresAt !== null && p.apiKey.expiresAt <= now;
}
