import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { AppError, ErrorCode, isAppErrorFor } from '@aegis/shared/errors';

/**
 * Where a webhook may point (SSRF guard). A URL is accepted only over https, except http to a
 * loopback host when `allowLocalhost` is set (development and tests). Every address a host name
 * resolves to is checked when the request connects (the check sits in the socket's `lookup`,
 * so a name that resolves to a public address at creation and a private one later is refused
 * at send time: no DNS-rebinding window). Private, loopback, link-local, CGNAT, multicast and
 * reserved ranges are refused unless `allowPrivateAddresses` (development only).
 */

export interface TargetPolicy {
  /** http:// and loopback addresses for `localhost` / 127.0.0.1 / [::1] targets. */
  readonly allowLocalhost: boolean;
  /** Private and reserved address ranges (a development machine's LAN); never in production. */
  readonly allowPrivateAddresses: boolean;
}

const TARGET_REFUSED = 'target_refused';

/**
 * A target the policy refuses: an AppError BAD_INPUT about the field `url` with reason
 * `target_refused`, not a class. At creation it is the client's bad input as it stands; at send
 * time (sender.ts) `isTargetRefused` tells it from a network failure. It also reaches node's
 * http request through `guardedLookup`, which reports it as the request's error.
 */
const targetRefused = (why: string): AppError =>
  new AppError(ErrorCode.BAD_INPUT, why, { field: 'url', reason: TARGET_REFUSED });

/** True for a target the policy refuses (checkTargetUrl, guardedLookup). */
export const isTargetRefused = (e: unknown): e is AppError =>
  isAppErrorFor(e, ErrorCode.BAD_INPUT, TARGET_REFUSED);

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
// No `::ffff:0:0/96` here: BlockList matches IPv4 addresses against IPv4-mapped ranges, so that
// entry would refuse every IPv4 address. Mapped addresses are unwrapped and judged as IPv4 below.
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const isLoopbackAddress = (a: string) => a === '::1' || a.startsWith('127.');

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** Whether an address may be connected to under the policy (for a host known to be loopback or not). */
export function addressAllowed(address: string, loopbackHost: boolean, policy: TargetPolicy): boolean {
  if (loopbackHost && policy.allowLocalhost) return isLoopbackAddress(address);
  // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const a = mapped ?? address;
  if (policy.allowPrivateAddresses) return true;
  return !blocked.check(a, family(a));
}

/** Refuses a URL the policy never allows (checked when an endpoint is created and before each send). */
export function checkTargetUrl(raw: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw targetRefused('not a URL');
  }
  if (url.username || url.password) throw targetRefused('a URL with credentials is refused');
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === 'http:') {
    if (!(loopback && policy.allowLocalhost)) throw targetRefused('https is required');
  } else if (url.protocol !== 'https:') {
    throw targetRefused('https is required');
  }
  if (loopback && !policy.allowLocalhost) throw targetRefused('loopback targets are refused');
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !addressAllowed(literal, loopback, policy))
    throw targetRefused('private or reserved addresses are refused');
  return url;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | { address: string; family: number }[],
  family?: number,
) => void;

/**
 * A `lookup` for http(s).request that resolves the host and refuses the connection when any
 * address it would use is not allowed.
 */
export function guardedLookup(policy: TargetPolicy, loopbackHost: boolean) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as { address: string; family: number }[];
      const refused = list.find((a) => !addressAllowed(a.address, loopbackHost, policy));
      if (refused || list.length === 0) {
        return callback(targetRefused('the host resolves to a private or reserved address'), '');
      }
      if (options.all) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}

export const isLoopbackHost = (url: URL): boolean => LOOPBACK_HOSTS.has(url.hostname);
