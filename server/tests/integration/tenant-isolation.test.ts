import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermission, PERMISSIONS } from '../../src/auth/permissions.ts';
import { appRouter } from '../../src/routers/_app.ts';
import type { ProcedureMeta } from '../../src/trpc.ts';
import {
  type Client,
  type CookieJar,
  ORIGIN,
  signIn,
  startTestServer,
  type TestServer,
} from './test-server.ts';

/**
 * Generated from the router: every desk procedure whose input carries an id is called by the
 * admin of desk B with desk A's ids. Each must answer NOT_FOUND, return no data and change
 * nothing of desk A. A new procedure that takes an id fails here until it has a desk-A fixture
 * in `idsOfDeskA` below.
 */

interface ZodDef {
  type: string;
  format?: string;
  innerType?: { _zod: { def: ZodDef } };
  in?: { _zod: { def: ZodDef } };
  shape?: Record<string, { _zod: { def: ZodDef } }>;
  options?: { _zod: { def: ZodDef } }[];
}
interface Proc {
  _def: { type: string; meta?: ProcedureMeta; inputs: { _zod: { def: ZodDef } }[] };
}

function unwrap(def: ZodDef): ZodDef {
  let d = def;
  while (d.innerType || (d.type === 'pipe' && d.in)) d = (d.innerType ?? d.in)!._zod.def;
  return d;
}

/** Names of the uuid fields of a procedure's (object) input. */
function idFields(p: Proc): string[] {
  const input = p._def.inputs[0];
  if (!input) return [];
  const objects = [unwrap(input._zod.def)];
  const root = objects[0]!;
  if (root.type === 'union') objects.splice(0, 1, ...root.options!.map((o) => unwrap(o._zod.def)));
  const names = new Set<string>();
  for (const o of objects) {
    for (const [name, field] of Object.entries(o.shape ?? {})) {
      const f = unwrap(field._zod.def);
      if (f.type === 'string' && f.format === 'uuid') names.add(name);
    }
  }
  return [...names];
}

/**
 * Id fields naming platform-wide data (no tenant_id, no RLS: market data), which every desk may
 * address. Anything not listed must be desk-scoped.
 */
const SHARED_ID_FIELDS: Record<string, string> = {
  signalId: 'signals are market data shared by every desk (no tenant_id)',
};

/** A bare `id` names the router's own object: orders.get → orderId, signals.get → signalId. */
const fixtureName = (path: string, field: string) =>
  field === 'id' ? `${path.split('.')[0]!.replace(/s$/, '')}Id` : field;

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, Proc>)
  .map(([path, p]) => ({ path, p, ids: idFields(p) }))
  .filter(({ ids }) => ids.length > 0);

let t: TestServer;
let deskB: Client;
let deskBJar: CookieJar;
const idsOfDeskA: Record<string, string> = {};
/** Valid values for the other fields of id-taking procedures. */
const otherFields: Record<string, unknown> = {
  role: 'viewer',
  question: 'Why this trade?',
  instrument: 'BTC-USD',
  entryPrice: '100',
  exitPrice: '90',
  openedAt: '2026-01-01T00:00:00Z',
  closedAt: '2026-01-01T01:00:00Z',
  symbol: 'BTC-USD',
  side: 'buy',
  orderType: 'market',
  quantity: '0.5',
  seq: 0,
  data: 'AAAA',
  provider: 'alpaca',
  // A proposal that exists nowhere: the connection is what is looked up first.
  proposalId: '00000000-0000-4000-8000-000000000000',
  // orders.checkCombo: a valid combo around the id under test.
  strategy: 'custom',
  legs: [
    { symbol: 'BTC-USD', side: 'buy', ratio: 1 },
    { symbol: 'ETH-USD', side: 'sell', ratio: 1 },
  ],
};

async function snapshotDeskA() {
  const deskId = idsOfDeskA.deskId!;
  return t.owner`
    select (select json_agg(m order by m.user_id) from memberships m where m.tenant_id = ${deskId}) as memberships,
           (select json_agg(k order by k.id) from api_keys k where k.tenant_id = ${deskId}) as keys,
           (select json_agg(u order by u.id) from users u) as users,
           (select json_agg(o order by o.id) from orders o where o.tenant_id = ${deskId}) as orders,
           (select json_agg(p order by p.id) from proposals p where p.tenant_id = ${deskId}) as proposals,
           (select json_agg(c order by c.id) from combos c where c.tenant_id = ${deskId}) as combos,
           (select json_agg(c order by c.id) from broker_connections c where c.tenant_id = ${deskId}) as connections,
           (select json_agg(w order by w.id) from watchlists w where w.tenant_id = ${deskId}) as watchlists,
           (select json_agg(e order by e.id) from alert_endpoints e where e.tenant_id = ${deskId}) as alert_endpoints,
           (select count(*) from alert_deliveries) as alert_deliveries,
           (select count(*) from sessions) as sessions`;
}

beforeAll(async () => {
  t = await startTestServer();
  const adminA = await signIn(t.url, t.admin.email, t.admin.password);
  // Desk A = Main desk: a member and a key.
  const member = await adminA.client.users.create.mutate({
    email: 'a-trader@example.com',
    displayName: 'A',
    role: 'trader',
  });
  const key = await adminA.client.keys.create.mutate({ name: 'desk A key', scopes: ['read'] });
  // Trading rows of desk A, written as the owner (the API path to them has its own tests).
  const [proposal] = await t.owner<{ id: string }[]>`
    insert into proposals (tenant_id, symbol, side, quantity, order_type, time_horizon, confidence, risk_score,
                           rationale, decider, expires_at)
    values (${t.admin.deskId}, 'BTC-USD', 'buy', '0.5', 'market', 'intraday', 0.7, 20, '{}'::jsonb, 'human',
            now() + interval '1 hour')
    returning id`;
  const [order] = await t.owner<{ id: string }[]>`
    insert into orders (tenant_id, client_order_id, symbol, side, order_type, quantity, status, origin)
    values (${t.admin.deskId}, 'isolation-fixture-1', 'BTC-USD', 'buy', 'limit', '0.5', 'new', 'human')
    returning id`;
  const [backtest] = await t.owner<{ id: string }[]>`
    insert into backtests (tenant_id, name, params, status)
    values (${t.admin.deskId}, 'isolation', '{}'::jsonb, 'queued') returning id`;
  const [upload] = await t.owner<{ id: string }[]>`
    insert into backtest_uploads (tenant_id, name, format, size_bytes, sha256)
    values (${t.admin.deskId}, 'isolation.csv', 'csv', 3, ${'0'.repeat(64)}) returning id`;
  const [connection] = await t.owner<{ id: string }[]>`
    insert into broker_connections (tenant_id, provider, account_ref, environment, link_kind, status)
    values (${t.admin.deskId}, 'alpaca', 'PA-ISOLATION', 'paper', 'oauth', 'active') returning id`;
  // The symbol of otherFields is a known instrument, so symbol-taking procedures reach their id lookup.
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size)
    values ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.0001'),
           ('ETH-USD', 'COINBASE', 'crypto', '0.01', '0.0001') on conflict do nothing`;
  const [combo] = await t.owner<{ id: string }[]>`
    insert into combos (tenant_id, client_order_id, strategy, quantity, order_type, status, origin)
    values (${t.admin.deskId}, 'isolation-combo-1', 'custom', '1', 'market', 'new', 'human') returning id`;
  await t.owner`
    insert into orders (tenant_id, client_order_id, symbol, side, order_type, quantity, status, origin, combo_id, leg_ratio)
    values (${t.admin.deskId}, 'isolation-combo-1L1', 'BTC-USD', 'buy', 'market', '1', 'new', 'human', ${combo!.id}, 1),
           (${t.admin.deskId}, 'isolation-combo-1L2', 'ETH-USD', 'sell', 'market', '1', 'new', 'human', ${combo!.id}, 1)`;
  const [watchlist] = await t.owner<{ id: string }[]>`
    insert into watchlists (tenant_id, user_id, name, symbols)
    values (${t.admin.deskId}, ${member.member.userId}, 'isolation', '{BTC-USD}') returning id`;
  const [endpoint] = await t.owner<{ id: string }[]>`
    insert into alert_endpoints (tenant_id, name, url, format, events, secret_sealed)
    values (${t.admin.deskId}, 'isolation', 'https://hooks.example.com/a', 'aegis', '{halt.engaged}', 'v1.k.x.y')
    returning id`;
  const [job] = await t.owner<{ id: string }[]>`
    insert into jobs (tenant_id, kind, payload, status)
    values (${t.admin.deskId}, 'audit.verify', '{}'::jsonb, 'succeeded') returning id`;
  Object.assign(idsOfDeskA, {
    endpointId: endpoint!.id,
    jobId: job!.id,
    watchlistId: watchlist!.id,
    connectionId: connection!.id,
    brokerConnectionId: connection!.id,
    backtestId: backtest!.id,
    uploadId: upload!.id,
    deskId: t.admin.deskId,
    userId: member.member.userId,
    keyId: key.apiKey.id,
    proposalId: proposal!.id,
    orderId: order!.id,
    comboId: combo!.id,
  });
  // Desk B: created by the platform admin, administered by someone who is not a platform admin.
  const b = await adminA.client.desks.create.mutate({ name: 'Desk B' });
  await adminA.client.auth.switchDesk.mutate({ deskId: b.id });
  const bAdmin = await adminA.client.users.create.mutate({
    email: 'b-admin@example.com',
    displayName: 'B',
    role: 'admin',
  });
  await adminA.client.auth.switchDesk.mutate({ deskId: t.admin.deskId });
  const s = await signIn(t.url, 'b-admin@example.com', bAdmin.oneTimePassword!);
  deskB = s.client;
  deskBJar = s.jar;
  // Re-authenticated, so reauth-gated procedures reach their lookup too.
  await deskB.auth.reauthenticate.mutate({ password: s.password });
  expect((await deskB.auth.me.query()).activeDesk?.id).toBe(b.id);
});
afterAll(async () => {
  await t?.close();
});

describe('cross-desk ids (generated from the router)', () => {
  it('finds the id-taking procedures', () => {
    expect(procedures.map((p) => p.path)).toEqual(
      expect.arrayContaining(['keys.revoke', 'users.setRole', 'auth.switchDesk']),
    );
  });

  for (const { path, p, ids } of procedures) {
    const permission = p._def.meta?.permission;
    const level = isPermission(permission) ? PERMISSIONS[permission].level : 'public';
    const deskIds = ids.filter((id) => !(fixtureName(path, id) in SHARED_ID_FIELDS));
    // Platform procedures act across desks by design (gated on platform admins, tested in roles).
    if (level === 'platform' || deskIds.length === 0) {
      it.skip(`${path}: ${level === 'platform' ? 'platform-level' : 'only shared (market data) ids'}`, () => {});
      continue;
    }
    // One call per desk-scoped id field, the others left out (they are optional where a
    // procedure takes several).
    for (const id of deskIds) {
      it(`${path} with desk A's ${id} → NOT_FOUND, nothing changed`, async () => {
        const fixture = fixtureName(path, id);
        const value = idsOfDeskA[fixture];
        if (!value) throw new Error(`${path} takes ${id}: add a desk-A fixture ${fixture} in idsOfDeskA`);
        const input: Record<string, unknown> = { [id]: value };
        const def = unwrap(p._def.inputs[0]!._zod.def);
        for (const name of Object.keys(def.shape ?? {})) {
          if (!(name in input) && name in otherFields) input[name] = otherFields[name];
        }
        const before = await snapshotDeskA();
        const { status, code, hasResult } = await call(path, p._def.type, input);
        expect([path, id, status, code]).toEqual([path, id, 404, 'NOT_FOUND']);
        expect(hasResult).toBe(false);
        expect(await snapshotDeskA()).toEqual(before);
      });
    }
  }
});

/** Calls as desk B's admin; subscriptions are opened as SSE and read until their first event. */
async function call(path: string, type: string, input: Record<string, unknown>) {
  const headers = { origin: ORIGIN, 'content-type': 'application/json', cookie: deskBJar.header()! };
  const body = JSON.stringify(input);
  if (type === 'mutation') {
    const res = await fetch(`${t.url}/trpc/${path}`, { method: 'POST', headers, body });
    const json = (await res.json()) as { result?: unknown; error?: { data?: { code?: string } } };
    return { status: res.status, code: json.error?.data?.code, hasResult: json.result !== undefined };
  }
  const ac = new AbortController();
  const res = await fetch(`${t.url}/trpc/${path}?input=${encodeURIComponent(body)}`, {
    headers,
    signal: ac.signal,
  });
  if (type !== 'subscription') {
    const json = (await res.json()) as { result?: unknown; error?: { data?: { code?: string } } };
    return { status: res.status, code: json.error?.data?.code, hasResult: json.result !== undefined };
  }
  let text = '';
  const reader = res.body!.getReader();
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && !/event: serialized-error\ndata: .*\n|\ndata: \{"id"|\nid: /.test(text)) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now()))),
    ]);
    if (!chunk || chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  ac.abort();
  const err = /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1];
  const data = err ? (JSON.parse(err) as { data?: { code?: string; httpStatus?: number } }).data : undefined;
  return {
    status: data?.httpStatus ?? res.status,
    code: data?.code,
    hasResult: !err && /\ndata: /.test(text.replace(/^event: connected\ndata: .*\n/m, '')),
  };
}
