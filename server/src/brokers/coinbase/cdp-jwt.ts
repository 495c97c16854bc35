import { createPrivateKey, type KeyObject, randomBytes, sign } from 'node:crypto';
import { BrokerError, BrokerErrorCode } from '../types.ts';

/**
 * Coinbase Developer Platform (CDP) API-key JWTs ("Coinbase App API Key Authentication";
 * coinbase-advanced-py `jwt_generator.build_jwt`): one short-lived token per REST request, one
 * per WebSocket subscribe.
 *
 *   header  { alg: ES256 (EC P-256 key) | EdDSA (Ed25519 key), kid: <key name>, nonce: <random hex>, typ: JWT }
 *   claims  { iss: "cdp", sub: <key name>, nbf: now, exp: now + 120, uri?: "<METHOD> <host><path>" }
 *
 * The key name is `organizations/{org}/apiKeys/{id}`; the secret is the PEM private key Coinbase
 * showed once (SEC1 "EC PRIVATE KEY" or PKCS#8), or a base64 Ed25519 key. REST tokens carry
 * `uri` (no query string: the SDK signs the path only); WebSocket tokens do not. Signed with
 * node:crypto (ECDSA signatures in the JOSE r‖s form, `ieee-p1363`), so no JWT dependency.
 */
const TTL_S = 120;

export interface CdpKey {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly alg: 'ES256' | 'EdDSA';
}

export function loadCdpKey(name: string, secret: string): CdpKey {
  let privateKey: KeyObject;
  try {
    // Keys pasted through a form or an env file often carry literal "\n".
    const pem = secret.includes('\\n') ? secret.replace(/\\n/g, '\n') : secret;
    if (pem.trimStart().startsWith('-----BEGIN')) privateKey = createPrivateKey(pem);
    else {
      const raw = Buffer.from(pem.replace(/\s+/g, ''), 'base64');
      if (raw.length !== 32 && raw.length !== 64) throw new Error('not a 32/64-byte Ed25519 key');
      // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
      const der = Buffer.concat([
        Buffer.from('302e020100300506032b657004220420', 'hex'),
        raw.subarray(0, 32),
      ]);
      privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    }
  } catch (err) {
    // Never the key material itself in the message.
    throw new BrokerError(BrokerErrorCode.AUTH, 'coinbase: the API key secret is not a usable private key', {
      broker: 'coinbase',
      retryable: false,
      cause: err instanceof Error ? new Error(err.message) : undefined,
    });
  }
  const type = privateKey.asymmetricKeyType;
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (type === 'ec' && (curve === 'prime256v1' || curve === 'P-256'))
    return { name, privateKey, alg: 'ES256' };
  if (type === 'ed25519') return { name, privateKey, alg: 'EdDSA' };
  throw new BrokerError(BrokerErrorCode.AUTH, `coinbase: unsupported API key type ${type ?? 'unknown'}`, {
    broker: 'coinbase',
    retryable: false,
  });
}

/** `uri` claim of a REST request: "GET api.coinbase.com/api/v3/brokerage/accounts". */
export function jwtUri(method: string, url: URL): string {
  return `${method} ${url.host}${url.pathname}`;
}

export function buildCdpJwt(key: CdpKey, nowMs: number, uri?: string): string {
  const now = Math.floor(nowMs / 1000);
  const header = { alg: key.alg, kid: key.name, nonce: randomBytes(16).toString('hex'), typ: 'JWT' };
  const claims: Record<string, unknown> = { iss: 'cdp', sub: key.name, nbf: now, exp: now + TTL_S };
  if (uri) claims.uri = uri;
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(null, Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
