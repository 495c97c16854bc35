/**
 * tRPC server setup: the composition. Each mechanism lives in its own file under trpc/, in the
 * order a request meets them:
 *
 *   1. CONTEXT        — what every procedure receives (context.ts)
 *   2. INITIALIZATION — initTRPC, procedure meta, the error formatter (trpc/init.ts)
 *   3. MIDDLEWARES    — observe: log + map errors (trpc/observe.ts), CSRF (trpc/csrf.ts),
 *                       authenticate (trpc/authenticate.ts), rate limit (trpc/rate-limit.ts),
 *                       authorize and audit denials (trpc/authorization.ts), the tenant
 *                       transaction (trpc/tenant-transaction.ts), subscription re-check
 *                       (trpc/subscription-recheck.ts: revocation ends streams)
 *   4. PROCEDURES     — publicProcedure, protectedProcedure, deskProcedure (below)
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
import { TRPCError } from '@trpc/server';
import { authenticate } from './trpc/authenticate.ts';
import { authorizeAccount, ruleFor } from './trpc/authorization.ts';
import { csrf } from './trpc/csrf.ts';
import { t } from './trpc/init.ts';
import { logFailures, observe } from './trpc/observe.ts';
import { rateLimit } from './trpc/rate-limit.ts';
import { recheckSubscription } from './trpc/subscription-recheck.ts';
import { authorizeDesk } from './trpc/tenant-transaction.ts';

// 1. CONTEXT
export type { Context } from './context.ts';

// 2. INITIALIZATION
export type { ErrorData, ProcedureMeta } from './trpc/init.ts';
export type { DeskContext } from './trpc/tenant-transaction.ts';

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const mergeRouters = t.mergeRouters;

// 4. PROCEDURES

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
