import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { signIn, startTestServer, type TestServer } from '../../../server/tests/integration/test-server.ts';

/**
 * What the end-to-end CLI tests share: the `aegis` CLI run as an operator runs it (its own Node
 * process, a clean environment with only what the CLI is documented to read), and a test server
 * with an admin signed in and an API key for the CLI.
 */

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const NODE = `${ROOT}node_modules/.bin/node`;
export const CLI = `${ROOT}scripts/src/cli.ts`;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A CLI run, plus `said(text)`: resolves once its stderr contains `text` (e.g. the "live:" line of
 * `signals tail`), or when it ends without having said it.
 */
export function startCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  /** Written to the CLI's stdin, which is then closed (closed empty when absent). */
  stdin?: string,
): { done: Promise<CliRun>; said: (text: string) => Promise<boolean> } {
  let stderr = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const done = new Promise<CliRun>((resolve) => {
    const child = execFile(
      NODE,
      [CLI, ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
        // Generous: an upload of a replay file runs longer than a listing.
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        ended = true;
        for (const w of waiters) w();
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
      for (const w of waiters) w();
    });
    child.stdin?.end(stdin ?? '');
  });
  const said = (text: string) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (!stderr.includes(text) && !ended) return;
        waiters.delete(check);
        resolve(stderr.includes(text));
      };
      waiters.add(check);
      check();
    });
  return { done, said };
}

/** One CLI run to its end. */
export function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
  stdin?: string,
): Promise<CliRun> {
  return startCli(args, env, stdin).done;
}

/** A failure is exactly one line on stderr, never a stack trace. */
export function expectOneLineError(run: CliRun, code: number, pattern: RegExp): void {
  expect(run.code, `${run.stderr}${run.stdout}`).toBe(code);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^aegis: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

export interface CliServer {
  readonly t: TestServer;
  /** The admin, signed in (password changed: `password` is the current one). */
  readonly admin: Awaited<ReturnType<typeof signIn>>;
  /** The CLI's environment: AEGIS_URL and an API key with the scopes asked for. */
  readonly env: Record<string, string>;
  readonly key: string;
}

/** A test server, its admin signed in, and an API key for the CLI. */
export async function startCliServer(
  scopes: ('read' | 'trade' | 'admin')[],
  options: Parameters<typeof startTestServer>[0] = {},
  keyName = 'cli',
): Promise<CliServer> {
  const t = await startTestServer(options);
  try {
    const admin = await signIn(t.url, t.admin.email, t.admin.password);
    const { key } = await admin.client.keys.create.mutate({ name: keyName, scopes });
    return { t, admin, env: { AEGIS_URL: t.url, AEGIS_API_KEY: key }, key };
  } catch (err) {
    await t.close();
    throw err;
  }
}
