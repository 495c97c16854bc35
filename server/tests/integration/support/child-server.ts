import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readChildLog } from '@aegis/shared/testing/child-log';
import { loadServerConfig } from '../../../src/env.ts';

/**
 * A whole server as a separate OS process, both ends: the test spawns an entry file with
 * `spawnServerProcess` and learns its URL from the `{"ready":true,"url":…}` line the entry prints
 * with `announceReady`; the entry reads its config from the environment with `childServerConfig`.
 * Used by the dispatcher tests (support/dispatcher-server.ts), the two-server tests
 * (server-process.ts) and the e2e cluster (tests/support/cluster-server.ts).
 */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;

export interface ServerProcess {
  readonly proc: ChildProcess;
  /** Resolves with the URL it listens on; rejects if it exits first. */
  readonly url: Promise<string>;
  readonly exited: Promise<void>;
  /** The last 200 lines it wrote (stdout, and stderr prefixed `stderr: `), for a failure's message. */
  readonly output: string[];
  readonly alive: () => boolean;
}

/** Spawns `node <entry>` (a path under the repository root) with only PATH and `env` set. */
export function spawnServerProcess(
  entry: string,
  env: Record<string, string>,
  what = 'server',
): ServerProcess {
  const proc = spawn(NODE, [`${ROOT}${entry}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let resolveUrl!: (u: string) => void;
  let rejectUrl!: (e: Error) => void;
  const url = new Promise<string>((res, rej) => {
    resolveUrl = res;
    rejectUrl = rej;
  });
  // The log lines themselves are not kept (maxLines 0): the ready line is read as it passes.
  const { tail: output } = readChildLog(proc, {
    maxLines: 0,
    tailLines: 200,
    onLog: (j) => {
      if (j.ready && typeof j.url === 'string' && j.url) resolveUrl(j.url);
    },
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  void exited.then(() => rejectUrl(new Error(`${what} exited before it was ready: ${output.join('\n')}`)));
  return { proc, url, exited, output, alive: () => proc.exitCode === null && proc.signalCode === null };
}

/** Sends `signal` to the process if it still runs, and waits until it has exited. */
export async function stopServerProcess(p: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.alive()) p.proc.kill(signal);
  await p.exited;
}

/** In the child: the server config for a test process, the database and Redis from the environment. */
export function childServerConfig(extra: Record<string, string> = {}) {
  return loadServerConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVER_HOST: '127.0.0.1',
    SERVER_PORT: '0',
    PUBLIC_ORIGIN: 'http://localhost:3000',
    ARGON2_MAX_CONCURRENCY: '1',
    DATABASE_URL: process.env.DATABASE_URL ?? '',
    REDIS_URL: process.env.REDIS_URL ?? '',
    ...extra,
  });
}

/** In the child: prints the ready line the parent waits for, and closes cleanly on SIGTERM/SIGINT. */
export function announceReady(server: { readonly url: string; close(): Promise<unknown> }): void {
  process.stdout.write(`${JSON.stringify({ ready: true, url: server.url, pid: process.pid })}\n`);
  const stop = () => {
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
