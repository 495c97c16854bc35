import type { ServerConfig } from '../../env.ts';
import { TokenCrypto } from './token-crypto.ts';

/** One TokenCrypto per (frozen) configuration: the key ring is parsed once at start. */
const byConfig = new WeakMap<ServerConfig, TokenCrypto>();

export function tokenCryptoOf(config: ServerConfig): TokenCrypto {
  let c = byConfig.get(config);
  if (!c) {
    c = new TokenCrypto(config.tokenKeys);
    byConfig.set(config, c);
  }
  return c;
}
