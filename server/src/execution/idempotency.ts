import { createHash } from 'node:crypto';
import { idempotencyKeys } from '@aegis/shared/db';
import { AppError, ErrorCode, isAppError } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { and, eq, sql } from 'drizzle-orm';
import { BrokerError, BrokerErrorCode } from '../brokers/types.ts';
import type { Tx } from '../db/database.ts';

/**
 * Idempotency keys for order-placing mutations, scoped to (tenant, principal, procedure). The
 * first result — success or a deterministic error — is stored and replayed for 24 h; the same
 * key with a different payload is CONFLICT; concurrent calls with one key produce one result.
 *
 * Concurrency: the claim is `INSERT … ON CONFLICT DO UPDATE … WHERE expired`. A second caller's
 * insert blocks on the first caller's uncommitted row until that transaction ends, then finds
 * the committed row (replay) or, if the first rolled back, claims the key itself. The row is then
 * locked (`FOR UPDATE`) for the rest of the transaction that does the work.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyScope {
  readonly tenantId: TenantId;
  /** `user:<id>`, `api_key:<id>` or `agent:<name>`. */
  readonly principal: string;
  /** The procedure path, e.g. `orders.place`. */
  readonly procedure: string;
  readonly key: string;
}

export type StoredOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
    };

/** Errors that are a fact about the request (replayed). Transient ones are not stored: retry. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.RATE_LIMITED,
  ErrorCode.UNAVAILABLE,
  ErrorCode.TIMEOUT,
  ErrorCode.INTERNAL,
]);
/**
 * A broker's answer is a fact about the broker at that moment, not about the request: a refused
 * credential or a lapsed gateway session is cured by relinking, after which the same key must be
 * able to go through. Only a broker's final word on the request itself (rejected, invalid) is
 * stored; BrokerError's own `retryable` covers timeouts, outages and rate limits.
 */
const BROKER_FACTS_ABOUT_THE_REQUEST: ReadonlySet<string> = new Set([
  BrokerErrorCode.REJECTED,
  BrokerErrorCode.INVALID_REQUEST,
  BrokerErrorCode.NOT_FOUND,
]);
export const isStorableError = (e: unknown): e is AppError =>
  isAppError(e) &&
  !TRANSIENT.has(e.code) &&
  !(e instanceof BrokerError && (e.retryable || !BROKER_FACTS_ABOUT_THE_REQUEST.has(e.brokerCode)));

/** Canonical JSON (sorted keys, no undefined) → SHA-256: the payload fingerprint. */
export function requestHash(payload: unknown): string {
  const canon = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(canon);
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined && x !== null)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => [k, canon(x)]),
    );
  };
  return createHash('sha256')
    .update(JSON.stringify(canon(payload)))
    .digest('hex');
}

export type ClaimResult<T> =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly outcome: StoredOutcome<T> };

const where = (s: IdempotencyScope) =>
  and(
    eq(idempotencyKeys.tenantId, s.tenantId),
    eq(idempotencyKeys.principal, s.principal),
    eq(idempotencyKeys.procedure, s.procedure),
    eq(idempotencyKeys.key, s.key),
  );

/**
 * Claims keys in one statement, as in progress: a new key, or an expired one (reused as if new),
 * is inserted and returned; a live key is not returned (one still held by an open transaction
 * blocks here until that transaction ends). The single path (`claimKey`) and the batch path
 * (placement-batch.ts) both claim through here.
 */
export function insertClaims(
  tx: Tx,
  claims: readonly { readonly scope: IdempotencyScope; readonly hash: string }[],
  now: Date,
) {
  const expiresAt = new Date(now.getTime() + IDEMPOTENCY_TTL_MS);
  return tx
    .insert(idempotencyKeys)
    .values(
      claims.map((c) => ({
        ...pick(c.scope),
        requestHash: c.hash,
        status: 'in_progress' as const,
        response: null,
        createdAt: now,
        expiresAt,
      })),
    )
    .onConflictDoUpdate({
      target: [
        idempotencyKeys.tenantId,
        idempotencyKeys.principal,
        idempotencyKeys.procedure,
        idempotencyKeys.key,
      ],
      // An expired key is reused as if new.
      set: {
        requestHash: sql`excluded.request_hash`,
        status: 'in_progress',
        response: null,
        createdAt: now,
        expiresAt,
      },
      setWhere: sql`${idempotencyKeys.expiresAt} <= ${now.toISOString()}::timestamptz`,
    })
    .returning({
      principal: idempotencyKeys.principal,
      procedure: idempotencyKeys.procedure,
      key: idempotencyKeys.key,
    });
}

/** Claims the key in `tx` or returns the stored outcome to replay. */
export async function claimKey<T>(
  tx: Tx,
  s: IdempotencyScope,
  hash: string,
  now: Date,
): Promise<ClaimResult<T>> {
  const claimed = await insertClaims(tx, [{ scope: s, hash }], now);
  if (claimed.length > 0) return { claimed: true };

  const [row] = await tx.select().from(idempotencyKeys).where(where(s)).for('update');
  if (!row) throw new AppError(ErrorCode.CONFLICT, 'idempotency key vanished; retry');
  if (row.requestHash !== hash) {
    throw new AppError(ErrorCode.CONFLICT, 'idempotency key reused with a different request', {
      reason: 'idempotency_key_reused',
    });
  }
  if (row.status !== 'completed' || !row.response) {
    throw new AppError(ErrorCode.CONFLICT, 'a request with this idempotency key is in progress', {
      reason: 'idempotency_in_progress',
    });
  }
  return { claimed: false, outcome: row.response as StoredOutcome<T> };
}

export async function completeKey<T>(tx: Tx, s: IdempotencyScope, outcome: StoredOutcome<T>): Promise<void> {
  await tx
    .update(idempotencyKeys)
    .set({ status: 'completed', response: outcome as unknown as Record<string, unknown> })
    .where(where(s));
}

/**
 * Stores a deterministic error after the working transaction rolled back (own transaction).
 * When another caller claimed the key meanwhile, its result stands: nothing is written.
 */
export async function storeErrorOutcome(
  tx: Tx,
  s: IdempotencyScope,
  hash: string,
  err: AppError,
  now: Date,
): Promise<void> {
  const outcome: StoredOutcome<never> = {
    ok: false,
    error: { code: err.code, message: err.message, ...(err.details && { details: { ...err.details } }) },
  };
  await tx
    .insert(idempotencyKeys)
    .values({
      ...pick(s),
      requestHash: hash,
      status: 'completed',
      response: outcome as unknown as Record<string, unknown>,
      createdAt: now,
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
    })
    .onConflictDoNothing();
}

/** Replays a stored outcome: the value, or the same error. */
export function replay<T>(outcome: StoredOutcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new AppError(outcome.error.code, outcome.error.message, { ...outcome.error.details, replayed: true });
}

const pick = (s: IdempotencyScope) => ({
  tenantId: s.tenantId,
  principal: s.principal,
  procedure: s.procedure,
  key: s.key,
});

/** Deterministic client order id from the idempotency scope: a retry reaches the same broker order. */
export function clientOrderIdFor(s: IdempotencyScope, claimedAt: Date): string {
  const h = createHash('sha256')
    .update(`${s.tenantId}\u0000${s.principal}\u0000${s.procedure}\u0000${s.key}\u0000${claimedAt.getTime()}`)
    .digest('hex');
  return `AE${h.slice(0, 30)}`;
}
