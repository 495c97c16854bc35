import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  signIn,
  startTestServer,
  type TestServer,
} from '../../../server/tests/integration/test-server.ts';

/** `aegis brokers …` as people run it: a child process against a real server. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const CLI = `${ROOT}scripts/src/cli.ts`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      NODE,
      [CLI, ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
    child.stdin?.end(stdin ?? '');
  });
}

let t: TestServer;
let admin: Client;
let password: string;
let env: Record<string, string>;

beforeAll(async () => {
  t = await startTestServer();
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  admin = s.client;
  password = s.password;
  const { key } = await admin.keys.create.mutate({ name: 'cli', scopes: ['read', 'trade', 'admin'] });
  env = { AEGIS_URL: t.url, AEGIS_API_KEY: key };
});
afterAll(async () => {
  await t?.close();
});

describe('aegis brokers', () => {
  it('lists no connections on a new desk, as a table, as JSON and as a person', async () => {
    const table = await cli(['brokers', 'list'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+PROVIDER\s+LABEL\s+ENV\s+STATUS/);
    expect(table.stdout).toContain("No broker accounts linked: orders go to the desk's paper account.");
    const json = await cli(['brokers', 'list', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
    const asPerson = await cli(['brokers', 'list', '--json', '--email', t.admin.email], {}, `${password}\n`);
    expect(asPerson.code, asPerson.stderr).toBe(0);
    expect(JSON.parse(asPerson.stdout)).toEqual([]);
  });

  it('link and unlink need a person: without --email they stop before calling the server', async () => {
    const link = await cli(['brokers', 'link', 'alpaca'], env);
    expect(link.code).toBe(2);
    expect(link.stderr).toMatch(
      /--email is required: linking needs a signed-in person who re-entered the password/,
    );
    const unlink = await cli(['brokers', 'unlink', randomUUID()], env);
    expect(unlink.code).toBe(2);
    expect(unlink.stderr).toMatch(/--email is required/);
  });

  it('refuses a provider id the contract does not know, and a connection id that is not one', async () => {
    const bad = await cli(['brokers', 'link', 'etrade', '--email', t.admin.email], env, `${password}\n`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown provider 'etrade'/);
    const notUuid = await cli(['brokers', 'sync', 'abc'], env);
    expect(notUuid.code).toBe(2);
    expect(notUuid.stderr).toMatch(/a connection id/);
  });

  it('a wrong password is refused as authentication (exit 3), nothing is started', async () => {
    const run = await cli(['brokers', 'link', 'alpaca', '--email', t.admin.email], env, 'not-the-password\n');
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
  });

  it("sync and unlink of a connection that is not this desk's answer not found (exit 4)", async () => {
    const id = randomUUID();
    const sync = await cli(['brokers', 'sync', id], env);
    expect(sync.code, sync.stderr).toBe(4);
    const unlink = await cli(['brokers', 'unlink', id, '--email', t.admin.email], env, `${password}\n`);
    expect(unlink.code, unlink.stderr).toBe(4);
  });
});
