/**
 * tRPC server setup. Sections, in the order a request meets them:
 *
 *   1. CONTEXT        — what every procedure receives (context.ts)
 *   2. INITIALIZATION — initTRPC, procedure meta, the error formatter
 *   3. MIDDLEWARES    — observe (log + map errors), CSRF, authenticate, rate limit, authorize,
 *                       tenant transaction, subscription re-check (revocation ends streams)
 *   4. PROCEDURES     — publicProcedure, protectedProcedure, deskProcedure
 *
 * Every procedure declares what it needs in `.meta({ scope, permission })`: the API-key scope and
 * the action of the permission matrix (auth/permissions.ts). The authorization middleware fails
 * closed when the declaration is missing or disagrees with the matrix, and a test generated from
 * the router (tests/integration/procedure-meta.test.ts) fails when a procedure lacks one.
 *
 * Desk procedures run inside one transaction that sets `app.tenant_id` (SET LOCAL semantics);
 * routers use `ctx.tx` for every query, so RLS scopes all of them to the caller's desk, and the
 * transaction rolls back when the procedure fails.
 */
import { memberships } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { initTRPC, TRPCError } from '@trpc/server';
import { and, eq, sql } from 'drizzle-orm';
import { audit } from './audit/service.ts';
import { isApiKeyShape, touchApiKeyLastUsed, verifyApiKey } from './auth/api-keys.ts';
import { roleOnDesk } from './auth/memberships.ts';
import {
  type ApiKeyScope,
  authorize,
  isPermission,
  PERMISSIONS,
  type Permission,
  type PermissionRule,
  type Role,
} from './auth/permissions.ts';
import type { Principal } from './auth/principal.ts';
import { principalTenantId } from './auth/principal.ts';
import { serializeBlankSessionCookie, serializeSessionCookie, validateSessionToken } from './auth/session.ts';
import { recheckedStream, revocationOf } from './auth/subscription-recheck.ts';
import type { Context } from './context.ts';
import { type Tx, withTenant } from './db/database.ts';
import { findAppError, findZodError, toTRPCError, zodFieldErrors } from './errors.ts';
import { transientKindOf } from './transient-errors.ts';

// ---------------------------------------------------------------------------------------------
// 1. CONTEXT
// ---------------------------------------------------------------------------------------------
export type { Context } from './context.ts';

// ---------------------------------------------------------------------------------------------
// 2. INITIALIZATION
// ---------------------------------------------------------------------------------------------

/** What each procedure declares. `public` marks the few procedures that need no principal. */
export interface ProcedureMeta {
  /** API-key scope required; must equal the matrix's scope for the permission. */
  readonly scope: ApiKeyScope | 'public';
  /** Action in the permission matrix. */
  readonly permission: Permission | 'public';
  /** Extra strictness on top of the matrix (never looser): human session only. */
  readonly humanOnly?: boolean;
  /**
   * Extra strictness on top of the matrix: password re-entered within the window. `true` also
   * makes the procedure human-only. `'session'`: a signed-in person must have re-entered the
   * password, while an API key with the matrix's scope passes (it has no password to re-enter) —
   * for risk-reducing actions a script must be able to take (engaging a halt).
   */
  readonly reauth?: boolean | 'session';
  /**
   * Only reduces risk (halt, cancel, the re-entry that halting needs, logout): still rate
   * limited, but keeps working when the limiter's store (Redis) is down.
   */
  readonly riskReducing?: boolean;
  /**
   * Verifies a password (sign-in, re-entry, change): never accepted inside a tRPC batch, so one
   * request cannot carry many guesses (http.ts refuses such a batch before any call runs).
   */
  readonly verifiesPassword?: boolean;
}

export interface ErrorData {
  readonly code: string;
  readonly httpStatus: number;
  readonly path?: string;
  readonly requestId: string | null;
  /** The domain error code (AppError), when there is one. */
  readonly appCode: string | null;
  /** Client-safe details of a domain error (e.g. reason, retryAfterSeconds, violated rule). */
  readonly details: Readonly<Record<string, unknown>> | null;
  /** Invalid input: one entry per field, path joined with dots. */
  readonly fields: readonly { path: string; message: string }[] | null;
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    // Never send stack traces, whatever NODE_ENV says.
    isDev: false,
    sse: {
      // A subscription is authorized when it opens and re-checked on every event and every 5 s
      // (recheckSubscription, §3). Ending each stream after 10 minutes as well makes clients
      // reconnect (resuming from their last tracked event id) through the full middleware chain.
      maxDurationMs: 10 * 60_000,
      ping: { enabled: true, intervalMs: 15_000 },
      client: { reconnectAfterInactivityMs: 30_000 },
    },
    errorFormatter({ shape, error, ctx }) {
      const requestId = ctx?.requestId ?? null;
      const zod = error.code === 'BAD_REQUEST' ? findZodError(error) : undefined;
      const app = findAppError(error);
      const internal = error.code === 'INTERNAL_SERVER_ERROR';
      // A domain error about one input field (a reference not found on the desk) names it too.
      const field = typeof app?.details?.field === 'string' ? app.details.field : null;
      const fields = zod
        ? zodFieldErrors(zod)
        : field && !internal
          ? [{ path: field, message: app!.message.replace(`${field}: `, '') }]
          : null;
      let message = shape.message;
      // Unexpected errors: the cause is logged (observe middleware / http onError), the client
      // gets a generic message and the request id to quote.
      if (internal) message = `Internal server error (request ${requestId ?? 'unknown'})`;
      else if (zod && fields)
        message = `Invalid input: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`;
      const data: ErrorData = {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        ...(shape.data.path ? { path: shape.data.path } : {}),
        requestId,
        appCode: internal ? null : (app?.code ?? null),
        details: internal ? null : (app?.details ?? null),
        fields,
      };
      return { message, code: shape.code, data };
    },
  });

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const mergeRouters = t.mergeRouters;

// ---------------------------------------------------------------------------------------------
// 3. MIDDLEWARES
// ---------------------------------------------------------------------------------------------

/** Root of every procedure: maps domain errors (errors.ts) and logs each call's outcome. */
const observe = t.middleware(async ({ ctx, path, type, next }) => {
  const started = performance.now();
  const result = await next();
  const ms = Math.round((performance.now() - started) * 10) / 10;
  if (result.ok) {
    ctx.log.debug({ path, type, ms }, 'call ok');
    // A subscription's errors happen later, while it is iterated: map them the same way.
    if (type === 'subscription' && isAsyncIterable(result.data)) {
      return { ...result, data: mapIterationErrors(result.data, ctx, path) };
    }
    return result;
  }
  const error = toTRPCError(result.error);
  const app = findAppError(error);
  if (app instanceof AccessDenied) await recordDenial(ctx, path, app);
  if (loggedFailures.has(result.error)) {
    // Already logged by logFailures, with the user and desk bound.
  } else if (error.code === 'INTERNAL_SERVER_ERROR') {
    ctx.log.error({ path, type, ms, err: error.cause ?? error }, 'call failed: unexpected error');
  } else if (app?.code === 'UNAVAILABLE' && app.cause !== undefined) {
    // A database or Redis that went away (transient-errors.ts): 503 to the client, the driver's
    // error here (serialized without bind values) to tell a restart from an outage.
    ctx.log.warn(
      { path, type, ms, code: error.code, reason: app.details?.reason, err: app.cause },
      'call failed: service unavailable',
    );
  } else {
    ctx.log.info({ path, type, ms, code: error.code, appCode: findAppError(error)?.code }, 'call refused');
  }
  throw error;
});

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Re-throws what a subscription throws mid-stream as the mapped TRPCError (and logs bugs). */
async function* mapIterationErrors(iterable: AsyncIterable<unknown>, ctx: Context, path: string) {
  try {
    // yield* forwards return() to the source, so its finally blocks run when the client leaves.
    yield* iterable;
  } catch (e) {
    const error = toTRPCError(e);
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      ctx.log.error(
        { path, type: 'subscription', err: error.cause ?? error },
        'subscription failed: unexpected error',
      );
    }
    throw error;
  }
}

/** Failures logged by the innermost middleware (with user and desk), so observe skips them. */
const loggedFailures = new WeakSet<object>();

/** Innermost: logs an unexpected failure with the fully bound logger (requestId, userId, tenantId). */
const logFailures = t.middleware(async ({ ctx, path, type, next }) => {
  const result = await next();
  if (!result.ok && toTRPCError(result.error).code === 'INTERNAL_SERVER_ERROR') {
    ctx.log.error({ path, type, err: result.error.cause ?? result.error }, 'call failed: unexpected error');
    loggedFailures.add(result.error);
  }
  return result;
});

/**
 * CSRF: a mutation from a browser carries `Origin`. Cookie-authenticated mutations must come
 * from an allowed origin (PUBLIC_ORIGIN, ALLOWED_ORIGINS); a foreign Origin is refused on every
 * mutation, and a missing Origin is refused when the session cookie is what authenticates it.
 * Bearer-authenticated scripts send no cookie, and a foreign page cannot set Authorization
 * without a CORS preflight, which this server never grants.
 */
const csrf = t.middleware(({ ctx, type, next }) => {
  if (type !== 'mutation') return next();
  if (ctx.origin !== null) {
    if (!ctx.config.allowedOrigins.includes(normalizeOrigin(ctx.origin))) {
      throw new AppError('FORBIDDEN', 'Origin not allowed', { reason: 'csrf_origin' });
    }
  } else if (ctx.credentials.bearer === null && ctx.credentials.cookieToken !== null) {
    throw new AppError('FORBIDDEN', 'Origin header required', { reason: 'csrf_origin' });
  }
  return next();
});

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}

/** Resolves the caller from the request's credentials (bearer first, then cookie). */
async function resolvePrincipal(ctx: Context): Promise<Principal | null> {
  const { bearer, cookieToken } = ctx.credentials;
  if (bearer !== null) {
    if (isApiKeyShape(bearer)) {
      const found = await verifyApiKey(ctx.db, bearer);
      return found ? { kind: 'api_key', user: found.user, apiKey: found.apiKey } : null;
    }
    const found = await validateSessionToken(ctx.db, ctx.config, bearer);
    return found ? { kind: 'session', user: found.user, session: found.session } : null;
  }
  if (cookieToken !== null) {
    const found = await validateSessionToken(ctx.db, ctx.config, cookieToken);
    if (!found) {
      // A stale cookie is cleared so the browser stops sending it.
      ctx.response.cookies.push(serializeBlankSessionCookie(ctx.config));
      return null;
    }
    if (found.refreshed) {
      ctx.response.cookies.push(serializeSessionCookie(ctx.config, cookieToken, found.session.expiresAt));
    }
    return { kind: 'session', user: found.user, session: found.session };
  }
  return null;
}

const authenticate = t.middleware(async ({ ctx, meta, path, next }) => {
  let principal = ctx.principal;
  if (!principal) {
    try {
      principal = await resolvePrincipal(ctx);
      if (principal) ctx.outageAuthorizations?.rememberPrincipal(ctx.credentials, principal);
    } catch (err) {
      // The database is unreachable: a risk-reducing call (halt, cancel) from a caller it
      // confirmed minutes ago still goes through (auth/outage-authorization.ts); nothing else.
      const remembered =
        meta?.riskReducing && transientKindOf(err)
          ? ctx.outageAuthorizations?.principal(ctx.credentials)
          : null;
      if (!remembered) throw err;
      ctx.log.warn(
        { path, userId: remembered.user.id },
        'database unreachable: last-known authorization used',
      );
      principal = remembered;
    }
  }
  if (!principal) throw new AppError('UNAUTHENTICATED', 'Authentication required');
  const log = ctx.log.child({
    userId: principal.user.id,
    ...(principal.kind === 'api_key' ? { apiKeyId: principal.apiKey.id } : {}),
  });
  return next({ ctx: { principal, log } });
});

/**
 * Per-principal rate limit (server/src/rate-limit/, engineer B). The limiter is optional in
 * the deps so this module does not depend on its implementation; startServer wires it.
 */
const rateLimit = t.middleware(async ({ ctx, path, type, meta, next }) => {
  const limiter = ctx.rateLimiter;
  if (limiter) {
    const p = ctx.principal;
    // Before authentication (login) the caller is its IP.
    const key = p
      ? p.kind === 'api_key'
        ? `key:${p.apiKey.id}`
        : `session:${p.session.id}`
      : `ip:${ctx.ip ?? 'unknown'}`;
    await limiter.check({ key, path, type, riskReducing: meta?.riskReducing === true });
  }
  return next();
});

/** The matrix rule for a procedure, checking its declaration. Misdeclared ⇒ fail closed. */
function ruleFor(
  meta: ProcedureMeta | undefined,
  path: string,
  expected: 'desk' | 'not-desk',
): PermissionRule & { keysSkipReauth: boolean } {
  if (!meta || !isPermission(meta.permission)) {
    throw new AppError('INTERNAL', `procedure ${path} declares no permission`);
  }
  const rule = PERMISSIONS[meta.permission];
  if (meta.scope !== rule.scope) {
    throw new AppError(
      'INTERNAL',
      `procedure ${path} declares scope ${meta.scope}, matrix says ${rule.scope}`,
    );
  }
  if ((rule.level === 'desk') !== (expected === 'desk')) {
    throw new AppError(
      'INTERNAL',
      `procedure ${path}: permission ${meta.permission} needs a ${rule.level} procedure`,
    );
  }
  return {
    ...rule,
    humanOnly: rule.humanOnly || meta.humanOnly === true || meta.reauth === true,
    reauth: rule.reauth || meta.reauth === true || meta.reauth === 'session',
    // Only the meta's 'session' mode exempts keys; a matrix rule's reauth never does.
    keysSkipReauth: !rule.reauth && meta.reauth === 'session',
  };
}

const DENIAL_MESSAGES: Record<string, string> = {
  not_a_member: 'You have no role on this desk',
  role: 'Your role does not allow this action',
  scope: 'This API key lacks the scope for this action',
  human_only: 'This action needs a signed-in person, not an API key',
  reauth_required: 'Re-enter your password to continue',
  platform_admin_required: 'Platform administrators only',
};

/** A refused authorization; carries who was refused where (for the audit row, never sent). */
class AccessDenied extends AppError {
  readonly actor: { type: 'user' | 'api_key'; id: string };
  readonly tenantId: string | null;
  constructor(reason: string, permission: string, principal: Principal, tenantId: string | null) {
    // A key without the scope is told which scope the action needs (a script's author fixes the
    // key, not the code); the details carry it for programs.
    const scope = reason === 'scope' && isPermission(permission) ? PERMISSIONS[permission].scope : null;
    super(
      'FORBIDDEN',
      scope
        ? `This API key lacks the '${scope}' scope this action needs (${permission}); create a key with --scope ${scope}`
        : (DENIAL_MESSAGES[reason] ?? 'Forbidden'),
      scope ? { reason, permission, scope } : { reason, permission },
    );
    this.actor =
      principal.kind === 'api_key'
        ? { type: 'api_key', id: principal.apiKey.id }
        : { type: 'user', id: principal.user.id };
    this.tenantId = tenantId;
  }
}

function deny(ctx: Context, path: string, permission: string, reason: string): never {
  ctx.log.warn({ path, permission, reason }, 'access denied');
  const principal = requirePrincipal(ctx);
  throw new AccessDenied(reason, permission, principal, principalTenantId(principal));
}

/** Denials are security-relevant: one audit row each, in its own transaction (the request's rolls back). */
async function recordDenial(ctx: Context, path: string, denial: AccessDenied): Promise<void> {
  try {
    const event = {
      action: 'access.denied',
      actor: denial.actor,
      outcome: 'denied',
      tenantId: denial.tenantId,
      requestId: ctx.requestId,
      ip: ctx.ip,
      targetType: 'procedure',
      targetId: path,
      details: String(denial.details?.reason ?? ''),
    } as const;
    // A desk's denials join the desk's chain (RLS wants its tenant setting for the insert).
    if (denial.tenantId) await withTenant(ctx.db, denial.tenantId, (tx) => audit.record(tx, event));
    else await audit.record(ctx.db, event);
  } catch (err) {
    ctx.log.error({ err, path }, 'audit of access denial failed');
  }
}

function subjectOf(principal: Principal, role: Role | null) {
  return {
    kind: principal.kind,
    isPlatformAdmin: principal.user.isPlatformAdmin,
    role,
    scopes: principal.kind === 'api_key' ? principal.apiKey.scopes : [],
    reauthenticatedAt: principal.kind === 'session' ? principal.session.reauthenticatedAt : null,
  } as const;
}

function requirePrincipal(ctx: Context): Principal {
  if (!ctx.principal) throw new AppError('UNAUTHENTICATED', 'Authentication required');
  return ctx.principal;
}

function checkRule(
  ctx: Context,
  path: string,
  rule: PermissionRule & { keysSkipReauth?: boolean },
  permission: string,
  role: Role | null,
) {
  const principal = requirePrincipal(ctx);
  // A one-time password must be replaced before anything but the own-account actions.
  if (principal.user.mustChangePassword && rule.level !== 'self') {
    throw new AppError('PRECONDITION_FAILED', 'Change your password first', {
      reason: 'password_change_required',
    });
  }
  const denial = authorize(
    permission as Permission,
    subjectOf(principal, role),
    new Date(),
    ctx.config.session.reauthWindowMs,
  );
  // Meta can only add strictness: re-check its extra flags.
  if (denial) deny(ctx, path, permission, denial);
  if (rule.humanOnly && principal.kind !== 'session') deny(ctx, path, permission, 'human_only');
  if (rule.reauth && !(rule.keysSkipReauth && principal.kind === 'api_key')) {
    const at = principal.kind === 'session' ? principal.session.reauthenticatedAt : null;
    if (!at || Date.now() - at.getTime() > ctx.config.session.reauthWindowMs) {
      deny(ctx, path, permission, 'reauth_required');
    }
  }
}

/** Self and platform actions: no desk, no tenant transaction. */
const authorizeAccount = t.middleware(({ ctx, meta, path, next }) => {
  const rule = ruleFor(meta, path, 'not-desk');
  checkRule(ctx, path, rule, meta!.permission, null);
  return next();
});

/** Thrown inside the tenant transaction to roll it back while keeping the procedure's result. */
class RollbackWithResult {
  readonly result: unknown;
  constructor(result: unknown) {
    this.result = result;
  }
}

export interface DeskContext {
  readonly id: string;
  readonly role: Role;
}

/**
 * Desk actions: the desk comes from the session's active desk or the API key's desk; the role
 * is read inside the tenant transaction (so a role revoked a moment ago counts now).
 * Subscriptions are long-lived, so they get no open transaction: `ctx.tx` refuses use and they
 * call `withTenant(ctx.db, ctx.desk.id, …)` per read.
 */
const authorizeDesk = t.middleware(async ({ ctx, meta, path, type, next }) => {
  const rule = ruleFor(meta, path, 'desk');
  const principal = requirePrincipal(ctx);
  const tenantId = principalTenantId(principal);
  if (!tenantId) throw new AppError('PRECONDITION_FAILED', 'Choose a desk first', { reason: 'no_desk' });
  const log = ctx.log.child({ tenantId });

  const enter = async (tx: Tx): Promise<Role> => {
    // Transaction-local settings: the tenant for RLS; request id and client IP for audit rows.
    await tx.execute(
      sql`select set_config('app.tenant_id', ${tenantId}, true), set_config('app.request_id', ${ctx.requestId}, true), set_config('app.client_ip', ${ctx.ip ?? ''}, true)`,
    );
    const [m] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, principal.user.id)))
      .limit(1);
    const role = m?.role ?? null;
    checkRule({ ...ctx, log }, path, rule, meta!.permission, role);
    if (principal.kind === 'api_key') await touchApiKeyLastUsed(tx, principal.apiKey);
    return role!;
  };

  const proceed = (tx: Tx, role: Role) =>
    next({ ctx: { log, desk: { id: tenantId, role } as DeskContext, tx } });
  type Result = Awaited<ReturnType<typeof proceed>>;

  if (type === 'subscription') {
    const role = await ctx.db.transaction(enter);
    return proceed(subscriptionTxGuard, role);
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
    // The database failed before the procedure ran (never after: it must not run twice). A
    // risk-reducing procedure runs on the role last confirmed; it must not need the request
    // transaction (the kill switch has its own path to durability).
    const role =
      !entered && meta?.riskReducing && transientKindOf(e)
        ? ctx.outageAuthorizations?.role(ctx.credentials, tenantId)
        : null;
    if (!role) throw e;
    checkRule({ ...ctx, log }, path, rule, meta!.permission, role);
    log.warn({ path, role }, 'database unreachable: last-known desk role used');
    return proceed(outageTxGuard, role);
  }
});

/**
 * Revocation reaches open streams (auth/subscription-recheck.ts): before every event and at
 * least every 5 s, the stream's session or API key is validated again and, on a desk, the
 * caller's membership and the procedure's rule. The first failure ends the stream with its
 * reason (UNAUTHORIZED "API key revoked" / "Session ended", FORBIDDEN for a removed role).
 */
const recheckSubscription = t.middleware(async ({ ctx, meta, path, type, signal, next }) => {
  const result = await next();
  if (type !== 'subscription' || !result.ok || !isAsyncIterable(result.data)) return result;
  const principal = requirePrincipal(ctx);
  const desk = (ctx as Context & { desk?: DeskContext }).desk;
  const recheck = async () => {
    const revoked = await revocationOf(ctx, principal);
    if (revoked) throw revoked;
    if (!desk) return;
    const role = await roleOnDesk(ctx.db, principal.user.id, desk.id);
    checkRule(ctx, path, ruleFor(meta, path, 'desk'), meta!.permission, role);
  };
  return { ...result, data: recheckedStream(result.data, recheck, { signal }) };
});

/** The request transaction of a risk-reducing call served during a database outage. */
const outageTxGuard = new Proxy({} as Tx, {
  get() {
    throw new AppError('UNAVAILABLE', 'The database is unreachable; try again shortly');
  },
});

const subscriptionTxGuard = new Proxy({} as Tx, {
  get() {
    throw new AppError(
      'INTERNAL',
      'subscriptions have no open transaction: use withTenant(ctx.db, ctx.desk.id, fn)',
    );
  },
});

// ---------------------------------------------------------------------------------------------
// 4. PROCEDURES
// ---------------------------------------------------------------------------------------------

const baseProcedure = t.procedure.use(observe).use(csrf);

/** No principal needed (login). Declares `{ scope: 'public', permission: 'public' }`. */
export const publicProcedure = baseProcedure.use(rateLimit);

/** A signed-in user or an API key; self- or platform-level permission. `ctx.principal` is set. */
export const protectedProcedure = baseProcedure
  .use(authenticate)
  .use(rateLimit)
  .use(authorizeAccount)
  .use(recheckSubscription)
  .use(logFailures);

/** Acts on one desk: `ctx.desk` ({ id, role }) and `ctx.tx` (RLS-scoped transaction) are set. */
export const deskProcedure = baseProcedure
  .use(authenticate)
  .use(rateLimit)
  .use(authorizeDesk)
  .use(recheckSubscription)
  .use(logFailures);

/** For tests and tools: the rule a procedure's meta resolves to. */
export { ruleFor as resolveProcedureRule, TRPCError };
