import { AppError } from '@aegis/shared/errors';
import { userIdSchema } from '@aegis/shared/ids';
import {
  displayNameSchema,
  emailSchema,
  isoTimestampSchema,
  memberSchema,
  passwordInputSchema,
  roleSchema,
  uuidSchema,
} from '@aegis/shared/schemas/identity';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import { audit } from '../audit/service.ts';
import { actorOf } from '../auth/principal.ts';
import { findUsers } from '../provisioning/find-user.ts';
import { createUser, disableUser, listMembers, setRole } from '../provisioning/service.ts';
import { createTRPCRouter, deskProcedure, protectedProcedure } from '../trpc.ts';

const foundUserSchema = z.object({
  userId: uuidSchema,
  email: z.string(),
  displayName: z.string(),
  isPlatformAdmin: z.boolean(),
  disabled: z.boolean(),
  disabledAt: isoTimestampSchema.nullable(),
  createdAt: isoTimestampSchema,
  desks: z.array(z.object({ id: uuidSchema, slug: z.string(), name: z.string(), role: roleSchema })),
  lastSignInAt: isoTimestampSchema.nullable(),
  lastFailedSignInAt: isoTimestampSchema.nullable(),
});

function requirePlatformAdmin(isPlatformAdmin: boolean) {
  if (!isPlatformAdmin) {
    throw new AppError('FORBIDDEN', 'Platform administrators only', { reason: 'platform_admin_required' });
  }
}

/**
 * Users and their roles on the current desk (desk admins); disabling and finding a user across
 * desks are platform-wide (platform administrators).
 */
export const usersRouter = createTRPCRouter({
  create: deskProcedure
    .meta({ scope: 'admin', permission: 'users.create' })
    .input(
      z.strictObject({
        email: emailSchema,
        displayName: displayNameSchema,
        role: roleSchema,
        /** Omitted: a one-time password is generated and returned once. */
        initialPassword: passwordInputSchema.optional(),
      }),
    )
    .output(z.object({ member: memberSchema, oneTimePassword: z.string().nullable() }))
    .mutation(async ({ ctx, input }) => {
      const { userId, oneTimePassword } = await createUser(ctx.tx, ctx.passwords, {
        tenantId: ctx.desk.id,
        email: input.email,
        displayName: input.displayName,
        role: input.role,
        initialPassword: input.initialPassword,
      });
      await audit.record(ctx.tx, {
        action: 'users.create',
        actor: actorOf(ctx.principal),
        targetType: 'user',
        targetId: userId,
        payload: { email: input.email.toLowerCase(), role: input.role },
        details: `role ${input.role}`,
      });
      const member = (await listMembers(ctx.tx, ctx.desk.id)).find((m) => m.userId === userId);
      if (!member) throw new Error('created member not visible');
      return { member, oneTimePassword };
    }),

  list: deskProcedure
    .meta({ scope: 'admin', permission: 'users.list' })
    .input(z.strictObject({}).optional())
    .output(z.array(memberSchema))
    .query(({ ctx }) => listMembers(ctx.tx, ctx.desk.id)),

  setRole: deskProcedure
    .meta({ scope: 'admin', permission: 'users.setRole' })
    .input(z.strictObject({ userId: userIdSchema, role: roleSchema.nullable() }))
    .output(
      z.object({
        userId: uuidSchema,
        previousRole: roleSchema.nullable(),
        role: roleSchema.nullable(),
        sessionsEnded: z.number().int(),
        keysRevoked: z.number().int(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const result = await setRole(ctx.tx, {
        tenantId: ctx.desk.id,
        userId: input.userId,
        role: input.role,
        mayAddExistingUser: ctx.principal.user.isPlatformAdmin,
      });
      await audit.record(ctx.tx, {
        action: input.role === null ? 'users.revokeRole' : 'users.setRole',
        actor: actorOf(ctx.principal),
        targetType: 'user',
        targetId: input.userId,
        payload: { from: result.previousRole, to: result.role },
        details: `${result.previousRole ?? 'none'} → ${result.role ?? 'none'}; sessions ended ${result.sessionsEnded}`,
      });
      return { userId: input.userId, ...result };
    }),

  /** Users by email (case-insensitive; exact or prefix) across every desk, exact match first. */
  find: protectedProcedure
    .meta({ scope: 'admin', permission: 'users.find' })
    .input(z.strictObject({ email: safeText(254, { min: 1 }) }))
    .output(z.array(foundUserSchema))
    .query(({ ctx, input }) => {
      requirePlatformAdmin(ctx.principal.user.isPlatformAdmin);
      return findUsers(ctx.db, input.email);
    }),

  disable: protectedProcedure
    .meta({ scope: 'admin', permission: 'users.disable' })
    .input(z.strictObject({ userId: userIdSchema }))
    .output(z.object({ userId: uuidSchema, sessionsEnded: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      if (input.userId === ctx.principal.user.id)
        throw new AppError('CONFLICT', 'You cannot disable yourself');
      const { sessionsEnded } = await disableUser(ctx.db, input.userId);
      await audit.record(ctx.db, {
        action: 'users.disable',
        actor: actorOf(ctx.principal),
        tenantId: null,
        requestId: ctx.requestId,
        ip: ctx.ip,
        targetType: 'user',
        targetId: input.userId,
        details: `sessions ended ${sessionsEnded}`,
      });
      return { userId: input.userId, sessionsEnded };
    }),
});
