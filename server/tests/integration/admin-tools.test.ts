import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, onDesk, type SignedIn, signedInMember, startWithAdmin } from './support/desk-people.ts';
import { failure, makeClient, STRONG_PASSWORD, signIn, type TestServer } from './test-server.ts';

/**
 * Platform administration: users.find (a user by email across desks, with desks, roles, disabled
 * state and last sign-in) and desks.list { all }, over HTTP and through the CLI (`aegis users
 * find`, `aegis desks list --all`); anyone else is refused and nothing changes.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const CLI = `${ROOT}scripts/src/cli.ts`;

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      NODE,
      [CLI, ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    ).stdin?.end();
  });
}

let ts: TestServer;
let admin: SignedIn;
let deskB: { id: string; slug: string };
let adminKey: string;
const ADA = { email: 'Ada.Lovelace@Desk.example', password: 'maple-orbit-cascade-61' };

beforeAll(async () => {
  ({ ts, admin } = await startWithAdmin());
  await addMember(admin.client, ADA, 'Ada Lovelace', 'trader');
  await addMember(
    admin.client,
    { email: 'ada.byron@desk.example', password: 'cobalt-river-lantern-83' },
    'Ada Byron',
    'viewer',
  );
  const b = await admin.client.desks.create.mutate({ name: 'Rates desk' });
  deskB = { id: b.id, slug: b.slug };
  adminKey = (await admin.client.keys.create.mutate({ name: 'ops', scopes: ['read', 'admin'] })).key;
});

afterAll(async () => {
  await ts?.close();
});

describe('users.find', () => {
  it('finds a user by exact email in any case, with desks, roles, state and last sign-in', async () => {
    const before = await admin.client.users.find.query({ email: 'ada.lovelace@desk.example' });
    expect(before).toHaveLength(1);
    expect(before[0]).toMatchObject({
      email: ADA.email,
      displayName: 'Ada Lovelace',
      disabled: false,
      isPlatformAdmin: false,
      lastSignInAt: null,
      lastFailedSignInAt: null,
      desks: [{ id: ts.admin.deskId, role: 'trader' }],
    });

    const anon = makeClient(ts.url);
    await failure(anon.auth.login.mutate({ email: ADA.email, password: 'wrong-wrong-wrong-1' }));
    const ada = await signIn(ts.url, ADA.email, ADA.password, `${STRONG_PASSWORD}-a`);
    // A role on a second desk shows up too.
    await onDesk(admin.client, deskB.id, ts.admin.deskId, () =>
      admin.client.users.setRole.mutate({ userId: ada.user.id, role: 'viewer' }),
    );

    const [after] = await admin.client.users.find.query({ email: 'ADA.LOVELACE@DESK.EXAMPLE' });
    expect(after!.lastSignInAt).not.toBeNull();
    expect(after!.lastFailedSignInAt).not.toBeNull();
    expect(after!.lastFailedSignInAt! <= after!.lastSignInAt!).toBe(true);
    expect(after!.desks.map((d) => [d.id, d.role]).sort()).toEqual(
      [
        [ts.admin.deskId, 'trader'],
        [deskB.id, 'viewer'],
      ].sort(),
    );

    await admin.client.users.disable.mutate({ userId: ada.user.id });
    const [disabled] = await admin.client.users.find.query({ email: ADA.email });
    expect(disabled).toMatchObject({ disabled: true });
    expect(disabled!.disabledAt).not.toBeNull();
  });

  it('finds by prefix, the exact match first; a prefix is never a pattern', async () => {
    const ada = await admin.client.users.find.query({ email: 'ada.' });
    expect(ada.map((u) => u.email.toLowerCase()).sort()).toEqual([
      'ada.byron@desk.example',
      'ada.lovelace@desk.example',
    ]);
    const exactFirst = await admin.client.users.find.query({ email: 'ada.byron@desk.example' });
    expect(exactFirst.map((u) => u.email)).toEqual(['ada.byron@desk.example']);
    expect(await admin.client.users.find.query({ email: '%' })).toEqual([]);
    expect(await admin.client.users.find.query({ email: '_da' })).toEqual([]);
    expect(await admin.client.users.find.query({ email: 'nobody@' })).toEqual([]);
  });

  it('refuses anyone but a platform administrator, and changes nothing', async () => {
    const byron = await signIn(
      ts.url,
      'ada.byron@desk.example',
      'cobalt-river-lantern-83',
      `${STRONG_PASSWORD}-b`,
    );
    const usersBefore = await ts.owner`select count(*)::int as n from users`;
    const denied = await failure(byron.client.users.find.query({ email: 'ada' }));
    expect(denied.data?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(denied)).not.toContain('lovelace');
    const allDenied = await failure(byron.client.desks.list.query({ all: true }));
    expect(allDenied.data?.code).toBe('FORBIDDEN');
    // Their own desks still list as before.
    expect((await byron.client.desks.list.query()).map((d) => d.id)).toEqual([ts.admin.deskId]);
    expect(await ts.owner`select count(*)::int as n from users`).toEqual(usersBefore);

    // A desk admin who is not a platform admin is refused too.
    const DESK_ADMIN = { email: 'desk-admin@desk.example', password: 'amber-signal-harvest-29' };
    const { session: deskAdmin } = await signedInMember(
      ts.url,
      admin.client,
      DESK_ADMIN,
      'Desk Admin',
      'admin',
      `${STRONG_PASSWORD}-d`,
    );
    expect((await failure(deskAdmin.client.users.find.query({ email: 'ada' }))).data?.code).toBe('FORBIDDEN');
    expect((await failure(deskAdmin.client.desks.list.query({ all: true }))).data?.code).toBe('FORBIDDEN');
  });
});

describe('desks.list { all }', () => {
  it('lists every desk for a platform admin, with the role where the admin has one', async () => {
    // A desk the admin has no role on: created, then the admin's own role revoked by another admin.
    const own = await admin.client.desks.list.query();
    const all = await admin.client.desks.list.query({ all: true });
    expect(all.map((d) => d.id)).toEqual(expect.arrayContaining([ts.admin.deskId, deskB.id]));
    expect(all.length).toBeGreaterThanOrEqual(own.length);
    const [other] = await ts.owner<{ id: string }[]>`
      insert into tenants (slug, name) values ('orphan-desk', 'Orphan desk') returning id::text as id`;
    const withOrphan = await admin.client.desks.list.query({ all: true });
    expect(withOrphan.find((d) => d.id === other!.id)).toMatchObject({ name: 'Orphan desk', role: null });
    expect(withOrphan.find((d) => d.id === ts.admin.deskId)).toMatchObject({ role: 'admin' });
    expect((await admin.client.desks.list.query()).some((d) => d.id === other!.id)).toBe(false);
  });
});

describe('CLI', () => {
  it('aegis users find <email> and aegis desks list --all', async () => {
    const env = { AEGIS_URL: ts.url, AEGIS_API_KEY: adminKey };
    const found = await cli(['users', 'find', 'ada.', '--json'], env);
    expect(found.code, found.stderr).toBe(0);
    const rows = JSON.parse(found.stdout) as { email: string; desks: unknown[] }[];
    expect(rows.map((r) => r.email.toLowerCase()).sort()).toEqual([
      'ada.byron@desk.example',
      'ada.lovelace@desk.example',
    ]);
    const table = await cli(['users', 'find', 'ADA.LOVELACE@desk.example'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/Ada Lovelace/);
    expect(table.stdout).toMatch(/disabled/);

    const desks = await cli(['desks', 'list', '--all', '--json'], env);
    expect(desks.code, desks.stderr).toBe(0);
    const list = JSON.parse(desks.stdout) as { id: string; slug: string }[];
    expect(list.map((d) => d.id)).toEqual(expect.arrayContaining([ts.admin.deskId, deskB.id]));
    const plain = await cli(['desks', 'list', '--all'], env);
    expect(plain.stdout).toMatch(/orphan-desk/);

    // The audit chain verified in the background (progress on stderr), same answer as inline.
    const bg = await cli(['audit', 'verify', '--background', '--json'], env);
    expect(bg.code, bg.stderr).toBe(0);
    const inline = await cli(['audit', 'verify', '--json'], env);
    expect(JSON.parse(bg.stdout)).toMatchObject({ ok: true, tenantId: ts.admin.deskId });
    expect(JSON.parse(bg.stdout).head).toEqual(JSON.parse(inline.stdout).head);
  });
});
