// Over 400 lines on purpose: one router for one resource, broker connections (providers, list, the
// three ways of linking, sync, unlink, the OAuth provider settings); each procedure is thin and the
// work is in server/src/auth/oauth and server/src/brokers, so the length is the procedure list.

import { randomUUID } from 'node:crypto';
import { brokerConnections, oauthProviders } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { AppError } from '@aegis/shared/errors';
import type { TenantId, UserId } from '@aegis/shared/ids';
import {
  type BrokerConnectionView,
  brokerConnectionView,
  brokerProviderView,
  connectionIdInput,
  linkApiKeyInput,
  linkGatewayInput,
  oauthProviderInput,
  startLinkInput,
  startLinkOutput,
} from '@aegis/shared/schemas/broker';
import { and, desc, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../audit/service.ts';
import { tokenCryptoOf } from '../auth/oauth/crypto-registry.ts';
import {
  bindingOf,
  type OAuthDeps,
  sealOrRefuse,
  settleAccount,
  startLink,
} from '../auth/oauth/link-service.ts';
import { linkKindsOf, providerCatalogue, providerName } from '../auth/oauth/providers.ts';
import { unlinkConnection } from '../auth/oauth/unlink.ts';
import { actorOf } from '../auth/principal.ts';
import { supportedCcxtExchanges } from '../brokers/ccxt/catalogue.ts';
import type { Context } from '../context.ts';
import type { Tx } from '../db/database.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * Linked broker accounts of the current desk (docs/brokers.md). Secrets are write-only: no
 * procedure returns a token, key or client secret.
 */
type ConnectionRow = typeof brokerConnections.$inferSelect;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toView(c: ConnectionRow, customName: string | null = null): BrokerConnectionView {
  const snap = c.accountSnapshot as BrokerConnectionView['account'] | null;
  return {
    id: c.id,
    provider: c.provider,
    providerName: providerName(c.provider, customName ? { name: customName } : null),
    label: c.label,
    environment: c.environment,
    linkKind: c.linkKind,
    status: c.status,
    statusReason: c.statusReason,
    accountRef: c.accountRef.startsWith('pending:') ? '' : c.accountRef,
    accountIds: c.accountIds,
    scopes: c.scopes ?? [],
    tokenExpiresAt: iso(c.tokenExpiresAt),
    lastSyncAt: iso(c.lastSyncAt),
    createdAt: c.createdAt.toISOString(),
    account: snap && typeof snap === 'object' && 'accountId' in snap ? snap : null,
    tradable: c.status === 'active' && c.provider !== 'robinhood',
  };
}

const oauthDepsOf = (ctx: Context): OAuthDeps => ({
  db: ctx.db,
  config: ctx.config,
  log: ctx.log,
  crypto: tokenCryptoOf(ctx.config),
  ...(ctx.execution && { execution: ctx.execution }),
});

async function customNames(tx: Tx, tenantId: TenantId): Promise<Map<string, string>> {
  const rows = await tx
    .select({ slug: oauthProviders.slug, name: oauthProviders.name })
    .from(oauthProviders)
    .where(eq(oauthProviders.tenantId, tenantId));
  return new Map(rows.map((r) => [`oauth:${r.slug}`, r.name]));
}

async function viewOf(ctx: Context, tenantId: TenantId, id: string): Promise<BrokerConnectionView> {
  return withTenant(ctx.db, tenantId, async (tx) => {
    const [c] = await tx.select().from(brokerConnections).where(eq(brokerConnections.id, id));
    if (!c)
      throw new AppError('NOT_FOUND', 'connectionId: no such connection on this desk', {
        field: 'connectionId',
      });
    return toView(c, (await customNames(tx, tenantId)).get(c.provider) ?? null);
  });
}

/** Inserts a connection in its own transaction (the account is read after it is committed). */
async function insertConnection(
  ctx: Context,
  tenantId: TenantId,
  userId: UserId,
  values: Omit<typeof brokerConnections.$inferInsert, 'tenantId' | 'createdBy'> & { id: string },
  action: string,
): Promise<void> {
  await withTenant(ctx.db, tenantId, async (tx) => {
    await tx.insert(brokerConnections).values({ ...values, tenantId, createdBy: userId });
    await audit.record(tx, {
      action,
      actor: { type: 'user', id: userId },
      targetType: 'broker_connection',
      targetId: values.id,
      payload: { provider: values.provider, environment: values.environment, linkKind: values.linkKind },
      details: `${values.provider} ${values.environment ?? 'paper'}`,
    });
  });
}

/**
 * A new connection linked by the desk's user (keys or a gateway): inserted and audited as
 * `brokers.link`, then its account settled at the broker. `values` gets the new connection's id
 * (its pending account reference and its credentials' binding name it).
 */
async function linkAndSettle(
  ctx: Context,
  deskId: TenantId,
  values: (id: string) => Omit<typeof brokerConnections.$inferInsert, 'tenantId' | 'createdBy' | 'id'>,
) {
  const id = randomUUID();
  const userId = ctx.principal!.user.id;
  await insertConnection(ctx, deskId, userId, { id, ...values(id) }, 'brokers.link');
  return { id, settled: await settleAccount(oauthDepsOf(ctx), deskId, userId, id) };
}

export const brokersRouter = createTRPCRouter({
  providers: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).optional())
    .output(z.array(brokerProviderView))
    .query(({ ctx }) => providerCatalogue(ctx.config, ctx.tx, ctx.desk.id)),

  list: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).optional())
    .output(z.array(brokerConnectionView))
    .query(async ({ ctx }) => {
      const rows = await ctx.tx
        .select()
        .from(brokerConnections)
        .where(eq(brokerConnections.tenantId, ctx.desk.id))
        .orderBy(desc(brokerConnections.createdAt));
      const names = await customNames(ctx.tx, ctx.desk.id);
      return rows.map((r) => toView(r, names.get(r.provider) ?? null));
    }),

  startLink: deskProcedure
    .meta({ scope: 'admin', permission: 'brokers.link' })
    .input(startLinkInput)
    .output(startLinkOutput)
    .mutation(({ ctx, input }) => {
      const p = ctx.principal;
      if (p?.kind !== 'session') throw new AppError('FORBIDDEN', 'linking a broker needs a signed-in person');
      return startLink(
        oauthDepsOf(ctx),
        ctx.tx,
        { tenantId: ctx.desk.id, userId: p.user.id, sessionId: p.session.id },
        input,
      );
    }),

  linkApiKey: deskProcedure
    .meta({ scope: 'admin', permission: 'brokers.link' })
    .input(linkApiKeyInput)
    .output(brokerConnectionView)
    .mutation(async ({ ctx, input }) => {
      if (!linkKindsOf(input.provider).includes('api_key'))
        throw new AppError('BAD_INPUT', `provider: ${input.provider} is not linked with API keys`, {
          field: 'provider',
        });
      if (input.provider.startsWith('ccxt:')) {
        const venue = supportedCcxtExchanges().find((x) => x.provider === input.provider);
        if (venue?.passphrase && !input.passphrase)
          throw new AppError('BAD_INPUT', `passphrase: ${venue.name} keys need their passphrase`, {
            field: 'passphrase',
          });
        if (input.environment === 'paper' && !venue?.sandbox)
          throw new AppError(
            'BAD_INPUT',
            `environment: ${venue?.name ?? input.provider} has no test network`,
            {
              field: 'environment',
            },
          );
      }
      if (input.provider === 'coinbase' && input.environment === 'paper')
        throw new AppError('BAD_INPUT', 'environment: Coinbase has no paper trading', {
          field: 'environment',
        });
      const crypto = tokenCryptoOf(ctx.config);
      const credentials = JSON.stringify({
        apiKey: input.apiKey,
        apiSecret: input.apiSecret,
        ...(input.passphrase && { passphrase: input.passphrase }),
      });
      const { id, settled } = await linkAndSettle(ctx, ctx.desk.id, (id) => ({
        provider: input.provider,
        accountRef: `pending:${id}`,
        label: input.label ?? providerName(input.provider),
        environment: input.environment,
        linkKind: 'api_key',
        status: 'active',
        credentialsEnc: sealOrRefuse(crypto, credentials, bindingOf(ctx.desk.id, id, 'credentials')),
      }));
      if (!settled.ok) {
        // Keys that cannot read their own account are not kept.
        const view = await viewOf(ctx, ctx.desk.id, id);
        await withTenant(ctx.db, ctx.desk.id, (tx) =>
          tx.delete(brokerConnections).where(eq(brokerConnections.id, id)),
        );
        throw new AppError(
          'BAD_INPUT',
          `apiKey: the broker refused these keys (${view.statusReason ?? 'no account'})`,
          {
            field: 'apiKey',
          },
        );
      }
      return viewOf(ctx, ctx.desk.id, settled.connectionId);
    }),

  linkGateway: deskProcedure
    .meta({ scope: 'admin', permission: 'brokers.link' })
    .input(linkGatewayInput)
    .output(brokerConnectionView)
    .mutation(async ({ ctx, input }) => {
      if (!ctx.config.brokers.ibkrGatewayUrl)
        throw new AppError('PRECONDITION_FAILED', 'provider: IBKR needs IBKR_GATEWAY_URL on the server', {
          field: 'provider',
        });
      const { id, settled } = await linkAndSettle(ctx, ctx.desk.id, (id) => ({
        provider: 'ibkr',
        accountRef: input.accountId ?? `pending:${id}`,
        accountIds: input.accountId ? [input.accountId] : [],
        label: input.label ?? 'Interactive Brokers',
        environment: input.environment,
        linkKind: 'gateway',
        status: 'active',
      }));
      return viewOf(ctx, ctx.desk.id, settled.connectionId ?? id);
    }),

  sync: deskProcedure
    .meta({ scope: 'read', permission: 'brokers.sync' })
    .input(connectionIdInput)
    .output(brokerConnectionView)
    .mutation(async ({ ctx, input }) => {
      const [c] = await ctx.tx
        .select()
        .from(brokerConnections)
        .where(
          and(eq(brokerConnections.tenantId, ctx.desk.id), eq(brokerConnections.id, input.connectionId)),
        );
      if (!c)
        throw new AppError('NOT_FOUND', 'connectionId: no such connection on this desk', {
          field: 'connectionId',
        });
      if (c.status === 'revoked')
        throw new AppError('PRECONDITION_FAILED', 'connectionId: the connection is unlinked', {
          field: 'connectionId',
        });
      if (!ctx.execution) throw new AppError('UNAVAILABLE', 'execution is not running on this server');
      const account = await ctx.execution.brokerAccount(ctx.desk.id, c.id);
      const now = new Date();
      await withTenant(ctx.db, ctx.desk.id, (tx) =>
        tx
          .update(brokerConnections)
          .set({
            accountSnapshot: { ...account, syncedAt: now.toISOString() },
            lastSyncAt: now,
            ...(c.accountRef.startsWith('pending:') && {
              accountRef: account.accountId,
              accountIds: [account.accountId],
            }),
            // A gateway session that works again is active again.
            ...((c.status === 'reauth_required' || c.status === 'error') && {
              status: 'active' as const,
              statusReason: null,
            }),
            updatedAt: now,
          })
          .where(eq(brokerConnections.id, c.id)),
      );
      return viewOf(ctx, ctx.desk.id, c.id);
    }),

  unlink: deskProcedure
    .meta({ scope: 'admin', permission: 'brokers.manage' })
    .input(connectionIdInput)
    .output(z.object({ connectionId: z.uuid(), revokedAtProvider: z.boolean() }))
    .mutation(({ ctx, input }) =>
      unlinkConnection(oauthDepsOf(ctx), ctx.desk.id, actorOf(ctx.principal!), input.connectionId),
    ),

  oauthProviders: createTRPCRouter({
    list: deskProcedure
      .meta({ scope: 'read', permission: 'desk.read' })
      .input(z.strictObject({}).optional())
      .output(
        z.array(
          oauthProviderInput.omit({ clientSecret: true }).extend({
            id: z.uuid(),
            hasClientSecret: z.boolean(),
            provider: z.string(),
            apiProtocol: z.string(),
          }),
        ),
      )
      .query(async ({ ctx }) => {
        const rows = await ctx.tx
          .select()
          .from(oauthProviders)
          .where(eq(oauthProviders.tenantId, ctx.desk.id));
        return rows.map((r) => ({
          id: r.id,
          provider: `oauth:${r.slug}`,
          slug: r.slug,
          name: r.name,
          issuer: r.issuer,
          authorizationUrl: r.authorizationUrl,
          tokenUrl: r.tokenUrl,
          revocationUrl: r.revocationUrl,
          scopes: r.scopes,
          clientId: r.clientId,
          hasClientSecret: r.clientSecretEnc !== null,
          clientAuth: r.clientAuth,
          grantType: r.grantType,
          apiBaseUrl: r.apiBaseUrl,
          apiProtocol: r.apiProtocol,
        }));
      }),
    upsert: deskProcedure
      .meta({ scope: 'admin', permission: 'brokers.link' })
      .input(oauthProviderInput)
      .output(z.object({ id: z.uuid(), provider: z.string() }))
      .mutation(async ({ ctx, input }) => {
        if (input.grantType === 'authorization_code' && !input.authorizationUrl)
          throw new AppError('BAD_INPUT', 'authorizationUrl: required for the authorization-code grant', {
            field: 'authorizationUrl',
          });
        if (input.clientAuth !== 'none' && !input.clientSecret) {
          const [had] = await ctx.tx
            .select({ s: oauthProviders.clientSecretEnc })
            .from(oauthProviders)
            .where(and(eq(oauthProviders.tenantId, ctx.desk.id), eq(oauthProviders.slug, input.slug)));
          if (!had?.s)
            throw new AppError('BAD_INPUT', `clientSecret: required for ${input.clientAuth}`, {
              field: 'clientSecret',
            });
        }
        const [existing] = await ctx.tx
          .select({ id: oauthProviders.id })
          .from(oauthProviders)
          .where(and(eq(oauthProviders.tenantId, ctx.desk.id), eq(oauthProviders.slug, input.slug)));
        const id = existing?.id ?? randomUUID();
        const crypto = tokenCryptoOf(ctx.config);
        const values = {
          name: input.name,
          issuer: input.issuer ?? null,
          authorizationUrl: input.authorizationUrl ?? null,
          tokenUrl: input.tokenUrl,
          revocationUrl: input.revocationUrl ?? null,
          scopes: input.scopes,
          clientId: input.clientId,
          ...(input.clientSecret && {
            clientSecretEnc: sealOrRefuse(
              crypto,
              input.clientSecret,
              bindingOf(ctx.desk.id, id, 'client_secret'),
            ),
          }),
          ...(input.clientAuth === 'none' && { clientSecretEnc: null }),
          clientAuth: input.clientAuth,
          grantType: input.grantType,
          apiBaseUrl: input.apiBaseUrl,
          apiProtocol: input.apiProtocol,
          updatedAt: new Date(),
        };
        if (existing) await ctx.tx.update(oauthProviders).set(values).where(eq(oauthProviders.id, id));
        else
          await ctx.tx
            .insert(oauthProviders)
            .values({ id, tenantId: ctx.desk.id, slug: input.slug, ...values });
        await audit.record(ctx.tx, {
          action: existing ? 'brokers.provider.update' : 'brokers.provider.create',
          actor: actorOf(ctx.principal!),
          targetType: 'oauth_provider',
          targetId: id,
          payload: {
            slug: input.slug,
            tokenUrl: input.tokenUrl,
            grantType: input.grantType,
            apiProtocol: input.apiProtocol,
          },
          details: `oauth:${input.slug}`,
        });
        return { id, provider: `oauth:${input.slug}` };
      }),
    remove: deskProcedure
      .meta({ scope: 'admin', permission: 'brokers.link' })
      .input(z.strictObject({ slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/) }))
      .output(z.object({ removed: z.boolean() }))
      .mutation(async ({ ctx, input }) => {
        const [p] = await ctx.tx
          .select({ id: oauthProviders.id })
          .from(oauthProviders)
          .where(and(eq(oauthProviders.tenantId, ctx.desk.id), eq(oauthProviders.slug, input.slug)));
        if (!p) return { removed: false };
        const [used] = await ctx.tx
          .select({ id: brokerConnections.id })
          .from(brokerConnections)
          .where(
            and(
              eq(brokerConnections.tenantId, ctx.desk.id),
              eq(brokerConnections.providerConfigId, p.id),
              ne(brokerConnections.status, 'revoked'),
            ),
          )
          .limit(1);
        if (used)
          throw new AppError('CONFLICT', 'slug: connections still use this provider; unlink them first', {
            field: 'slug',
          });
        // Unlinked connections stay (their orders point at them) but hold no secret: they let go
        // of the configuration (the foreign key restricts deletion otherwise).
        await ctx.tx
          .update(brokerConnections)
          .set({ providerConfigId: null })
          .where(
            and(eq(brokerConnections.tenantId, ctx.desk.id), eq(brokerConnections.providerConfigId, p.id)),
          );
        await ctx.tx.delete(oauthProviders).where(eq(oauthProviders.id, p.id));
        await audit.record(ctx.tx, {
          action: 'brokers.provider.remove',
          actor: actorOf(ctx.principal!),
          targetType: 'oauth_provider',
          targetId: p.id,
          payload: { slug: input.slug },
          details: `oauth:${input.slug}`,
        });
        return { removed: true };
      }),
  }),
});
