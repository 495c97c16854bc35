import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/**
 * The client's address for throttling, rate limits, sessions and the audit log. The console's
 * web server forwards `/trpc`, so without forwarding every browser would share one address (the
 * forwarder's), and one guesser would exhaust everyone's per-address login budget.
 *
 * X-Forwarded-For is believed only from a proven hop:
 * - the console's forwarder, which sends the per-start FORWARDER_SECRET in `x-aegis-forwarder`
 *   (compared in constant time). An address cannot prove this: every local process shares
 *   loopback, so under `npm start` loopback is NOT trusted, and any other local process's
 *   X-Forwarded-For is ignored;
 * - a peer listed in TRUSTED_PROXIES (a load balancer in front of a separate deployment).
 * Then the hops are read right to left and the first address that is not itself a trusted proxy
 * is the client. A client cannot choose its address by sending the header itself: its own
 * entries sit to the left of the address its proxy appended.
 */
export const FORWARDER_HEADER = 'x-aegis-forwarder';

/** SHA-256 of the secret: fixed length for timingSafeEqual, and the secret is not kept around. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** True when the request carries the forwarder secret. */
export function isProvenForwarder(
  headers: IncomingHttpHeaders,
  forwarderSecretDigest: Buffer | null,
): boolean {
  const presented = headers[FORWARDER_HEADER];
  if (!forwarderSecretDigest || typeof presented !== 'string' || presented === '') return false;
  return timingSafeEqual(secretDigest(presented), forwarderSecretDigest);
}

/** The client address of a Node request, under the server's proxy configuration. */
export function requestClientIp(
  req: { headers: IncomingHttpHeaders; socket: { remoteAddress?: string | undefined } },
  config: { trustedProxies: ReadonlySet<string>; forwarderSecretDigest: Buffer | null },
): string | null {
  const proven = isProvenForwarder(req.headers, config.forwarderSecretDigest);
  // The header has done its job; nothing later (logs, handlers) gets to see the secret.
  delete req.headers[FORWARDER_HEADER];
  return clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.trustedProxies, proven);
}

export function clientIp(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: ReadonlySet<string>,
  /** The direct peer proved itself the console's forwarder (shared secret). */
  provenForwarder = false,
): string | null {
  const direct = normalize(peer);
  if (!direct) return null;
  if (!(provenForwarder || trustedProxies.has(direct)) || forwardedFor === undefined) return direct;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => normalize(h.trim()))
    .filter((h): h is string => h !== null);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!trustedProxies.has(hop)) return hop;
  }
  return direct;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything that is not an IP address → null. */
export function normalize(address: string | undefined): string | null {
  if (!address) return null;
  const a = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return isIP(a) ? a : null;
}
