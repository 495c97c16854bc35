import { parseTokenKeys, TokenCrypto, tokenCryptoReason } from '@aegis/shared/crypto/token-crypto';
import { withTenantSql } from '@aegis/shared/db/client';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { Sql } from 'postgres';
import { z } from 'zod';

/**
 * A venue's market-data credentials, taken from a broker connection the desk linked on the server
 * (server/src/routers/brokers.ts `linkApiKey`): the row's `credentials_enc` is the key material as
 * JSON sealed with AES-256-GCM (shared/src/crypto/token-crypto.ts) under the server's key ring and
 * bound to (tenant, connection id, 'credentials'). The engine opens it with the same key ring,
 * from the same variables: TOKEN_ENCRYPTION_KEYS (`kid:base64,…`, the first encrypts, all
 * decrypt) and/or TOKEN_ENCRYPTION_KEY (base64 of 32 bytes) — `venueKeyRing()`.
 *
 * The connection is named by desk AND id: broker_connections is under forced row-level security
 * and the engine reads as the application role, so it sees a row only inside its desk
 * (`app.tenant_id`), and the desk is part of the ciphertext's binding anyway.
 *
 * Only API-key links are usable: Alpaca's market data stream takes key id and secret, not OAuth
 * access tokens (Alpaca does not offer OAuth on its market data streams), so an OAuth or
 * client-credentials connection is refused with a message saying what to link instead.
 *
 * The plaintext lives in the returned object only; nothing here logs, and errors never carry it.
 */
export interface VenueConnectionRef {
  readonly tenantId: string;
  readonly connectionId: string;
}

export interface VenueCredentials {
  /** `alpaca`, `coinbase`, `ccxt:<exchange>` (broker_connections.provider). */
  readonly provider: string;
  readonly environment: 'paper' | 'live';
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly passphrase?: string;
}

const sealedCredentialsSchema = z.object({
  apiKey: z.string().min(1),
  apiSecret: z.string().min(1),
  passphrase: z.string().min(1).optional(),
});

const uuid = z.uuid();

/** The key ring from TOKEN_ENCRYPTION_KEYS / TOKEN_ENCRYPTION_KEY, as the server parses them. */
export function venueKeyRing(keysList: string | undefined, single: string | undefined): TokenCrypto {
  try {
    return new TokenCrypto(parseTokenKeys(keysList, single));
  } catch (err) {
    // parseTokenKeys names the variable and what is wrong, never the key.
    throw new AppError(ErrorCode.BAD_INPUT, (err as Error).message);
  }
}

interface ConnectionRow {
  provider: string;
  environment: 'paper' | 'live';
  link_kind: string;
  status: string;
  credentials_enc: string | null;
}

/**
 * The API key and secret of the connection. `expectProvider` (e.g. `alpaca`) refuses a connection
 * of another broker. Throws AppError: NOT_FOUND (no such connection in that desk),
 * PRECONDITION_FAILED (not active, not an API-key link, wrong broker, no key configured),
 * FORBIDDEN (the secret does not open: wrong key ring, or tampered).
 */
export async function loadVenueCredentials(
  sql: Sql,
  ref: VenueConnectionRef,
  keyRing: TokenCrypto,
  options: { readonly expectProvider?: string } = {},
): Promise<VenueCredentials> {
  if (!uuid.safeParse(ref.tenantId).success || !uuid.safeParse(ref.connectionId).success)
    throw new AppError(ErrorCode.BAD_INPUT, 'venue credentials: the desk and connection ids must be UUIDs');
  const rows = await withTenantSql(
    sql,
    ref.tenantId,
    (tx) => tx<ConnectionRow[]>`
      select provider, environment, link_kind, status, credentials_enc
        from broker_connections where id = ${ref.connectionId}`,
  );
  const row = rows[0];
  const which = `broker connection ${ref.connectionId}`;
  if (!row)
    throw new AppError(ErrorCode.NOT_FOUND, `venue credentials: ${which} does not exist in that desk`);
  if (options.expectProvider && row.provider !== options.expectProvider)
    throw new AppError(
      ErrorCode.PRECONDITION_FAILED,
      `venue credentials: ${which} is a ${row.provider} connection, not ${options.expectProvider}`,
    );
  if (row.status !== 'active')
    throw new AppError(
      ErrorCode.PRECONDITION_FAILED,
      `venue credentials: ${which} is ${row.status.replace('_', ' ')}; relink it on the server`,
    );
  if (row.link_kind !== 'api_key')
    throw new AppError(
      ErrorCode.PRECONDITION_FAILED,
      `venue credentials: ${which} is linked by ${row.link_kind.replace('_', ' ')}; ${row.provider}'s market data stream takes API keys, not OAuth tokens — link the account with an API key (brokers.linkApiKey) or configure the keys directly`,
    );
  if (!row.credentials_enc)
    throw new AppError(ErrorCode.PRECONDITION_FAILED, `venue credentials: ${which} holds no API key`);
  if (!keyRing.configured)
    throw new AppError(
      ErrorCode.PRECONDITION_FAILED,
      'venue credentials: no token encryption key; set TOKEN_ENCRYPTION_KEYS or TOKEN_ENCRYPTION_KEY as on the server',
    );
  let plain: string;
  try {
    plain = keyRing.decrypt(row.credentials_enc, {
      tenantId: ref.tenantId,
      rowId: ref.connectionId,
      purpose: 'credentials',
    });
  } catch (err) {
    const code = tokenCryptoReason(err) ?? 'MALFORMED';
    throw new AppError(
      ErrorCode.FORBIDDEN,
      `venue credentials: ${which}'s key does not open (${code}); the engine needs the server's TOKEN_ENCRYPTION_KEYS`,
    );
  }
  let parsed: z.infer<typeof sealedCredentialsSchema>;
  try {
    parsed = sealedCredentialsSchema.parse(JSON.parse(plain));
  } catch {
    throw new AppError(
      ErrorCode.PRECONDITION_FAILED,
      `venue credentials: ${which} holds no readable API key`,
    );
  }
  return {
    provider: row.provider,
    environment: row.environment,
    apiKey: parsed.apiKey,
    apiSecret: parsed.apiSecret,
    ...(parsed.passphrase && { passphrase: parsed.passphrase }),
  };
}

/** Alpaca's names for the two parts, as `AlpacaFeed` takes them. */
export function alpacaKeysOf(c: VenueCredentials): { keyId: string; secretKey: string } {
  return { keyId: c.apiKey, secretKey: c.apiSecret };
}

/**
 * Where the engine's Alpaca keys come from (proposed variables, parsed by the engine's config):
 * ENGINE_ALPACA_KEY_ID + ENGINE_ALPACA_SECRET_KEY (keys given directly), or
 * ENGINE_ALPACA_CONNECTION=<desk uuid>/<connection uuid> (an API-key broker connection, opened
 * with TOKEN_ENCRYPTION_KEYS / TOKEN_ENCRYPTION_KEY). Exactly one of the two.
 */
export type AlpacaKeySource =
  | { readonly kind: 'keys'; readonly keyId: string; readonly secretKey: string }
  | { readonly kind: 'connection'; readonly ref: VenueConnectionRef };

/** `<desk uuid>/<connection uuid>` → the reference, or null when it is not that. */
export function parseConnectionRef(value: string): VenueConnectionRef | null {
  const [tenantId, connectionId, ...rest] = value.trim().split('/');
  if (rest.length > 0 || !tenantId || !connectionId) return null;
  if (!uuid.safeParse(tenantId).success || !uuid.safeParse(connectionId).success) return null;
  return { tenantId, connectionId };
}

/** The keys the Alpaca feed authenticates with, from whichever source is configured. */
export async function resolveAlpacaKeys(
  source: AlpacaKeySource,
  deps: { readonly sql?: Sql; readonly keyRing?: TokenCrypto },
): Promise<{ keyId: string; secretKey: string }> {
  if (source.kind === 'keys') return { keyId: source.keyId, secretKey: source.secretKey };
  if (!deps.sql)
    throw new AppError(
      ErrorCode.PRECONDITION_FAILED,
      'venue credentials: ENGINE_ALPACA_CONNECTION needs the database (DATABASE_URL)',
    );
  const keyRing = deps.keyRing ?? new TokenCrypto([]);
  return alpacaKeysOf(
    await loadVenueCredentials(deps.sql, source.ref, keyRing, { expectProvider: 'alpaca' }),
  );
}
