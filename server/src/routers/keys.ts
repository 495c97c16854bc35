import { AppError } from '@aegis/shared/errors';
import { apiKeyIdSchema } from '@aegis/shared/ids';
import {
  apiKeySchema,
  apiKeyScopeSchema,
  tsIso,
  tsIsoOrNull,
  uuidSchema,
} from '@aegis/shared/schemas/identity';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import { audit } from '../audit/service.ts';
import { type ApiKeyListItem, createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys.ts';
import { GRANTABLE_SCOPES } from '../auth/permissions.ts';
import { actorOf } from '../auth/principal.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * API keys of the current desk. Everyone manages their own keys; desk admins see and revoke
 * every key of the desk. A key's scopes never exceed what its creator's role can use, nor (when
 * a key creates a key) the creating key's own scopes.
 */
const keyName = safeText(100);

const toApiKey = (k: ApiKeyListItem) => ({
  id: k.id,
  userId: k.userId,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  createdAt: tsIso(k.createdAt),
  expiresAt: tsIsoOrNull(k.expiresAt),
  revokedAt: tsIsoOrNull(k.revokedAt),
  lastUsedAt: tsIsoOrNull(k.lastUsedAt),
});

export const keysRouter = createTRPCRouter({
  create: deskProcedure
    .meta({ scope: 'admin', permission: 'keys.create' })
    .input(
      z.strictObject({
        name: keyName,
        scopes: z.array(apiKeyScopeSchema).min(1).max(3),
        /** Days until the key expires; omitted = no expiry. */
        expiresInDays: z.number().int().min(1).max(3650).optional(),
      }),
    )
    .output(z.object({ key: z.string(), apiKey: apiKeySchema }))
    .mutation(async ({ ctx, input }) => {
      const p = ctx.principal;
      const grantable = new Set(GRANTABLE_SCOPES[ctx.desk.role]);
      const ceiling = p.kind === 'api_key' ? new Set(p.apiKey.scopes) : grantable;
      for (const s of input.scopes) {
        if (!grantable.has(s) || !ceiling.has(s)) {
          throw new AppError('FORBIDDEN', `You cannot grant the ${s} scope`, {
            reason: 'scope_ceiling',
            scope: s,
          });
        }
      }
      const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null;
      const created = await createApiKey(ctx.tx, {
        tenantId: ctx.desk.id,
        userId: p.user.id,
        name: input.name,
        scopes: input.scopes,
        expiresAt,
      });
      await audit.record(ctx.tx, {
        action: 'keys.create',
        actor: actorOf(p),
        targetType: 'api_key',
        targetId: created.record.id,
        // Never the key itself: prefix and scopes identify it.
        payload: {
          prefix: created.record.prefix,
          scopes: created.record.scopes,
          expiresAt: tsIsoOrNull(expiresAt),
        },
        details: `${created.record.prefix} [${created.record.scopes.join(',')}]`,
      });
      return {
        key: created.key,
        apiKey: toApiKey({ ...created.record, scopes: [...created.record.scopes], revokedAt: null }),
      };
    }),

  list: deskProcedure
    .meta({ scope: 'read', permission: 'keys.read' })
    .input(z.strictObject({}).optional())
    .output(z.array(apiKeySchema))
    .query(async ({ ctx }) => {
      const own = ctx.desk.role === 'admin' ? {} : { userId: ctx.principal.user.id };
      return (await listApiKeys(ctx.tx, own)).map(toApiKey);
    }),

  revoke: deskProcedure
    .meta({ scope: 'admin', permission: 'keys.revoke' })
    .input(z.strictObject({ keyId: apiKeyIdSchema }))
    .output(z.object({ id: uuidSchema, prefix: z.string(), revokedAt: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const ownerOnly = ctx.desk.role === 'admin' ? null : ctx.principal.user.id;
      const revoked = await revokeApiKey(ctx.tx, input.keyId, ownerOnly);
      await audit.record(ctx.tx, {
        action: 'keys.revoke',
        actor: actorOf(ctx.principal),
        targetType: 'api_key',
        targetId: revoked.id,
        details: revoked.prefix,
      });
      return { id: revoked.id, prefix: revoked.prefix, revokedAt: tsIso(revoked.revokedAt) };
    }),
});
