import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateSessionToken,
  parseCookies,
  serializeBlankSessionCookie,
  serializeSessionCookie,
  sessionCookieName,
  sessionIdOf,
} from './session.ts';

describe('session tokens', () => {
  it('are 20 random bytes in lower-case base32 (32 chars); the id is their SHA-256 hex', () => {
    const t = generateSessionToken();
    expect(t).toMatch(/^[a-z2-7]{32}$/);
    expect(generateSessionToken()).not.toBe(t);
    expect(sessionIdOf(t)).toBe(createHash('sha256').update(t).digest('hex'));
  });
});

describe('session cookie', () => {
  const expires = new Date('2030-01-01T00:00:00Z');

  it('uses the __Host- prefix with Secure on https', () => {
    const c = serializeSessionCookie({ secureCookies: true }, 'tok', expires);
    expect(c).toBe(
      '__Host-aegis_session=tok; HttpOnly; SameSite=Lax; Path=/; Expires=Tue, 01 Jan 2030 00:00:00 GMT; Secure',
    );
    expect(c).not.toMatch(/Domain=/);
  });

  it('drops the prefix (which requires Secure) on plain-http local development', () => {
    expect(sessionCookieName({ secureCookies: false })).toBe('aegis_session');
    expect(serializeSessionCookie({ secureCookies: false }, 'tok', expires)).not.toContain('Secure');
  });

  it('clears with Max-Age=0', () => {
    expect(serializeBlankSessionCookie({ secureCookies: true })).toMatch(
      /^__Host-aegis_session=; .*Max-Age=0/,
    );
  });

  it('parses Cookie headers, first occurrence wins', () => {
    const m = parseCookies('a=1; aegis_session=abc; aegis_session=evil; junk; =x');
    expect(m.get('aegis_session')).toBe('abc');
    expect(m.get('a')).toBe('1');
  });
});
