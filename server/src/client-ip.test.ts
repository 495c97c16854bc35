import { describe, expect, it } from 'vitest';
import { clientIp, FORWARDER_HEADER, requestClientIp, secretDigest } from './client-ip.ts';

const loopback = new Set(['127.0.0.1', '::1']);

describe('clientIp', () => {
  it('uses the socket peer when it is not a trusted proxy, whatever the header says', () => {
    expect(clientIp('203.0.113.9', '10.0.0.1', loopback)).toBe('203.0.113.9');
  });

  it('takes the address the trusted proxy appended', () => {
    expect(clientIp('127.0.0.1', '198.51.100.7', loopback)).toBe('198.51.100.7');
    expect(clientIp('::ffff:127.0.0.1', '198.51.100.7', loopback)).toBe('198.51.100.7');
  });

  it('ignores hops a client forged to the left of its real address', () => {
    expect(clientIp('127.0.0.1', '1.1.1.1, 198.51.100.7', loopback)).toBe('198.51.100.7');
  });

  it('skips chained trusted proxies and garbage', () => {
    expect(clientIp('127.0.0.1', ['198.51.100.7, not-an-ip', '::1'], loopback)).toBe('198.51.100.7');
    expect(clientIp('127.0.0.1', 'nonsense', loopback)).toBe('127.0.0.1');
    expect(clientIp('127.0.0.1', undefined, loopback)).toBe('127.0.0.1');
    expect(clientIp(undefined, '198.51.100.7', loopback)).toBeNull();
  });
});

describe('requestClientIp', () => {
  const secret = 'a'.repeat(43);
  const config = { trustedProxies: new Set<string>(), forwarderSecretDigest: secretDigest(secret) };
  const req = (headers: Record<string, string>) => ({ headers, socket: { remoteAddress: '127.0.0.1' } });

  it('believes X-Forwarded-For only with the forwarder secret, and strips the secret header', () => {
    const proven = req({ 'x-forwarded-for': '198.51.100.7', [FORWARDER_HEADER]: secret });
    expect(requestClientIp(proven, config)).toBe('198.51.100.7');
    expect(proven.headers[FORWARDER_HEADER]).toBeUndefined();
    expect(requestClientIp(req({ 'x-forwarded-for': '198.51.100.7' }), config)).toBe('127.0.0.1');
    const wrong = req({ 'x-forwarded-for': '198.51.100.7', [FORWARDER_HEADER]: `${secret}b` });
    expect(requestClientIp(wrong, config)).toBe('127.0.0.1');
    expect(wrong.headers[FORWARDER_HEADER]).toBeUndefined();
  });

  it('without a configured secret no header proves anything', () => {
    const none = { trustedProxies: new Set<string>(), forwarderSecretDigest: null };
    expect(requestClientIp(req({ 'x-forwarded-for': '198.51.100.7', [FORWARDER_HEADER]: '' }), none)).toBe(
      '127.0.0.1',
    );
  });
});
