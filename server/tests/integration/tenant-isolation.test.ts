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
 * Ids of platform-wide data (no tenant_id, no RLS: market data), which every desk may address.
 * Each entry says why; anything not listed must be desk-scoped.
 */
const sharedAcrossDesks: Record<string, string> = {
  'signals.get': 'signals are market data shared by every desk (no tenant_id)',
  'signals.decide': "a desk's decision on a shared signal; the decision row itself is desk-scoped",
};

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
  symbol: 'BTC-USD',
  side: 'buy',
  orderType: 'market',
  quantity: '0.5',
};

async function snapshotDeskA() {
  const deskId = idsOfDeskA.deskId!;
  return t.owner`
    select (select json_agg(m order by m.user_id) from memberships m where m.tenant_id = ${deskId}) as memberships,
           (select json_agg(k order by k.id) from api_keys k where k.tenant_id = ${deskId}) as keys,
           (select json_agg(u order by u.id) from users u) as users,
           (select json_agg(o order by o.id) from orders o where o.tenant_id = ${deskId}) as orders,
           (select json_agg(p order by p.id) from proposals p where p.tenant_id = ${deskId}) as proposals,
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
  Object.assign(idsOfDeskA, {
    deskId: t.admin.deskId,
    userId: member.member.userId,
    keyId: key.apiKey.id,
    proposalId: proposal!.id,
    orderId: order!.id,
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
    // Platform procedures act across desks by design (gated on platform admins, tested in roles).
    const run = level === 'platform' || path in sharedAcrossDesks ? it.skip : it;
    run(`${path} with desk A's ${ids.join(', ')} → NOT_FOUND, nothing changed`, async () => {
      const input: Record<string, unknown> = {};
      for (const id of ids) {
        // A bare `id` names the router's own object: orders.get → orderId.
        const fixture = id === 'id' ? `${path.split('.')[0]!.replace(/s$/, '')}Id` : id;
        const value = idsOfDeskA[fixture];
        if (!value) throw new Error(`${path} takes ${id}: add a desk-A fixture ${fixture} in idsOfDeskA`);
        input[id] = value;
      }
      const def = unwrap(p._def.inputs[0]!._zod.def);
      for (const name of Object.keys(def.shape ?? {})) {
        if (!(name in input) && name in otherFields) input[name] = otherFields[name];
      }
      const before = await snapshotDeskA();
      const headers = { origin: ORIGIN, 'content-type': 'application/json', cookie: deskBJar.header()! };
      const body = JSON.stringify(input);
      const res =
        p._def.type === 'mutation'
          ? await fetch(`${t.url}/trpc/${path}`, { method: 'POST', headers, body })
          : await fetch(`${t.url}/trpc/${path}?input=${encodeURIComponent(body)}`, { headers });
      const json = (await res.json()) as { result?: unknown; error?: { data?: { code?: string } } };
      expect([path, res.status, json.error?.data?.code]).toEqual([path, 404, 'NOT_FOUND']);
      expect(json.result).toBeUndefined();
      expect(await snapshotDeskA()).toEqual(before);
    });
  }
});
