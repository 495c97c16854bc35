import { brokerConnections, oauthProviders, oauthTransactions, tenants } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { asTenantId } from '@aegis/shared/ids';
import { type AnyColumn, and, eq, notInArray, or, sql } from 'drizzle-orm';
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

/**
 * The batch loop every rotation shares (broker secrets here, webhook secrets in
 * alerts/rotate-secrets.ts): which rows are stale, re-sealing one secret, rows that would not open
 * kept out of later batches, and one transaction per batch until a batch comes back short.
 */
export function resealer(db: Db, crypto: TokenCrypto, options: { readonly batchSize?: number } = {}) {
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
  return {
    /** Rows whose secret is under another key. Not LIKE: a kid may hold `_`, a LIKE wildcard. */
    stale: (col: AnyColumn) => sql`(${col} is not null and left(${col}, ${prefix.length}) <> ${prefix})`,
    notSkipped: (table: string, col: AnyColumn) =>
      skipOf(table).size === 0 ? sql`true` : notInArray(col, [...skipOf(table)]),
    /** `sealed` under the active key; as it was when it does not open (named in `failed`). */
    reseal: (table: string, sealed: string | null, b: SecretBinding): string | null => {
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
    },
    /** Runs `batch` in its own transaction until it handles fewer rows than a full batch. */
    drain: async (tenantId: string, batch: (tx: Tx) => Promise<number>) => {
      for (;;) {
        const n = await withTenant(db, tenantId, batch);
        if (n > 0) batches++;
        if (n < batchSize) return;
      }
    },
    batchSize,
    result: (): RotationResult => ({ activeKid: active, resealed, batches, failed }),
  };
}

export async function rotateTokenKeys(
  db: Db,
  crypto: TokenCrypto,
  options: { readonly batchSize?: number } = {},
): Promise<RotationResult> {
  const { stale, notSkipped, reseal, drain, batchSize, result } = resealer(db, crypto, options);
  const desks = await db.select({ id: tenants.id }).from(tenants);
  for (const desk of desks) {
    const tenantId = asTenantId(desk.id);
    await drain(tenantId, async (tx) => {
      const rows = await tx
        .select()
        .from(brokerConnections)
        .where(
          and(
            eq(brokerConnections.tenantId, tenantId),
            notSkipped('broker_connections', brokerConnections.id),
            or(
              stale(brokerConnections.accessTokenEnc),
              stale(brokerConnections.refreshTokenEnc),
              stale(brokerConnections.credentialsEnc),
            ),
          ),
        )
        .limit(batchSize)
        .for('update');
      for (const c of rows)
        await tx
          .update(brokerConnections)
          .set({
            accessTokenEnc: reseal(
              'broker_connections',
              c.accessTokenEnc,
              bindingOf(tenantId, c.id, 'access_token'),
            ),
            refreshTokenEnc: reseal(
              'broker_connections',
              c.refreshTokenEnc,
              bindingOf(tenantId, c.id, 'refresh_token'),
            ),
            credentialsEnc: reseal(
              'broker_connections',
              c.credentialsEnc,
              bindingOf(tenantId, c.id, 'credentials'),
            ),
          })
          .where(eq(brokerConnections.id, c.id));
      return rows.length;
    });
    await drain(tenantId, async (tx) => {
      const rows = await tx
        .select()
        .from(oauthProviders)
        .where(
          and(
            eq(oauthProviders.tenantId, tenantId),
            notSkipped('oauth_providers', oauthProviders.id),
            stale(oauthProviders.clientSecretEnc),
          ),
        )
        .limit(batchSize)
        .for('update');
      for (const p of rows)
        await tx
          .update(oauthProviders)
          .set({
            clientSecretEnc: reseal(
              'oauth_providers',
              p.clientSecretEnc,
              bindingOf(tenantId, p.id, 'client_secret'),
            ),
          })
          .where(eq(oauthProviders.id, p.id));
      return rows.length;
    });
    await drain(tenantId, async (tx) => {
      const rows = await tx
        .select()
        .from(oauthTransactions)
        .where(
          and(
            eq(oauthTransactions.tenantId, tenantId),
            notSkipped('oauth_transactions', oauthTransactions.id),
            stale(oauthTransactions.codeVerifierEnc),
          ),
        )
        .limit(batchSize)
        .for('update');
      for (const t of rows)
        await tx
          .update(oauthTransactions)
          .set({
            codeVerifierEnc: reseal(
              'oauth_transactions',
              t.codeVerifierEnc,
              bindingOf(tenantId, t.id, 'code_verifier'),
            )!,
          })
          .where(eq(oauthTransactions.id, t.id));
      return rows.length;
    });
  }
  return result();
}
