import { describe, expect, it } from 'vitest';
import { clientIp } from './client-ip.ts';

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
