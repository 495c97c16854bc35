import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createMigratedTestDatabase } from '@aegis/shared/testing/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClient, type TestServer } from '../../../server/tests/integration/test-server.ts';
import { CLI, cli, expectOneLineError, NODE, ROOT, startCliServer } from './cli-harness.ts';

/**
 * The CLI as users run it: a child process (Node 24 from node_modules, type stripping, no build)
 * against a real server over HTTP with real PostgreSQL and Redis. Checks output for people
 * (tables) and programs (--json), and that every failure is one line on stderr with the
 * documented exit code.
 */
let ts: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  ({ t: ts, env } = await startCliServer(['read', 'trade', 'admin'], {}, 'cli admin'));
});

afterAll(async () => {
  await ts?.close();
});

describe('aegis whoami', () => {
  it('prints a table for people and JSON for programs', async () => {
    const table = await cli(['whoami'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^user\\s+Administrator <${ts.admin.email}>$`, 'm'));
    expect(table.stdout).toMatch(/^via\s+API key$/m);
    expect(table.stdout).toMatch(/^role\s+admin$/m);
    expect(table.stdout).toMatch(/^scopes\s+admin,read,trade$/m);

    const json = await cli(['whoami', '--json'], env);
    expect(json.code).toBe(0);
    const me = JSON.parse(json.stdout);
    expect(me).toMatchObject({
      kind: 'api_key',
      user: { email: ts.admin.email },
      activeDesk: { id: ts.admin.deskId },
    });
    expect(json.stderr).toBe('');
  });
});

describe('aegis keys', () => {
  it('creates (shown once), lists and revokes a key; the revoked key stops working', async () => {
    const created = await cli(
      ['keys', 'create', '--name', 'ci reader', '--scope', 'read', '--expires', '30d', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { key, apiKey } = JSON.parse(created.stdout);
    expect(key).toMatch(/^aegis_/);
    expect(apiKey.scopes).toEqual(['read']);
    expect(Date.parse(apiKey.expiresAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const reader = await cli(['whoami', '--json'], { ...env, AEGIS_API_KEY: key });
    expect(JSON.parse(reader.stdout).scopes).toEqual(['read']);

    const list = await cli(['keys', 'list'], env);
    expect(list.code).toBe(0);
    const header = list.stdout.split('\n')[0]!;
    expect(header).toMatch(/^ID\s+NAME\s+PREFIX\s+SCOPES\s+CREATED\s+EXPIRES\s+LAST USED\s+STATUS$/);
    expect(list.stdout).toMatch(new RegExp(`^${apiKey.id}\\s+ci reader\\s+.*\\sactive$`, 'm'));
    // The secret never appears in listings.
    expect(list.stdout).not.toContain(key);

    const revoke = await cli(['keys', 'revoke', apiKey.id], env);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toMatch(/^revoked at\s+\d{4}-/m);

    const listed = JSON.parse((await cli(['keys', 'list', '--json'], env)).stdout) as {
      id: string;
      revokedAt: string | null;
    }[];
    expect(listed.find((k) => k.id === apiKey.id)?.revokedAt).not.toBeNull();

    expectOneLineError(await cli(['whoami'], { ...env, AEGIS_API_KEY: key }), 3, /unauthorized/);
  });

  it('rejects bad scopes and a scope the key cannot grant', async () => {
    expectOneLineError(
      await cli(['keys', 'create', '--name', 'x', '--scope', 'root'], env),
      2,
      /unknown scope 'root'/,
    );
    const reader = JSON.parse(
      (await cli(['keys', 'create', '--name', 'reader', '--scope', 'read,admin', '--json'], env)).stdout,
    ).key as string;
    // A key can never mint a key with more than its own scopes.
    expectOneLineError(
      await cli(['keys', 'create', '--name', 'escalate', '--scope', 'trade'], {
        ...env,
        AEGIS_API_KEY: reader,
      }),
      4,
      /forbidden/,
    );
  });
});

describe('aegis users and desks', () => {
  it('creates a user with a one-time password and lists members', async () => {
    const created = await cli(
      ['users', 'create', '--email', 'trader.one@example.com', '--name', 'Trader Ōne', '--role', 'trader'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^one-time password\s+\S{12,}$/m);

    const list = await cli(['users', 'list'], env);
    expect(list.stdout).toMatch(/^USER ID\s+EMAIL\s+NAME\s+ROLE\s+STATUS\s+MEMBER SINCE$/m);
    expect(list.stdout).toMatch(/trader\.one@example\.com\s+Trader Ōne\s+trader\s+active/);
    const members = JSON.parse((await cli(['users', 'list', '--json'], env)).stdout) as { email: string }[];
    expect(members.map((m) => m.email).sort()).toEqual([ts.admin.email, 'trader.one@example.com'].sort());
  });

  it('takes the initial password from stdin, never from argv', async () => {
    const created = await cli(
      [
        'users',
        'create',
        '--email',
        'viewer.one@example.com',
        '--name',
        'Viewer',
        '--role',
        'viewer',
        '--password-stdin',
        '--json',
      ],
      env,
      'quartz-lantern-meadow-93\n',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).oneTimePassword).toBeNull();
    const viewer = makeClient(ts.url);
    const res = await viewer.auth.login.mutate({
      email: 'viewer.one@example.com',
      password: 'quartz-lantern-meadow-93',
    });
    expect(res.user.mustChangePassword).toBe(true);
  });

  it('reports invalid input, conflicts and denials as one line with distinct exit codes', async () => {
    expectOneLineError(
      await cli(['users', 'create', '--email', 'not-an-email', '--name', 'X', '--role', 'viewer'], env),
      5,
      /bad request: invalid input: email/,
    );
    expectOneLineError(
      await cli(
        ['users', 'create', '--email', 'trader.one@example.com', '--name', 'Again', '--role', 'viewer'],
        env,
      ),
      5,
      /conflict: /,
    );
    expectOneLineError(
      await cli(
        [
          'users',
          'create',
          '--email',
          'x@example.com',
          '--name',
          "'; drop table users; --",
          '--role',
          'boss',
        ],
        env,
      ),
      2,
      /--role must be admin, trader or viewer/,
    );
    // A read-only key cannot manage users.
    const reader = JSON.parse(
      (await cli(['keys', 'create', '--name', 'r', '--scope', 'read', '--json'], env)).stdout,
    ).key;
    expectOneLineError(
      await cli(['users', 'list'], { ...env, AEGIS_API_KEY: reader }),
      4,
      /forbidden: This API key lacks the 'admin' scope this action needs \(users\.list\); create a key with --scope admin/,
    );
  });

  it('creates desks (platform admin) and lists the key’s desk', async () => {
    const created = await cli(
      ['desks', 'create', '--name', 'Macro <script>alert(1)</script>', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const desk = JSON.parse(created.stdout);
    expect(desk).toMatchObject({ name: 'Macro <script>alert(1)</script>', role: 'admin' });
    const list = await cli(['desks', 'list'], env);
    expect(list.stdout).toMatch(/^ID\s+SLUG\s+NAME\s+YOUR ROLE$/m);
    // An API key acts on its own desk only.
    expect(list.stdout).toContain(ts.admin.deskId);
    expect(list.stdout).not.toContain(desk.id);
  });
});

describe('aegis audit', () => {
  it('tails the desk log (filters, JSON) and verifies the chain; tampering exits 7', async () => {
    const tail = await cli(['audit', 'tail', '--limit', '50'], env);
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout.split('\n')[0]).toMatch(
      /^SEQ\s+TIME \(UTC\)\s+ACTION\s+OUTCOME\s+ACTOR\s+TARGET\s+IP\s+DETAILS$/,
    );
    expect(tail.stdout).toMatch(/keys\.create/);
    expect(tail.stdout).toMatch(/users\.create/);

    const keysOnly = JSON.parse(
      (await cli(['audit', 'tail', '--action', 'keys.', '--json'], env)).stdout,
    ) as {
      action: string;
      seq: number;
    }[];
    expect(keysOnly.length).toBeGreaterThan(0);
    expect(keysOnly.every((e) => e.action.startsWith('keys.'))).toBe(true);
    // Oldest first, like `tail`.
    expect(keysOnly.map((e) => e.seq)).toEqual([...keysOnly.map((e) => e.seq)].sort((a, b) => a - b));

    const verified = await cli(['audit', 'verify', '--json'], env);
    expect(verified.code, verified.stderr).toBe(0);
    const result = JSON.parse(verified.stdout);
    expect(result).toMatchObject({ ok: true, tenantId: ts.admin.deskId });
    expect(result.rows).toBeGreaterThan(3);
    const anchor = `${result.head.seq}:${result.head.hash}`;
    expect((await cli(['audit', 'verify', '--anchor', anchor], env)).stdout).toMatch(/^status\s+intact$/m);

    // Tampering by someone with table-owner access: the chain exposes it.
    await ts.owner`update audit_log set details = 'nothing happened' where tenant_id = ${ts.admin.deskId} and seq = 2`;
    const broken = await cli(['audit', 'verify'], env);
    expect(broken.code).toBe(7);
    expect(broken.stdout).toMatch(/^status\s+BROKEN$/m);
    expect(broken.stdout).toMatch(/^first broken seq\s+2$/m);
    expect(broken.stderr.trim()).toBe('aegis: audit chain broken at seq 2 (hash_mismatch)');

    expectOneLineError(await cli(['audit', 'verify', '--anchor', 'nope'], env), 2, /--anchor must be/);
    expectOneLineError(await cli(['audit', 'tail', '--since', 'yesterday-ish'], env), 2, /--since must be/);
  });
});

describe('aegis audit (platform chain and --follow)', () => {
  it('reads and verifies the platform chain with --platform', async () => {
    const verified = JSON.parse((await cli(['audit', 'verify', '--platform', '--json'], env)).stdout);
    expect(verified).toMatchObject({ ok: true, tenantId: null });
    const tail = JSON.parse((await cli(['audit', 'tail', '--platform', '--json'], env)).stdout) as {
      tenantId: string | null;
    }[];
    expect(tail.every((e) => e.tenantId === null)).toBe(true);
  });

  it('tail --follow streams new entries as JSON lines until interrupted', async () => {
    const child = spawn(
      NODE,
      [CLI, 'audit', 'tail', '--follow', '--json', '--action', 'keys.', '--limit', '1'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    const waitFor = async (pred: () => boolean) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(pred()).toBe(true);
    };
    await waitFor(() => out.split('\n').filter(Boolean).length >= 1);
    const before = out.split('\n').filter(Boolean).length;
    const created = JSON.parse(
      (await cli(['keys', 'create', '--name', 'followed', '--scope', 'read', '--json'], env)).stdout,
    );
    await waitFor(() => out.includes(created.apiKey.id));
    const lines = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { action: string; targetId: string });
    expect(lines.length).toBe(before + 1);
    expect(lines.at(-1)).toMatchObject({ action: 'keys.create', targetId: created.apiKey.id });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});

describe('aegis admin create', () => {
  it('bootstraps the first admin in an empty database, once', async () => {
    const db = await createMigratedTestDatabase('aegis_test_cli_admin');
    try {
      // As the application role (DATABASE_URL), RLS in force, as a deployment would run it.
      const first = await cli(['admin', 'create', '--email', 'root@desk.example', '--json'], {
        DATABASE_URL: db.appUrl,
      });
      expect(first.code, first.stderr).toBe(0);
      const out = JSON.parse(first.stdout);
      expect(out).toMatchObject({ email: 'root@desk.example' });
      expect(out.password.length).toBeGreaterThanOrEqual(12);

      expectOneLineError(await cli(['admin', 'create'], { DATABASE_URL: db.appUrl }), 5, /already has users/);
      expectOneLineError(await cli(['admin', 'create'], {}), 2, /DATABASE_OWNER_URL/);
      expectOneLineError(
        await cli(['admin', 'create', '--email', 'not-an-address'], { DATABASE_URL: db.appUrl }),
        2,
        /--email must be an email address/,
      );
    } finally {
      await db.drop();
    }
  });
});

describe('usage and transport errors', () => {
  it('explains usage mistakes with exit 2', async () => {
    const help = await cli([], {});
    expect(help.code).toBe(2);
    expect(help.stdout).toMatch(/^Usage: npm run aegis -- <command>/);
    expect((await cli(['help'], {})).code).toBe(0);
    expect((await cli(['keys', '--help'], {})).stdout).toMatch(/aegis keys create --name/);
    expectOneLineError(await cli(['launch-missiles'], env), 2, /unknown command 'launch-missiles'/);
    expectOneLineError(await cli(['keys', 'rotate'], env), 2, /unknown subcommand 'keys rotate'/);
    expectOneLineError(
      await cli(['keys', 'list', '--verbose'], env),
      2,
      /keys list: Unknown option '--verbose'/,
    );
    expectOneLineError(await cli(['keys', 'revoke'], env), 2, /missing <key-id>/);
    expectOneLineError(await cli(['whoami', 'extra'], env), 2, /unexpected argument 'extra'/);
    // A short retry key is refused by its flag's name (the API field is idempotencyKey).
    const shortKey = await cli(['orders', 'place', 'buy', '1', 'SYN0001', '--key', 'cli-1'], env);
    expectOneLineError(shortKey, 2, /orders place: --key must be 8–128 printable characters/);
    expect(shortKey.stderr).not.toContain('idempotencyKey');
  });

  it('fails with one line when the key is missing or malformed, or the server is unreachable', async () => {
    expectOneLineError(await cli(['whoami'], { AEGIS_URL: ts.url }), 3, /AEGIS_API_KEY is not set/);
    const bad = await cli(['whoami'], { AEGIS_URL: ts.url, AEGIS_API_KEY: 'hunter2' });
    expectOneLineError(bad, 2, /AEGIS_API_KEY: invalid/);
    expect(bad.stderr).not.toContain('hunter2');
    expectOneLineError(await cli(['whoami'], { ...env, AEGIS_URL: 'ftp://x' }), 2, /AEGIS_URL/);

    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    expectOneLineError(
      await cli(['whoami'], { ...env, AEGIS_URL: `http://127.0.0.1:${port}` }),
      6,
      /cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/,
    );
  });
});
