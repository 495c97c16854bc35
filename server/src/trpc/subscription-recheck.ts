import { roleOnDesk } from '../auth/memberships.ts';
import { recheckedStream, revocationOf } from '../auth/subscription-recheck.ts';
import type { Context } from '../context.ts';
import { checkRule, requirePrincipal, ruleFor } from './authorization.ts';
import { t } from './init.ts';
import { isAsyncIterable } from './observe.ts';
import type { DeskContext } from './tenant-transaction.ts';

/**
 * Revocation reaches open streams (auth/subscription-recheck.ts): before every event and at
 * least every 5 s, the stream's session or API key is validated again (from the database, not
 * the cache) and, on a desk, the caller's membership and the procedure's rule. The first failure
 * ends the stream with its reason (UNAUTHORIZED "API key revoked" / "Session ended", FORBIDDEN
 * for a removed role).
 */
export const recheckSubscription = t.middleware(async ({ ctx, meta, path, type, signal, next }) => {
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
