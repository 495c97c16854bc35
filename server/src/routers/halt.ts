import { AppError } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { haltScope, haltState } from '@aegis/shared/schemas/order-risk';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import { actorOf, type Principal } from '../auth/principal.ts';
import type { Context } from '../context.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf, noInput } from './execution-context.ts';

/**
 * The halt. Desk scope: traders engage, desk admins release; the global scope needs a
 * platform administrator. Engaging is the safe direction: a person re-enters the password, and a
 * script may engage with a `trade`-scoped API key (audited with the key's name). Releasing needs
 * a person who re-entered the password. A desk release never lifts the global halt.
 */
function actorLabel(p: Principal): string {
  return p.kind === 'api_key'
    ? `API key "${p.apiKey.name}" (${p.apiKey.prefix}…) of ${p.user.email}`
    : p.user.email;
}

function requireScope(ctx: Pick<Context, 'principal'>, scope: 'global' | 'desk') {
  if (scope === 'global' && !ctx.principal?.user.isPlatformAdmin) {
    throw new AppError('FORBIDDEN', 'Platform administrators only', { reason: 'platform_admin_required' });
  }
}

/**
 * Who moves which switch, for an engage or a release: the scope (the global one for platform
 * administrators only), the desk, the actor and their name in words, the request's id and IP.
 */
function switchRequest(
  ctx: { principal: Principal; desk: { id: TenantId }; requestId: string; ip: string | null },
  scope: 'global' | 'desk',
) {
  requireScope(ctx, scope);
  return {
    scope,
    tenantId: ctx.desk.id,
    actor: actorOf(ctx.principal),
    actorLabel: actorLabel(ctx.principal),
    meta: { requestId: ctx.requestId, ip: ctx.ip },
  };
}

export const haltRouter = createTRPCRouter({
  engage: deskProcedure
    .meta({ scope: 'trade', permission: 'halt.engage', reauth: 'session', riskReducing: true })
    .input(z.strictObject({ scope: haltScope.default('desk'), reason: safeText(500) }))
    // durable: the halts row is committed. false: PostgreSQL did not take the write in
    // time; the halt is latched in every server process that heard it and retried until durable
    // (server/src/execution/halt.ts). Either way no new order is accepted from now on.
    .output(z.object({ state: haltState, cancelsQueued: z.number().int(), durable: z.boolean() }))
    .mutation(({ ctx, input }) =>
      executionOf(ctx).halts.engage({ ...switchRequest(ctx, input.scope), reason: input.reason }),
    ),

  release: deskProcedure
    .meta({ scope: 'admin', permission: 'halt.release', reauth: true })
    .input(z.strictObject({ scope: haltScope.default('desk') }))
    .output(haltState)
    .mutation(({ ctx, input }) => executionOf(ctx).halts.release(switchRequest(ctx, input.scope))),

  status: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .output(haltState)
    .query(({ ctx }) => executionOf(ctx).halts.status(ctx.desk.id)),

  /** Live halt state (SSE): the current state, then every change from any process. */
  updates: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(noInput)
    .subscription(async function* ({ ctx, signal }) {
      const ex = executionOf(ctx);
      let wake: (() => void) | null = null;
      let dirty = true;
      const off = ex.onHalt((m) => {
        if (m.scope === 'global' || m.tenantId === ctx.desk.id) {
          dirty = true;
          wake?.();
        }
      });
      const onAbort = () => wake?.();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        while (!signal?.aborted) {
          if (dirty) {
            dirty = false;
            yield await ex.halts.status(ctx.desk.id);
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
      } finally {
        off();
        signal?.removeEventListener('abort', onAbort);
      }
    }),
});
