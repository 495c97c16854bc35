import { AppError } from '@aegis/shared/errors';
import { asSessionId, asTenantId } from '@aegis/shared/ids';
import {
  activeSessionSchema,
  deskSchema,
  emailSchema,
  isoTimestampSchema,
  passwordInputSchema,
  sessionInfoSchema,
  tsIso,
  tsIsoOrNull,
  userSchema,
  uuidSchema,
} from '@aegis/shared/schemas/identity';
import { z } from 'zod';
import { audit } from '../audit/service.ts';
import { changePassword, login, reauthenticate } from '../auth/login.ts';
import { listUserDesks, listUserDesksCached } from '../auth/memberships.ts';
import { actorOf, type Principal } from '../auth/principal.ts';
import {
  invalidateOwnSession,
  invalidateSession,
  invalidateUserSessions,
  listUserSessions,
  serializeBlankSessionCookie,
  serializeSessionCookie,
  setSessionActiveTenant,
} from '../auth/session.ts';
import type { Context } from '../context.ts';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc.ts';

/** Sign-in and the caller's own session. */

const requestMeta = (ctx: Context) => ({ ip: ctx.ip, userAgent: ctx.userAgent, requestId: ctx.requestId });

function sessionOf(p: Principal) {
  if (p.kind !== 'session') throw new AppError('FORBIDDEN', 'This action needs a signed-in person');
  return p.session;
}

export const authRouter = createTRPCRouter({
  login: publicProcedure
    .meta({ scope: 'public', permission: 'public', verifiesPassword: true })
    .input(
      z.strictObject({
        email: emailSchema,
        password: passwordInputSchema,
        /**
         * Scripts that sign in with a password ask for the token in the body (then sent as
         * `Authorization: Bearer`); browsers get it only in the HttpOnly cookie.
         */
        returnToken: z.boolean().default(false),
      }),
    )
    .output(
      z.object({
        user: userSchema,
        expiresAt: isoTimestampSchema,
        activeDeskId: uuidSchema.nullable(),
        token: z.string().nullable(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { token, session, user } = await login(ctx, input, requestMeta(ctx));
      if (!input.returnToken)
        ctx.response.cookies.push(serializeSessionCookie(ctx.config, token, session.expiresAt));
      return {
        user,
        expiresAt: tsIso(session.expiresAt),
        activeDeskId: session.activeTenantId,
        token: input.returnToken ? token : null,
      };
    }),

  logout: protectedProcedure
    .meta({ scope: 'read', permission: 'session.manage', riskReducing: true })
    .input(z.strictObject({}).optional())
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx }) => {
      const session = sessionOf(ctx.principal);
      await invalidateSession(ctx.db, session.id);
      ctx.response.cookies.push(serializeBlankSessionCookie(ctx.config));
      await audit.record(ctx.db, {
        action: 'auth.logout',
        actor: actorOf(ctx.principal),
        tenantId: null,
        requestId: ctx.requestId,
        ip: ctx.ip,
        targetType: 'session',
        targetId: session.id.slice(0, 16),
      });
      return { ok: true as const };
    }),

  me: protectedProcedure
    .meta({ scope: 'read', permission: 'session.read' })
    .input(z.strictObject({}).optional())
    .output(sessionInfoSchema)
    .query(async ({ ctx }) => {
      const p = ctx.principal;
      const desks = await listUserDesksCached(ctx, p.user.id);
      const activeId = p.kind === 'session' ? p.session.activeTenantId : p.apiKey.tenantId;
      // A key sees only its own desk.
      const visible = p.kind === 'api_key' ? desks.filter((d) => d.id === activeId) : desks;
      const reauthAt = p.kind === 'session' ? p.session.reauthenticatedAt : null;
      const reauthUntil = reauthAt ? new Date(reauthAt.getTime() + ctx.config.session.reauthWindowMs) : null;
      return {
        kind: p.kind,
        user: p.user,
        activeDesk: visible.find((d) => d.id === activeId) ?? null,
        desks: visible,
        expiresAt: p.kind === 'session' ? tsIso(p.session.expiresAt) : tsIsoOrNull(p.apiKey.expiresAt),
        reauthenticatedUntil: reauthUntil && reauthUntil.getTime() > Date.now() ? tsIso(reauthUntil) : null,
        scopes: p.kind === 'api_key' ? [...p.apiKey.scopes] : null,
      };
    }),

  reauthenticate: protectedProcedure
    .meta({ scope: 'read', permission: 'session.reauthenticate', riskReducing: true, verifiesPassword: true })
    .input(z.strictObject({ password: passwordInputSchema }))
    .output(z.object({ reauthenticatedUntil: isoTimestampSchema }))
    .mutation(async ({ ctx, input }) => {
      const until = await reauthenticate(
        ctx,
        ctx.principal.user,
        sessionOf(ctx.principal),
        input.password,
        requestMeta(ctx),
      );
      return { reauthenticatedUntil: tsIso(until) };
    }),

  changePassword: protectedProcedure
    .meta({ scope: 'admin', permission: 'password.change', verifiesPassword: true })
    .input(z.strictObject({ currentPassword: passwordInputSchema, newPassword: passwordInputSchema }))
    .output(
      z.object({
        otherSessionsEnded: z.number().int(),
        /** Every API key of the user, on every desk: whoever knew the old password may hold one. */
        apiKeysRevoked: z.number().int(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      return changePassword(ctx, ctx.principal.user, sessionOf(ctx.principal), input, requestMeta(ctx));
    }),

  /** Where the caller is signed in. */
  sessions: protectedProcedure
    .meta({ scope: 'read', permission: 'session.manage' })
    .input(z.strictObject({}).optional())
    .output(z.array(activeSessionSchema))
    .query(async ({ ctx }) => {
      const current = sessionOf(ctx.principal).id;
      const rows = await listUserSessions(ctx.db, ctx.principal.user.id);
      return rows.map((r) => ({
        id: r.id,
        current: r.id === current,
        createdAt: tsIso(r.createdAt),
        lastSeenAt: tsIso(r.lastSeenAt),
        expiresAt: tsIso(r.expiresAt),
        ip: r.ip,
        userAgent: r.userAgent,
      }));
    }),

  /** Ends one of the caller's other sessions, or all of them (`all: true`), keeping this one. */
  revokeSessions: protectedProcedure
    .meta({ scope: 'read', permission: 'session.manage' })
    .input(
      // One object with exactly one of the two, rather than a union: a refusal then names the
      // fields themselves (a union can only report the branch that came closest).
      z
        .strictObject({
          sessionId: z
            .string()
            .regex(/^[0-9a-f]{64}$/, 'must be a session id')
            .transform(asSessionId)
            .optional(),
          all: z.literal(true).optional(),
        })
        .superRefine((v, ctx) => {
          if ((v.sessionId === undefined) === (v.all === undefined)) {
            for (const path of ['sessionId', 'all'])
              ctx.addIssue({
                code: 'custom',
                path: [path],
                message: 'give exactly one of sessionId or all: true',
              });
          }
        }),
    )
    .output(z.object({ ended: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      const session = sessionOf(ctx.principal);
      let ended: number;
      if (input.all) {
        ended = await invalidateUserSessions(ctx.db, ctx.principal.user.id, session.id);
      } else {
        const sessionId = input.sessionId!;
        if (sessionId === session.id) throw new AppError('BAD_INPUT', 'Use logout to end this session');
        if (!(await invalidateOwnSession(ctx.db, ctx.principal.user.id, sessionId))) {
          throw new AppError('NOT_FOUND', 'Session not found');
        }
        ended = 1;
      }
      await audit.record(ctx.db, {
        action: 'auth.revokeSessions',
        actor: actorOf(ctx.principal),
        tenantId: null,
        requestId: ctx.requestId,
        ip: ctx.ip,
        targetType: 'user',
        targetId: ctx.principal.user.id,
        details: `sessions ended: ${ended}`,
      });
      return { ended };
    }),

  switchDesk: protectedProcedure
    .meta({ scope: 'read', permission: 'session.manage' })
    .input(z.strictObject({ deskId: uuidSchema }))
    .output(deskSchema)
    .mutation(async ({ ctx, input }) => {
      const session = sessionOf(ctx.principal);
      const desk = (await listUserDesks(ctx.db, ctx.principal.user.id)).find((d) => d.id === input.deskId);
      // Not a member and no such desk look the same.
      if (!desk) throw new AppError('NOT_FOUND', 'Desk not found');
      await setSessionActiveTenant(ctx.db, session.id, asTenantId(desk.id));
      return desk;
    }),
});
