import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiKeyScope,
  type AuthorizationSubject,
  authorize,
  formatPermissionMatrix,
  isPermission,
  PERMISSIONS,
  type Role,
} from '../../src/auth/permissions.ts';
import { appRouter } from '../../src/routers/_app.ts';
import type { ProcedureMeta } from '../../src/trpc.ts';
import { type CookieJar, ORIGIN, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * Generated from the router: every procedure must declare its scope and permission, and the
 * server must allow exactly what the matrix allows, for every procedure × API-key scope and
 * every procedure × desk role.
 */
interface ProcedureInfo {
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  meta: ProcedureMeta | undefined;
}

const procedures: ProcedureInfo[] = Object.entries(
  appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: ProcedureInfo['type']; meta?: ProcedureMeta } }
  >,
).map(([path, p]) => ({ path, type: p._def.type, meta: p._def.meta }));

describe('procedure declarations (static)', () => {
  it('finds the procedures', () => {
    expect(procedures.length).toBeGreaterThan(10);
  });

  it('every procedure declares scope and permission, consistent with the matrix', () => {
    const problems: string[] = [];
    for (const { path, meta } of procedures) {
      if (!meta) {
        problems.push(`${path}: no .meta({ scope, permission })`);
        continue;
      }
      if (meta.permission === 'public' || meta.scope === 'public') {
        if (meta.permission !== meta.scope)
          problems.push(`${path}: public must be declared on both scope and permission`);
        continue;
      }
      if (!isPermission(meta.permission)) {
        problems.push(`${path}: unknown permission ${String(meta.permission)}`);
        continue;
      }
      const rule = PERMISSIONS[meta.permission];
      if (rule.scope !== meta.scope)
        problems.push(`${path}: scope ${meta.scope} but matrix says ${rule.scope}`);
    }
    expect(problems).toEqual([]);
  });

  it('only sign-in is public', () => {
    expect(procedures.filter((p) => p.meta?.permission === 'public').map((p) => p.path)).toEqual([
      'auth.login',
    ]);
  });

  it('prints the permission matrix', () => {
    const table = formatPermissionMatrix();
    expect(table.split('\n').length).toBe(Object.keys(PERMISSIONS).length + 2);
    process.stdout.write(
      `\n${table}\n\n${procedures.map((p) => `${p.path} → ${p.meta?.permission}`).join('\n')}\n`,
    );
  });
});

let t: TestServer;
let adminJar: CookieJar;
const keys = new Map<ApiKeyScope, string>();
const roleJars = new Map<Role, CookieJar>();
const passwords = new Map<Role, string>();

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null });
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  adminJar = admin.jar;
  roleJars.set('admin', admin.jar);
  for (const scope of ['read', 'trade', 'admin'] as const) {
    keys.set(scope, (await admin.client.keys.create.mutate({ name: `probe ${scope}`, scopes: [scope] })).key);
  }
  for (const role of ['trader', 'viewer'] as const) {
    const created = await admin.client.users.create.mutate({
      email: `${role}-probe@example.com`,
      displayName: `${role} probe`,
      role,
    });
    const s = await signIn(t.url, `${role}-probe@example.com`, created.oneTimePassword!);
    roleJars.set(role, s.jar);
    passwords.set(role, s.password);
  }
  passwords.set('admin', admin.password);
});
afterAll(async () => {
  await t?.close();
});

/**
 * Calls a procedure with an input no procedure accepts (`{ __probe: true }`, rejected by every
 * strict input). Authorization runs before input parsing, so: allowed → 400, denied → 403.
 */
async function probe(p: ProcedureInfo, auth: { bearer?: string; jar?: CookieJar }) {
  const headers: Record<string, string> = { origin: ORIGIN, 'content-type': 'application/json' };
  if (auth.bearer) headers.authorization = `Bearer ${auth.bearer}`;
  const cookie = auth.jar?.header();
  if (cookie) headers.cookie = cookie;
  const input = JSON.stringify({ __probe: true });
  const res =
    p.type === 'mutation'
      ? await fetch(`${t.url}/trpc/${p.path}`, { method: 'POST', headers, body: input })
      : await fetch(`${t.url}/trpc/${p.path}?input=${encodeURIComponent(input)}`, { headers });
  const body = (await res.json()) as { error?: { data?: { details?: { reason?: string } } } };
  return { status: res.status, reason: body.error?.data?.details?.reason };
}

function expectation(meta: ProcedureMeta, subject: AuthorizationSubject) {
  if (!isPermission(meta.permission)) return { status: 400 };
  let reason = authorize(meta.permission, subject, new Date(), 600_000);
  if (!reason && (meta.humanOnly || meta.reauth === true) && subject.kind !== 'session')
    reason = 'human_only';
  // Meta `reauth` (stricter than the matrix) needs a password re-entry the probes never made;
  // `reauth: 'session'` asks it of people only (a key with the scope passes: halting).
  const keyPasses = meta.reauth === 'session' && subject.kind === 'api_key';
  if (!reason && meta.reauth && !keyPasses && !subject.reauthenticatedAt) reason = 'reauth_required';
  return reason ? { status: 403, reason } : { status: 400 };
}

describe('allow/deny matrix over HTTP (generated)', () => {
  const guarded = () =>
    procedures.filter((p) => p.meta && p.meta.permission !== 'public' && p.type !== 'subscription');

  it('every procedure × API-key scope', async () => {
    const rows: string[] = [];
    const mismatches: string[] = [];
    for (const p of guarded()) {
      const cells: string[] = [];
      for (const scope of ['read', 'trade', 'admin'] as const) {
        const got = await probe(p, { bearer: keys.get(scope)! });
        const want = expectation(p.meta!, {
          kind: 'api_key',
          isPlatformAdmin: true,
          role: 'admin',
          scopes: [scope],
          reauthenticatedAt: null,
        });
        cells.push(got.status === 400 ? 'allow' : `deny(${got.reason})`);
        if (got.status !== want.status || got.reason !== want.reason) {
          mismatches.push(
            `${p.path} with ${scope} key: got ${got.status}/${got.reason}, want ${want.status}/${want.reason}`,
          );
        }
      }
      rows.push(`${p.path.padEnd(24)} ${cells.map((c) => c.padEnd(24)).join('')}`);
    }
    process.stdout.write(
      `\n${'procedure'.padEnd(24)} ${['read key', 'trade key', 'admin key'].map((c) => c.padEnd(24)).join('')}\n${rows.join('\n')}\n`,
    );
    expect(mismatches).toEqual([]);
  });

  /**
   * Each guarded procedure probed as each desk role's session: the answers that differ from what
   * its meta promises, for a session last re-authenticated at `reauthenticatedAt`.
   */
  async function roleMismatches(reauthenticatedAt: Date | null): Promise<string[]> {
    const mismatches: string[] = [];
    const who = reauthenticatedAt ? 're-authenticated ' : '';
    for (const p of guarded()) {
      for (const role of ['admin', 'trader', 'viewer'] as const) {
        // Session-ending procedures are left out: probing them with bad input never reaches them,
        // but the expectation is the same either way.
        const got = await probe(p, { jar: roleJars.get(role)! });
        const want = expectation(p.meta!, {
          kind: 'session',
          isPlatformAdmin: role === 'admin',
          role,
          scopes: [],
          reauthenticatedAt,
        });
        if (got.status !== want.status || got.reason !== want.reason) {
          mismatches.push(
            `${p.path} as ${who}${role}: got ${got.status}/${got.reason}, want ${want.status}/${want.reason}`,
          );
        }
      }
    }
    return mismatches;
  }

  it('every procedure × desk role (human sessions)', async () => {
    const mismatches = await roleMismatches(null);
    expect(mismatches).toEqual([]);
    void adminJar;
  });

  it('every procedure × desk role, after a password re-entry (reauth-gated actions open to allowed roles)', async () => {
    for (const role of ['admin', 'trader', 'viewer'] as const) {
      const res = await fetch(`${t.url}/trpc/auth.reauthenticate`, {
        method: 'POST',
        headers: {
          origin: ORIGIN,
          'content-type': 'application/json',
          cookie: roleJars.get(role)!.header()!,
        },
        body: JSON.stringify({ password: passwords.get(role) }),
      });
      expect(res.status).toBe(200);
    }
    const mismatches = await roleMismatches(new Date());
    expect(mismatches).toEqual([]);
  });
});
