/**
 * The OAuth 2.0 link flow through the real server, against a real authorization server
 * (oidc-provider: PKCE S256 required, exact redirect URIs, single-use codes, client
 * authentication, refresh-token rotation, RFC 7009 revocation, RFC 9207 `iss`) and a local Alpaca
 * that accepts only the access tokens that server issued.
 *
 * One file: the link flow's steps share one authorization server, one fake Alpaca and one server;
 * each describe is one stage of the flow.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { asTenantId } from '@aegis/shared/ids';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { credentialSourceFor } from '../../src/auth/oauth/credentials.ts';
import { bindingOf } from '../../src/auth/oauth/link-service.ts';
import { rotateTokenKeys } from '../../src/auth/oauth/rotate-keys.ts';
import { parseTokenKeys, TokenCrypto } from '../../src/auth/oauth/token-crypto.ts';
import { BrokerError } from '../../src/brokers/types.ts';
import { eventually } from './decisions-support.ts';
import { runTokensRotate } from './rotation-fixture.ts';
import { type FakeAlpaca, startFakeAlpaca } from './support/fake-alpaca.ts';
import { startTestAuthServer, type TestAuthServer } from './support/oauth-server.ts';
import {
  type Client,
  CookieJar,
  failure,
  ORIGIN,
  signIn,
  startTestServer,
  type TestServer,
} from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

const KEY1 = randomBytes(32).toString('base64');
const KEY2 = randomBytes(32).toString('base64');
/** Keys the local Alpaca accepts (API-key link). */
const API_KEY = { apiKey: 'PKTESTKEY0001', apiSecret: `alpaca-api-secret-${randomUUID()}` };
const CLIENT = { clientId: 'aegis-alpaca', clientSecret: 'alpaca-client-secret-0123456789' };
/** A desk-configured broker using the client-credentials grant (no user step). */
const SERVICE = { clientId: 'aegis-svc', clientSecret: `svc-client-secret-${randomUUID()}` };
const GENERIC = { clientId: 'aegis-acme', clientSecret: 'acme-client-secret-0123456789' };

let as: TestAuthServer;
let alpaca: FakeAlpaca;
let t: TestServer;
let admin: Client;
let jar: CookieJar;
let password: string;

beforeAll(async () => {
  as = await startTestAuthServer({
    clients: [
      {
        ...CLIENT,
        redirectUris: [`${ORIGIN}/oauth/callback/alpaca`],
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['authorization_code', 'refresh_token'],
        scope: 'account:write trading',
      },
      {
        ...SERVICE,
        redirectUris: [],
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['client_credentials'],
        scope: 'trading',
      },
      {
        ...GENERIC,
        redirectUris: [`${ORIGIN}/oauth/callback/${encodeURIComponent('oauth:acme')}`],
        tokenEndpointAuthMethod: 'client_secret_post',
        grantTypes: ['authorization_code', 'refresh_token'],
        scope: 'trading',
      },
    ],
  });
  alpaca = await startFakeAlpaca({
    authorize: async (a) =>
      a.kind === 'bearer'
        ? (await as.introspect(a.token)).active
        : a.keyId === API_KEY.apiKey && a.secret === API_KEY.apiSecret,
    cash: '25000',
  });
  t = await startTestServer({
    env: {
      TOKEN_ENCRYPTION_KEYS: `k1:${KEY1}`,
      ALPACA_CLIENT_ID: CLIENT.clientId,
      ALPACA_CLIENT_SECRET: CLIENT.clientSecret,
      ALPACA_OAUTH_AUTHORIZE_URL: as.authorizationUrl,
      ALPACA_OAUTH_TOKEN_URL: as.tokenUrl,
      ALPACA_OAUTH_ISSUER: as.issuer,
      ALPACA_PAPER_API_URL: alpaca.url,
      ALPACA_PAPER_STREAM_URL: alpaca.streamUrl,
    },
  });
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  admin = s.client;
  jar = s.jar;
  password = s.password;
  await admin.auth.reauthenticate.mutate({ password });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await alpaca?.close();
  await as?.close();
});

/** Requests the server's callback with this session's cookie; returns where it sends the browser. */
async function callback(redirect: URL, cookieJar: CookieJar = jar, path?: string): Promise<URL> {
  const res = await fetch(`${t.url}${path ?? redirect.pathname}${redirect.search}`, {
    redirect: 'manual',
    headers: cookieJar.header() ? { cookie: cookieJar.header()! } : {},
  });
  expect(res.status).toBe(303);
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  return new URL(res.headers.get('location')!);
}

async function link(provider = 'alpaca'): Promise<string> {
  const { authorizationUrl } = await admin.brokers.startLink.mutate({ provider, environment: 'paper' });
  const back = await callback(await as.authorize(authorizationUrl));
  expect(back.searchParams.get('link_error')).toBeNull();
  return back.searchParams.get('linked')!;
}

const sealedOf = async (id: string) => {
  const [row] = await t.owner<
    { access_token_enc: string; refresh_token_enc: string | null; tenant_id: string }[]
  >`
    select access_token_enc, refresh_token_enc, tenant_id from broker_connections where id = ${id}`;
  return row!;
};

const crypto1 = new TokenCrypto(parseTokenKeys(`k1:${KEY1}`, undefined));

async function tokensOf(id: string, c = crypto1) {
  const r = await sealedOf(id);
  return {
    access: c.decrypt(r.access_token_enc, bindingOf(asTenantId(r.tenant_id), id, 'access_token')),
    refresh: r.refresh_token_enc
      ? c.decrypt(r.refresh_token_enc, bindingOf(asTenantId(r.tenant_id), id, 'refresh_token'))
      : null,
  };
}

const oauthDeps = () => ({
  db: t.server.deps.db,
  config: t.server.deps.config,
  log: t.server.deps.log,
  crypto: crypto1,
});

describe('linking an Alpaca paper account over OAuth 2.0 + PKCE', () => {
  it('needs a recent password re-entry, then links, reads the account and audits, with no token in any response', async () => {
    const fresh = await signIn(t.url, t.admin.email, password, password);
    const refused = await failure(fresh.client.brokers.startLink.mutate({ provider: 'alpaca' }));
    expect(refused.data?.httpStatus).toBe(403);

    const before = as.tokenRequests.authorization_code;
    const { authorizationUrl } = await admin.brokers.startLink.mutate({
      provider: 'alpaca',
      environment: 'paper',
    });
    const url = new URL(authorizationUrl);
    expect(url.origin + url.pathname).toBe(as.authorizationUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('redirect_uri')).toBe(`${ORIGIN}/oauth/callback/alpaca`);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(url.searchParams.get('env')).toBe('paper');

    const redirect = await as.authorize(authorizationUrl);
    expect(redirect.searchParams.get('iss')).toBe(as.issuer);
    const back = await callback(redirect);
    expect(back.pathname).toBe('/brokers');
    const id = back.searchParams.get('linked')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(as.tokenRequests.authorization_code).toBe(before + 1);

    const listed = await admin.brokers.list.query();
    const c = listed.find((x) => x.id === id)!;
    expect(c).toMatchObject({
      provider: 'alpaca',
      environment: 'paper',
      linkKind: 'oauth',
      status: 'active',
      accountRef: alpaca.accountNumber,
      tradable: true,
    });
    expect(c.account?.cash).toBe('25000');
    expect(c.scopes).toEqual(expect.arrayContaining(['trading']));

    const tokens = await tokensOf(id);
    expect((await as.introspect(tokens.access)).active).toBe(true);
    const everything = JSON.stringify(listed) + JSON.stringify(await admin.brokers.providers.query());
    expect(everything).not.toContain(tokens.access);
    expect(everything).not.toContain(tokens.refresh!);
    expect(back.toString()).not.toContain(tokens.access);

    const [audit] = await t.owner<{ action: string }[]>`
      select action from audit_log where target_id = ${id} and action = 'brokers.link'`;
    expect(audit?.action).toBe('brokers.link');
    // The state is stored only as its hash, the verifier sealed.
    const state = url.searchParams.get('state')!;
    const rows = await t.owner<{ state_hash: string; code_verifier_enc: string }[]>`
      select state_hash, code_verifier_enc from oauth_transactions`;
    expect(JSON.stringify(rows)).not.toContain(state);
    expect(rows.every((r) => r.code_verifier_enc.startsWith('v1.k1.'))).toBe(true);
  });

  it('refuses missing, unknown, foreign, expired, reused state and a provider or issuer mismatch before any token request', async () => {
    const start = () => admin.brokers.startLink.mutate({ provider: 'alpaca', environment: 'paper' });
    const errorOf = (u: URL) => u.searchParams.get('link_error');

    const ok = await as.authorize((await start()).authorizationUrl);
    const count = as.tokenRequests.authorization_code;

    const noState = new URL(ok);
    noState.searchParams.delete('state');
    expect(errorOf(await callback(noState))).toBe('missing_state');

    const unknown = new URL(ok);
    unknown.searchParams.set('state', randomBytes(32).toString('base64url'));
    expect(errorOf(await callback(unknown))).toBe('unknown_state');

    // Another session of the same person cannot complete this one's link.
    const other = await signIn(t.url, t.admin.email, password, password);
    expect(errorOf(await callback(ok, other.jar))).toBe('foreign_state');
    // No session at all.
    expect(errorOf(await callback(ok, new CookieJar()))).toBe('no_session');

    // Sent back to another provider's callback.
    expect(errorOf(await callback(ok, jar, '/oauth/callback/coinbase'))).toBe('provider_mismatch');

    // RFC 9207: an `iss` that is not the provider's (a mix-up) is refused, and the state is spent.
    const wrongIss = new URL(ok);
    wrongIss.searchParams.set('iss', 'https://attacker.example');
    expect(errorOf(await callback(wrongIss))).toBe('issuer_mismatch');
    expect(errorOf(await callback(ok))).toBe('reused_state');
    expect(as.tokenRequests.authorization_code).toBe(count);

    const late = await as.authorize((await start()).authorizationUrl);
    await t.owner`update oauth_transactions set expires_at = now() - interval '1 second' where consumed_at is null`;
    expect(errorOf(await callback(late))).toBe('expired_state');
    expect(as.tokenRequests.authorization_code).toBe(count);

    // Transactions long past their expiry are deleted when the desk next starts a link.
    await t.owner`update oauth_transactions set expires_at = now() - interval '2 days' where consumed_at is null`;
    const [{ n: stale } = { n: 0 }] = await t.owner<{ n: number }[]>`
      select count(*)::int as n from oauth_transactions where expires_at < now() - interval '1 day'`;
    expect(stale).toBeGreaterThan(0);
    await start();
    const [{ n: left } = { n: -1 }] = await t.owner<{ n: number }[]>`
      select count(*)::int as n from oauth_transactions where expires_at < now() - interval '1 day'`;
    expect(left).toBe(0);

    // The issuer is configured: a response that does not name it is refused too.
    const noIss = new URL(await as.authorize((await start()).authorizationUrl));
    noIss.searchParams.delete('iss');
    expect(errorOf(await callback(noIss))).toBe('issuer_mismatch');
    expect(as.tokenRequests.authorization_code).toBe(count);

    // The first callback that reaches the server consumes the state; a replay is refused, also
    // when both arrive at once.
    const good = await as.authorize((await start()).authorizationUrl);
    const raced = await Promise.all([callback(good), callback(good)]);
    expect(raced.map((u) => (u.searchParams.get('linked') ? 'linked' : errorOf(u))).sort()).toEqual([
      'linked',
      'reused_state',
    ]);
    expect(errorOf(await callback(good))).toBe('reused_state');
    expect(as.tokenRequests.authorization_code).toBe(count + 1);
  });

  it('refuses a verifier that does not match (the authorization server checks PKCE)', async () => {
    const { authorizationUrl } = await admin.brokers.startLink.mutate({
      provider: 'alpaca',
      environment: 'paper',
    });
    const redirect = await as.authorize(authorizationUrl);
    const [tx] = await t.owner<{ id: string; tenant_id: string }[]>`
      select id, tenant_id from oauth_transactions where consumed_at is null order by created_at desc limit 1`;
    const forged = crypto1.encrypt(
      randomBytes(32).toString('base64url'),
      bindingOf(asTenantId(tx!.tenant_id), tx!.id, 'code_verifier'),
    );
    await t.owner`update oauth_transactions set code_verifier_enc = ${forged} where id = ${tx!.id}`;
    const before = as.tokenRequests.authorization_code;
    expect((await callback(redirect)).searchParams.get('link_error')).toBe('token_exchange_failed');
    expect(as.tokenRequests.authorization_code).toBe(before + 1);
  });

  it('reports the provider refusing the user (access_denied)', async () => {
    const { authorizationUrl } = await admin.brokers.startLink.mutate({
      provider: 'alpaca',
      environment: 'paper',
    });
    const denied = await as.authorize(authorizationUrl, { deny: true });
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect((await callback(denied)).searchParams.get('link_error')).toBe('access_denied');
  });
});

/** A fresh link whose access token has just expired: its id, its desk and the tokens it had. */
async function linkExpiring() {
  const id = await link();
  const before = await tokensOf(id);
  const [row] = await t.owner<
    { tenant_id: string }[]
  >`select tenant_id from broker_connections where id = ${id}`;
  await t.owner`update broker_connections set token_expires_at = now() where id = ${id}`;
  return { id, before, tenantId: asTenantId(row!.tenant_id) };
}

describe('tokens of a linked connection', () => {
  it('20 concurrent callers with an expiring token cause exactly one refresh, and the rotated refresh token is committed', async () => {
    const { id, before, tenantId } = await linkExpiring();
    const refreshes = as.tokenRequests.refresh_token;
    const source = credentialSourceFor(oauthDeps(), { id, tenantId, provider: 'alpaca' });
    const got = await Promise.all(Array.from({ length: 20 }, () => source.accessToken()));
    expect(as.tokenRequests.refresh_token).toBe(refreshes + 1);
    expect(new Set(got).size).toBe(1);
    expect(got[0]).not.toBe(before.access);
    expect((await as.introspect(got[0]!)).active).toBe(true);
    const after = await tokensOf(id);
    expect(after.access).toBe(got[0]);
    expect(after.refresh).not.toBe(before.refresh);
    // Fresh now: no further refresh.
    await source.accessToken();
    expect(as.tokenRequests.refresh_token).toBe(refreshes + 1);
  });

  it('two processes (separate single-flight maps) refreshing at once: the row lock lets exactly one refresh through', async () => {
    const { id, before, tenantId } = await linkExpiring();
    // A second copy of the module stands for another server process: its own in-flight map.
    vi.resetModules();
    const other = (await import(
      '../../src/auth/oauth/credentials.ts'
    )) as typeof import('../../src/auth/oauth/credentials.ts');
    expect(other.credentialSourceFor).not.toBe(credentialSourceFor);
    const refreshes = as.tokenRequests.refresh_token;
    const who = { id, tenantId, provider: 'alpaca' };
    const a = credentialSourceFor(oauthDeps(), who);
    const b = other.credentialSourceFor(oauthDeps(), who);
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).accessToken()));
    expect(as.tokenRequests.refresh_token).toBe(refreshes + 1);
    expect(new Set(got).size).toBe(1);
    expect(got[0]).not.toBe(before.access);
    expect((await tokensOf(id)).access).toBe(got[0]);
  });

  it('invalid_grant marks the connection needs_relink, audits it and refuses its orders; relink keeps its id and Sync reads the account', async () => {
    const id = await link();
    const [row] = await t.owner<
      { tenant_id: string }[]
    >`select tenant_id from broker_connections where id = ${id}`;
    await as.revokeAll();
    await t.owner`update broker_connections set token_expires_at = now() where id = ${id}`;
    const source = credentialSourceFor(oauthDeps(), {
      id,
      tenantId: asTenantId(row!.tenant_id),
      provider: 'alpaca',
    });
    const err = await source.accessToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).brokerCode).toBe('BROKER_AUTH');
    const c = (await admin.brokers.list.query()).find((x) => x.id === id)!;
    expect(c.status).toBe('needs_relink');
    expect(c.statusReason).toMatch(/invalid_grant/);
    expect(c.tradable).toBe(false);
    const [audit] = await t.owner<{ action: string }[]>`
      select action from audit_log where target_id = ${id} and action = 'brokers.needs_relink'`;
    expect(audit).toBeDefined();
    // A known instrument, so the refusal is the connection's (412), not the symbol's.
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
      values ('AAPL', 'XNAS', 'equity', '0.01', '1', '24x7') on conflict do nothing`;
    const refused = await failure(
      admin.orders.place.mutate({
        idempotencyKey: `relink-${id}`,
        order: { symbol: 'AAPL', side: 'buy', orderType: 'market', quantity: '1', brokerConnectionId: id },
      }),
    );
    expect(refused.data?.httpStatus).toBe(412);

    // Relink keeps the connection: same id, fresh tokens, active again, and Sync reads the broker.
    const before = await sealedOf(id);
    const { authorizationUrl } = await admin.brokers.startLink.mutate({
      provider: 'alpaca',
      environment: 'paper',
      connectionId: id,
    });
    const back = await callback(await as.authorize(authorizationUrl));
    expect(back.searchParams.get('link_error')).toBeNull();
    expect(back.searchParams.get('linked')).toBe(id);
    const relinked = (await admin.brokers.list.query()).find((x) => x.id === id)!;
    expect(relinked).toMatchObject({ status: 'active', tradable: true, accountRef: alpaca.accountNumber });
    expect((await sealedOf(id)).access_token_enc).not.toBe(before.access_token_enc);
    expect((await as.introspect((await tokensOf(id)).access)).active).toBe(true);
    const synced = await admin.brokers.sync.mutate({ connectionId: id });
    expect(synced.id).toBe(id);
    expect(synced.lastSyncAt).not.toBeNull();
    expect(synced.account?.cash).toBe('25000');
  });
});

describe('an approved proposal routed to the linked Alpaca account', () => {
  it('reaches Alpaca once with its bracket, and the fill comes back to the order and the position', async () => {
    const id = await link();
    // Open around the clock: market hours are not under test here (the suite runs at any hour).
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
      values ('AAPL', 'XNAS', 'equity', '0.01', '1', '24x7') on conflict do nothing`;
    await venuePrices(t, [{ venue: 'XNAS', instrument: 'AAPL', bid: '189.95', ask: '190.05', last: '190' }]);
    alpaca.setPrice('AAPL', '190');
    const proposalId = randomUUID();
    await t.owner`insert into proposals ${t.owner({
      id: proposalId,
      tenant_id: t.admin.deskId,
      symbol: 'AAPL',
      side: 'buy',
      quantity: '3',
      order_type: 'market',
      stop_price: '185',
      target_price: '200',
      time_horizon: '1h',
      confidence: 0.7,
      risk_score: 30,
      rationale: t.owner.json({
        marketContext: 'AAPL at 190',
        signalEvidence: 'test',
        riskView: 'stop 185, target 200',
        lessonsApplied: [],
      }),
      decider: 'human',
      expires_at: new Date(Date.now() + 300_000),
    } as never)}`;
    const approved = await admin.approvals.approve.mutate({ proposalId, brokerConnectionId: id });
    expect((approved.order?.denial ?? []).filter((v: { passed?: boolean }) => v.passed === false)).toEqual(
      [],
    );
    expect(approved.proposal.status).toBe('executed');
    expect(approved.order).toMatchObject({ broker: 'alpaca', brokerConnectionId: id });
    const filled = await eventually(async () => {
      const o = (await admin.orders.list.query({ status: 'all' })).find((x) => x.id === approved.order!.id);
      return o?.status === 'filled' ? o : null;
    });
    expect(filled.filledQuantity).toBe('3');
    expect(filled.avgFillPrice).toBe('190');
    // Sent once, as one bracket request with our client order id.
    const sent = alpaca.orderRequests.filter((r) => r.client_order_id === filled.clientOrderId);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      symbol: 'AAPL',
      qty: '3',
      side: 'buy',
      type: 'market',
      order_class: 'bracket',
    });
    const positions = await admin.positions.list.query();
    expect(positions.find((p) => p.symbol === 'AAPL')?.quantity).toBe('3');
  });
});

describe('a broker configured by the desk (oauth:<slug>), unlink and revocation', () => {
  it('links through a generic provider with client_secret_post, unlinks and revokes the tokens at the provider', async () => {
    await admin.brokers.oauthProviders.upsert.mutate({
      slug: 'acme',
      name: 'Acme Brokerage',
      issuer: as.issuer,
      authorizationUrl: as.authorizationUrl,
      tokenUrl: as.tokenUrl,
      revocationUrl: as.revocationUrl,
      scopes: ['trading'],
      clientId: GENERIC.clientId,
      clientSecret: GENERIC.clientSecret,
      clientAuth: 'client_secret_post',
      grantType: 'authorization_code',
      apiBaseUrl: alpaca.url,
      apiProtocol: 'alpaca',
    });
    const providers = await admin.brokers.providers.query();
    expect(providers.find((p) => p.id === 'oauth:acme')?.name).toBe('Acme Brokerage');
    expect(JSON.stringify(await admin.brokers.oauthProviders.list.query())).not.toContain(
      GENERIC.clientSecret,
    );

    const id = await link('oauth:acme');
    const c = (await admin.brokers.list.query()).find((x) => x.id === id)!;
    expect(c).toMatchObject({ provider: 'oauth:acme', providerName: 'Acme Brokerage', status: 'active' });
    const tokens = await tokensOf(id);
    expect((await as.introspect(tokens.access)).active).toBe(true);

    const out = await admin.brokers.unlink.mutate({ connectionId: id });
    expect(out).toEqual({ connectionId: id, revokedAtProvider: true });
    expect((await as.introspect(tokens.access)).active).toBe(false);
    const r = await sealedOf(id);
    expect(r.access_token_enc).toBeNull();
    expect(r.refresh_token_enc).toBeNull();
    expect((await admin.brokers.list.query()).find((x) => x.id === id)?.status).toBe('revoked');

    // Only unlinked connections use it now: the configuration can be removed; they stay listed.
    expect(await admin.brokers.oauthProviders.remove.mutate({ slug: 'acme' })).toEqual({ removed: true });
    expect((await admin.brokers.providers.query()).some((p) => p.id === 'oauth:acme')).toBe(false);
    expect((await admin.brokers.list.query()).find((x) => x.id === id)?.status).toBe('revoked');
  });
});

describe('a desk-configured broker with the client-credentials grant', () => {
  it('links without a user step (startLink lands on the console page at once) and renews by the same grant', async () => {
    await admin.brokers.oauthProviders.upsert.mutate({
      slug: 'svc',
      name: 'Service Broker',
      tokenUrl: as.tokenUrl,
      scopes: ['trading'],
      clientId: SERVICE.clientId,
      clientSecret: SERVICE.clientSecret,
      clientAuth: 'client_secret_basic',
      grantType: 'client_credentials',
      apiBaseUrl: alpaca.url,
      apiProtocol: 'alpaca',
    });
    const before = as.tokenRequests.client_credentials;
    const { authorizationUrl } = await admin.brokers.startLink.mutate({
      provider: 'oauth:svc',
      environment: 'paper',
    });
    const landed = new URL(authorizationUrl);
    expect(landed.origin + landed.pathname).toBe(`${ORIGIN}/brokers`);
    const id = landed.searchParams.get('linked')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(as.tokenRequests.client_credentials).toBe(before + 1);
    const c = (await admin.brokers.list.query()).find((x) => x.id === id)!;
    expect(c).toMatchObject({
      provider: 'oauth:svc',
      linkKind: 'client_credentials',
      status: 'active',
      accountRef: alpaca.accountNumber,
    });
    const first = await tokensOf(id);
    expect(first.refresh).toBeNull();
    expect((await as.introspect(first.access)).active).toBe(true);

    // Expiring: the next use obtains a new token by the same grant, once.
    const [row] = await t.owner<
      { tenant_id: string }[]
    >`select tenant_id from broker_connections where id = ${id}`;
    await t.owner`update broker_connections set token_expires_at = now() where id = ${id}`;
    const source = credentialSourceFor(oauthDeps(), {
      id,
      tenantId: asTenantId(row!.tenant_id),
      provider: 'oauth:svc',
    });
    const got = await Promise.all(Array.from({ length: 5 }, () => source.accessToken()));
    expect(new Set(got).size).toBe(1);
    expect(got[0]).not.toBe(first.access);
    expect(as.tokenRequests.client_credentials).toBe(before + 2);
  });
});

describe('linking with API keys', () => {
  it('keeps keys the broker accepts (sealed, account read) and refuses keys it does not, keeping nothing', async () => {
    const view = await admin.brokers.linkApiKey.mutate({
      provider: 'alpaca',
      environment: 'paper',
      ...API_KEY,
    });
    expect(view).toMatchObject({
      provider: 'alpaca',
      linkKind: 'api_key',
      status: 'active',
      accountRef: alpaca.accountNumber,
    });
    // The same Alpaca account was linked over OAuth above: one connection, now reached by keys.
    expect(view.account?.cash).toMatch(/^\d/);
    expect(JSON.stringify(view)).not.toContain(API_KEY.apiSecret);
    const [row] = await t.owner<{ credentials_enc: string; tenant_id: string }[]>`
      select credentials_enc, tenant_id from broker_connections where id = ${view.id}`;
    expect(row!.credentials_enc.startsWith('v1.k1.')).toBe(true);
    const opened = JSON.parse(
      crypto1.decrypt(row!.credentials_enc, bindingOf(asTenantId(row!.tenant_id), view.id, 'credentials')),
    );
    expect(opened).toEqual(API_KEY);
    // Asking a key link for an OAuth token is refused without touching the connection.
    const source = credentialSourceFor(oauthDeps(), {
      id: view.id,
      tenantId: asTenantId(row!.tenant_id),
      provider: 'alpaca',
    });
    expect(await source.apiKey()).toEqual(API_KEY);
    await expect(source.accessToken()).rejects.toThrow(/linked by api key, not OAuth/);
    expect((await admin.brokers.list.query()).find((x) => x.id === view.id)?.status).toBe('active');

    const before = (await admin.brokers.list.query()).length;
    const refused = await failure(
      admin.brokers.linkApiKey.mutate({
        provider: 'alpaca',
        environment: 'paper',
        apiKey: 'PKWRONG',
        apiSecret: 'nope',
      }),
    );
    expect(refused.data?.httpStatus).toBe(400);
    expect((await admin.brokers.list.query()).length).toBe(before);
  });
});

describe('secrets at rest', () => {
  it('key rotation re-seals every secret; the old key can then be removed', async () => {
    const id = await link();
    const plain = await tokensOf(id);
    const ring = new TokenCrypto(parseTokenKeys(`k2:${KEY2},k1:${KEY1}`, undefined));
    // Small batches: each its own transaction; the run ends when no row holds an old-key secret.
    const first = await rotateTokenKeys(t.server.deps.db, ring, { batchSize: 1 });
    expect(first.activeKid).toBe('k2');
    expect(first.resealed).toBeGreaterThan(0);
    expect(first.batches).toBeGreaterThanOrEqual(2);
    const second = await rotateTokenKeys(t.server.deps.db, ring);
    expect(second).toEqual({ activeKid: 'k2', resealed: 0, batches: 0, failed: [] });
    const [left] = await t.owner<{ n: number }[]>`
      select (select count(*)::int from broker_connections
                where left(access_token_enc, 6) = 'v1.k1.' or left(refresh_token_enc, 6) = 'v1.k1.'
                   or left(credentials_enc, 6) = 'v1.k1.')
           + (select count(*)::int from oauth_transactions where left(code_verifier_enc, 6) = 'v1.k1.')
           + (select count(*)::int from oauth_providers where left(client_secret_enc, 6) = 'v1.k1.') as n`;
    expect(left?.n).toBe(0);
    const only2 = new TokenCrypto(parseTokenKeys(`k2:${KEY2}`, undefined));
    expect(await tokensOf(id, only2)).toEqual(plain);
    expect((await sealedOf(id)).access_token_enc.startsWith('v1.k2.')).toBe(true);
    // A sealed token copied into another connection's row does not open there.
    const moved = await sealedOf(id);
    const [other] = await t.owner<{ id: string }[]>`
      insert into broker_connections (tenant_id, provider, account_ref, access_token_enc)
      values (${moved.tenant_id}, 'ccxt:binance', 'copy-target', ${moved.access_token_enc}) returning id`;
    expect(() =>
      only2.decrypt(
        moved.access_token_enc,
        bindingOf(asTenantId(moved.tenant_id), other!.id, 'access_token'),
      ),
    ).toThrow(/another row|tampered/);

    // The operator's command (`npm run tokens:rotate`) does the same from the environment; the
    // moved secret cannot be opened: it is named (exit 1) and left, everything else rotated.
    const KEY3 = randomBytes(32).toString('base64');
    const run = runTokensRotate(t.database.appUrl, `k3:${KEY3},k2:${KEY2}`);
    expect(run.status, run.output).toBe(1);
    expect(run.output).toContain(other!.id);
    expect(run.output).not.toContain(plain.access);
    const only3 = new TokenCrypto(parseTokenKeys(`k3:${KEY3}`, undefined));
    expect((await sealedOf(id)).access_token_enc.startsWith('v1.k3.')).toBe(true);
    expect(await tokensOf(id, only3)).toEqual(plain);
    expect((await sealedOf(other!.id)).access_token_enc).toBe(moved.access_token_enc);
    await t.owner`delete from broker_connections where id = ${other!.id}`;
  });

  it('a database dump and the server logs hold no token or client secret in clear', async () => {
    const id = await link();
    const ring = new TokenCrypto(parseTokenKeys(`k2:${KEY2},k1:${KEY1}`, undefined));
    const plain = await tokensOf(id, ring);
    const dump = execFileSync('pg_dump', ['--data-only', t.database.url], {
      maxBuffer: 256 * 1024 * 1024,
    }).toString();
    expect(dump).toContain(id);
    for (const secret of [
      plain.access,
      plain.refresh!,
      CLIENT.clientSecret,
      GENERIC.clientSecret,
      SERVICE.clientSecret,
      API_KEY.apiSecret,
    ]) {
      expect(dump).not.toContain(secret);
      expect(JSON.stringify(t.logs)).not.toContain(secret);
    }
  });
});
