import { asSessionId, asTenantId, asUserId } from '@aegis/shared/ids';
import { describe, expect, it } from 'vitest';
import { OutageAuthorizations } from './outage-authorization.ts';
import type { Principal } from './principal.ts';

const user = (id: string) => ({
  id: asUserId(id),
  email: `${id}@x`,
  displayName: id,
  isPlatformAdmin: false,
  mustChangePassword: false,
});
const session = (userId: string, expiresAt: Date): Principal => ({
  kind: 'session',
  user: user(userId),
  session: {
    id: asSessionId('h'),
    userId: asUserId(userId),
    activeTenantId: asTenantId('desk-1'),
    createdAt: new Date(0),
    expiresAt,
    absoluteExpiresAt: expiresAt,
    reauthenticatedAt: null,
  },
});
const cookie = (token: string) => ({ bearer: null, cookieToken: token });
const later = new Date(Date.now() + 3_600_000);

describe('OutageAuthorizations', () => {
  it('returns what the database last confirmed for the same credential only', () => {
    const memo = new OutageAuthorizations();
    memo.rememberPrincipal(cookie('a'), session('u1', later));
    memo.rememberRole(cookie('a'), asTenantId('desk-1'), 'trader');
    expect(memo.principal(cookie('a'))?.user.id).toBe('u1');
    expect(memo.role(cookie('a'), asTenantId('desk-1'))).toBe('trader');
    expect(memo.role(cookie('a'), asTenantId('desk-2'))).toBeNull();
    expect(memo.principal(cookie('b'))).toBeNull();
    expect(memo.principal({ bearer: 'a', cookieToken: null })?.user.id).toBe('u1');
    expect(memo.principal({ bearer: null, cookieToken: null })).toBeNull();
  });

  it('never outlives the session, and forgets roles when the credential now names another user', () => {
    const memo = new OutageAuthorizations();
    memo.rememberPrincipal(cookie('a'), session('u1', new Date(Date.now() + 1_000)));
    memo.rememberRole(cookie('a'), asTenantId('desk-1'), 'admin');
    expect(memo.principal(cookie('a'), new Date(Date.now() + 2_000))).toBeNull();
    expect(memo.role(cookie('a'), asTenantId('desk-1'), new Date(Date.now() + 2_000))).toBeNull();
    memo.rememberPrincipal(cookie('a'), session('u2', later));
    expect(memo.role(cookie('a'), asTenantId('desk-1'))).toBeNull();
    memo.forget(cookie('a'));
    expect(memo.principal(cookie('a'))).toBeNull();
  });

  it('forgets a confirmation older than its time to live', async () => {
    const memo = new OutageAuthorizations({ ttlMs: 20 });
    memo.rememberPrincipal(cookie('a'), session('u1', later));
    await new Promise((r) => setTimeout(r, 60));
    expect(memo.principal(cookie('a'))).toBeNull();
  });
});
