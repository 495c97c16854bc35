import { brokerConnections, oauthProviders, oauthTransactions, tenants } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { type AnyColumn, and, eq, notInArray, or, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db, Tx } from '../../db/database.ts';
import { bindingOf } from './link-service.ts';
import { type SecretBinding, TokenCrypto } from './token-crypto.ts';

/**
 * Key rotation by re-encryption: every sealed secret not under the active key is decrypted with
 * the key it names and sealed again under the active one, desk by desk and table by table, in
 * batches of `batchSize` rows, each batch its own transaction holding its rows' locks (a refresh
 * of one of them waits for that batch only; a crash leaves every row readable: each is under
 * either key). Idempotent: only rows with a secret under another key are selected, so a second
 * run finds nothing to do. Afterwards the old key can be removed from TOKEN_ENCRYPTION_KEYS.
 */
export interface RotationResult {
  readonly activeKid: string;
  /** Secrets sealed again under the active key. */
  readonly resealed: number;
  /** Transactions used (one per non-empty batch). */
  readonly batches: number;
  /**
   * Secrets that could not be opened (tampered, moved to another row, or under a key no longer
   * configured): left as they are, named here; the rest is still rotated.
   */
  readonly failed: readonly FailedSecret[];
}

export interface FailedSecret {
  readonly table: string;
  readonly id: string;
  readonly purpose: string;
  readonly reason: string;
}

/** One table's sealed secrets: how to find a desk's rows and the binding each secret is sealed to. */
export interface SealedTable {
  /** The table's SQL name, as `failed` names it. */
  readonly name: string;
  readonly table: PgTable;
  readonly id: PgColumn;
  readonly tenantId: PgColumn;
  /** Each sealed column by its property name, with the binding of a row's secret in it. */
  readonly sealed: Readonly<
    Record<
      string,
      { readonly column: PgColumn; readonly binding: (tenantId: TenantId, rowId: string) => SecretBinding }
    >
  >;
}

/**
 * The rotation every table of sealed secrets shares (broker secrets here, webhook secrets in
 * alerts/rotate-secrets.ts): desk by desk, table by table in the order given, rows with a secret
 * under another key selected and locked a batch at a time, every sealed column of each re-sealed,
 * rows that would not open kept out of later batches, one transaction per batch until a batch
 * comes back short.
 */
export async function rotateSealedTables(
  db: Db,
  crypto: TokenCrypto,
  tables: readonly SealedTable[],
  options: { readonly batchSize?: number } = {},
): Promise<RotationResult> {
  const active = crypto.activeKid;
  if (!active)
    throw new Error('no token encryption key configured (TOKEN_ENCRYPTION_KEY / TOKEN_ENCRYPTION_KEYS)');
  const batchSize = options.batchSize ?? 100;
  const prefix = `v1.${active}.`;
  let resealed = 0;
  let batches = 0;
  const failed: FailedSecret[] = [];
  /** Rows with a secret that does not open, per table: not selected again. */
  const skip = new Map<string, Set<string>>();
  const skipOf = (table: string) => {
    const s = skip.get(table) ?? new Set<string>();
    skip.set(table, s);
    return s;
  };
  /** Rows whose secret is under another key. Not LIKE: a kid may hold `_`, a LIKE wildcard. */
  const stale = (col: AnyColumn) => sql`(${col} is not null and left(${col}, ${prefix.length}) <> ${prefix})`;
  const notSkipped = (table: string, col: AnyColumn) =>
    skipOf(table).size === 0 ? sql`true` : notInArray(col, [...skipOf(table)]);
  /** `sealed` under the active key; as it was when it does not open (named in `failed`). */
  const reseal = (table: string, sealed: string | null, b: SecretBinding): string | null => {
    if (sealed === null || TokenCrypto.kidOf(sealed) === active) return sealed;
    let plain: string;
    try {
      plain = crypto.decrypt(sealed, b);
    } catch (err) {
      skipOf(table).add(b.rowId);
      failed.push({
        table,
        id: b.rowId,
        purpose: b.purpose,
        reason: err instanceof Error ? err.message : 'unreadable',
      });
      return sealed;
    }
    resealed++;
    return crypto.encrypt(plain, b);
  };
  /** One batch of a desk's rows of `t`: the number of rows it handled. */
  const batch = async (tx: Tx, tenantId: TenantId, t: SealedTable): Promise<number> => {
    const keys = Object.keys(t.sealed);
    const columns = Object.fromEntries(keys.map((k) => [k, t.sealed[k]!.column]));
    const rows = (await tx
      .select({ ...columns, id: t.id })
      .from(t.table)
      .where(
        and(
          eq(t.tenantId, tenantId),
          notSkipped(t.name, t.id),
          or(...keys.map((k) => stale(t.sealed[k]!.column))),
        ),
      )
      .limit(batchSize)
      .for('update')) as Record<string, string | null>[];
    for (const row of rows) {
      const id = row.id!;
      await tx
        .update(t.table)
        .set(
          Object.fromEntries(
            keys.map((k) => [k, reseal(t.name, row[k] ?? null, t.sealed[k]!.binding(tenantId, id))]),
          ),
        )
        .where(eq(t.id, id));
    }
    return rows.length;
  };
  const desks = await db.select({ id: tenants.id }).from(tenants);
  for (const desk of desks) {
    const tenantId = asTenantId(desk.id);
    for (const t of tables)
      for (;;) {
        const n = await withTenant(db, tenantId, (tx) => batch(tx, tenantId, t));
        if (n > 0) batches++;
        if (n < batchSize) break;
      }
  }
  return { activeKid: active, resealed, batches, failed };
}

const purposeBinding = (purpose: string) => (tenantId: TenantId, rowId: string) =>
  bindingOf(tenantId, rowId, purpose);

/** The broker secrets: linked connections' tokens and credentials, desk OAuth clients, PKCE verifiers. */
const BROKER_SECRETS: readonly SealedTable[] = [
  {
    name: 'broker_connections',
    table: brokerConnections,
    id: brokerConnections.id,
    tenantId: brokerConnections.tenantId,
    sealed: {
      accessTokenEnc: { column: brokerConnections.accessTokenEnc, binding: purposeBinding('access_token') },
      refreshTokenEnc: {
        column: brokerConnections.refreshTokenEnc,
        binding: purposeBinding('refresh_token'),
      },
      credentialsEnc: { column: brokerConnections.credentialsEnc, binding: purposeBinding('credentials') },
    },
  },
  {
    name: 'oauth_providers',
    table: oauthProviders,
    id: oauthProviders.id,
    tenantId: oauthProviders.tenantId,
    sealed: {
      clientSecretEnc: { column: oauthProviders.clientSecretEnc, binding: purposeBinding('client_secret') },
    },
  },
  {
    name: 'oauth_transactions',
    table: oauthTransactions,
    id: oauthTransactions.id,
    tenantId: oauthTransactions.tenantId,
    sealed: {
      codeVerifierEnc: {
        column: oauthTransactions.codeVerifierEnc,
        binding: purposeBinding('code_verifier'),
      },
    },
  },
];

export function rotateTokenKeys(
  db: Db,
  crypto: TokenCrypto,
  options: { readonly batchSize?: number } = {},
): Promise<RotationResult> {
  return rotateSealedTables(db, crypto, BROKER_SECRETS, options);
}
