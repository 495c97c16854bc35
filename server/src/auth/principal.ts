import { asTenantId, type SessionId, type TenantId, type UserId } from '@aegis/shared/ids';
import type { ApiKeyScope } from './permissions.ts';

/** Who is calling. Resolved once per request by the authentication middleware (trpc.ts §3). */
export interface AuthUser {
  readonly id: UserId;
  readonly email: string;
  readonly displayName: string;
  readonly isPlatformAdmin: boolean;
  readonly mustChangePassword: boolean;
}

export interface SessionRecord {
  /** SHA-256 hex of the token (the token itself is never stored). */
  readonly id: SessionId;
  readonly userId: UserId;
  readonly activeTenantId: TenantId | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly reauthenticatedAt: Date | null;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly tenantId: TenantId;
  readonly userId: UserId;
  readonly name: string;
  readonly prefix: string;
  readonly scopes: readonly ApiKeyScope[];
  readonly expiresAt: Date | null;
  readonly lastUsedAt: Date | null;
}

export type Principal =
  | { readonly kind: 'session'; readonly user: AuthUser; readonly session: SessionRecord }
  | { readonly kind: 'api_key'; readonly user: AuthUser; readonly apiKey: ApiKeyRecord };

/** The desk a request acts on: from the session's active desk or the API key's desk. */
export function principalTenantId(p: Principal): TenantId | null {
  const id = p.kind === 'session' ? p.session.activeTenantId : p.apiKey.tenantId;
  return id === null ? null : asTenantId(id);
}

/** The audit actor for a principal: the key when a key acted, else the user. */
export function actorOf(p: Principal): { type: 'user' | 'api_key'; id: string } {
  return p.kind === 'api_key' ? { type: 'api_key', id: p.apiKey.id } : { type: 'user', id: p.user.id };
}
