import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readChildLog } from '@aegis/shared/testing/child-log';

/**
 * The engine daemon as systemd runs it, for the daemon's integration test and the end-to-end
 * tests: `node engine/src/main.ts` (Node from node_modules) as a child process with only the
 * environment given (plus PATH, an ephemeral HTTP port, the CPU execution provider and info logs).
 * Its JSON log lines are kept, its HTTP port is read from the "listening" line, and its stderr is
 * printed only if it fails on its own.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const MAIN = `${ROOT}engine/src/main.ts`;

export type DaemonExit = { code: number | null; signal: NodeJS.Signals | null };

export interface EngineDaemon {
  readonly child: ChildProcess;
  /** Parsed JSON log lines, in order. */
  readonly lines: Record<string, unknown>[];
  /** The HTTP port, once the daemon says it listens. */
  readonly port: Promise<number>;
  readonly exited: Promise<DaemonExit>;
}

export function spawnEngineDaemon(env: Record<string, string>, args: readonly string[] = []): EngineDaemon {
  const child = spawn(NODE, [MAIN, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ENGINE_PORT: '0',
      ENGINE_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let resolvePort!: (p: number) => void;
  const port = new Promise<number>((r) => {
    resolvePort = r;
  });
  const { lines } = readChildLog(child, {
    onLog: (j) => {
      if (typeof j.msg === 'string' && j.msg.startsWith('engine http: listening'))
        resolvePort(j.port as number);
    },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<DaemonExit>((resolve) => {
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null && stderr) process.stderr.write(stderr);
      resolve({ code, signal });
    });
  });
  return { child, port, lines, exited };
}

/** Daemons spawned by one test file, so its afterAll can SIGKILL whichever still run. */
export function daemonGroup(): {
  spawn: (env: Record<string, string>, args?: readonly string[]) => EngineDaemon;
  killAll: () => void;
} {
  const children: ChildProcess[] = [];
  return {
    spawn(env, args) {
      const d = spawnEngineDaemon(env, args);
      children.push(d.child);
      return d;
    },
    killAll() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    },
  };
}
