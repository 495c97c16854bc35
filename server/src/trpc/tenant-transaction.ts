import { AppError } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { lazyChild } from '@aegis/shared/logging';
import { sql } from 'drizzle-orm';
import { touchApiKeyLastUsed } from '../auth/api-keys.ts';
import type { Role } from '../auth/permissions.ts';
import { principalTenantId } from '../auth/principal.ts';
import type { Queryable, Tx } from '../db/database.ts';
import { transientKindOf } from '../transient-errors.ts';
import { checkRule, requirePrincipal, ruleFor } from './authorization.ts';
import { t } from './init.ts';

/** Thrown inside the tenant transaction to roll it back while keeping the procedure's result. */
class RollbackWithResult {
  readonly result: unknown;
  constructor(result: unknown) {
    this.result = result;
  }
}

export interface DeskContext {
  readonly id: TenantId;
  readonly role: Role;
}

interface EnterRow extends Record<string, unknown> {
  role: Role | null;
}

/**
 * Desk actions: the desk comes from the session's active desk or the API key's desk; the role
 * is read inside the tenant transaction (so a role revoked a moment ago counts now), in the same
 * statement that sets the transaction's settings: one round trip before the procedure runs.
 * Subscriptions are long-lived and procedures marked `ownTransactions` open their own, so they
 * get no request transaction: `ctx.tx` refuses use and they call `withTenant(ctx.db, ctx.desk.id,
 * …)` per read.
 */
export const authorizeDesk = t.middleware(async ({ ctx, meta, path, type, next }) => {
  const rule = ruleFor(meta, path, 'desk');
  const principal = requirePrincipal(ctx);
  const tenantId = principalTenantId(principal);
  if (!tenantId) throw new AppError('PRECONDITION_FAILED', 'Choose a desk first', { reason: 'no_desk' });
  const log = lazyChild(ctx.log, { tenantId });

  // Transaction-local settings (the tenant for RLS; request id and client IP for audit rows)
  // and the caller's role on the desk, read through the membership function (RLS-independent).
  const enter = async (tx: Queryable): Promise<Role> => {
    const [row] = await tx.execute<EnterRow>(
      sql`select set_config('app.tenant_id', ${tenantId}, true), set_config('app.request_id', ${ctx.requestId}, true), set_config('app.client_ip', ${ctx.ip ?? ''}, true), (select m.role from aegis_auth_memberships(${principal.user.id}::uuid) m where m.tenant_id = ${tenantId}::uuid limit 1) as role`,
    );
    const role = row?.role ?? null;
    checkRule({ ...ctx, log }, path, rule, meta!.permission, role);
    if (principal.kind === 'api_key') {
      const now = new Date();
      // A cached key carries the last use this process wrote, so the write stays once a minute.
      if (await touchApiKeyLastUsed(tx, principal.apiKey, now))
        ctx.authCache?.noteApiKeyUsed(principal.apiKey.id, now);
    }
    return role!;
  };

  const proceed = (tx: Tx, role: Role) =>
    next({ ctx: { log, desk: { id: tenantId, role } as DeskContext, tx } });
  type Result = Awaited<ReturnType<typeof proceed>>;

  // The database failed before the procedure ran (never after: it must not run twice). A
  // risk-reducing procedure runs on the role last confirmed; it must not need the request
  // transaction (the halt has its own path to durability).
  const onOutage = (e: unknown): Promise<Result> => {
    const role =
      meta?.riskReducing && transientKindOf(e)
        ? ctx.outageAuthorizations?.role(ctx.credentials, tenantId)
        : null;
    if (!role) throw e;
    checkRule({ ...ctx, log }, path, rule, meta!.permission, role);
    log.warn({ path, role }, 'database unreachable: last-known desk role used');
    return proceed(outageTxGuard, role);
  };

  // Subscriptions are long-lived, and a procedure with its own transactions would hold an idle
  // one for nothing: the role is read in one autocommit statement (the settings it sets end with
  // it; one round trip instead of begin, statement, commit) and `ctx.tx` refuses use.
  if (type === 'subscription' || meta?.ownTransactions) {
    let role: Role;
    try {
      role = await enter(ctx.db);
    } catch (e) {
      return onOutage(e);
    }
    if (type === 'subscription') return proceed(subscriptionTxGuard, role);
    ctx.outageAuthorizations?.rememberRole(ctx.credentials, tenantId, role);
    return proceed(ownTransactionsTxGuard, role);
  }

  let entered = false;
  try {
    return await ctx.db.transaction(async (tx) => {
      const role = await enter(tx);
      entered = true;
      ctx.outageAuthorizations?.rememberRole(ctx.credentials, tenantId, role);
      const result = await proceed(tx, role);
      if (!result.ok) throw new RollbackWithResult(result);
      return result;
    });
  } catch (e) {
    if (e instanceof RollbackWithResult) return e.result as Result;
    if (entered) throw e;
    return onOutage(e);
  }
});

/** The request transaction of a risk-reducing call served during a database outage. */
const outageTxGuard = new Proxy({} as Tx, {
  get() {
    throw new AppError('UNAVAILABLE', 'The database is unreachable; try again shortly');
  },
});

const refusingTx = (message: string) =>
  new Proxy({} as Tx, {
    get() {
      throw new AppError('INTERNAL', message);
    },
  });

const subscriptionTxGuard = refusingTx(
  'subscriptions have no open transaction: use withTenant(ctx.db, ctx.desk.id, fn)',
);
const ownTransactionsTxGuard = refusingTx(
  'this procedure opens its own transactions (ownTransactions): use withTenant(ctx.db, ctx.desk.id, fn)',
);
