import { isIP } from 'node:net';

/**
 * The client's address for throttling and the audit log. The console's web server forwards
 * `/trpc` from the same machine, so without this every browser would share one address (the
 * proxy's), and ten wrong passwords from anyone would lock everyone's per-IP login budget.
 *
 * X-Forwarded-For is believed only when the direct peer is a configured trusted proxy; then the
 * hops are read right to left and the first address that is not itself a trusted proxy is the
 * client. A client cannot choose its address by sending the header itself: its own entries sit
 * to the left of the address its proxy appended.
 */
export function clientIp(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: ReadonlySet<string>,
): string | null {
  const direct = normalize(peer);
  if (!direct) return null;
  if (!trustedProxies.has(direct) || forwardedFor === undefined) return direct;
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
