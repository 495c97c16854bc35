import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readChildLog } from '@aegis/shared/testing/child-log';
import { sleep } from './chaos-harness.ts';

/**
 * The engine daemon for the chaos suite: `node engine/src/main.ts` as a child process, and the
 * same under a supervisor that restarts it after a failure, as its systemd unit does.
 */
// ---------------------------------------------------------------------------------------------
// The engine daemon (`node engine/src/main.ts`), as systemd runs it.
// ---------------------------------------------------------------------------------------------

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const ENGINE_MAIN = `${ROOT}engine/src/main.ts`;

export interface EngineProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines (info and above). */
  readonly lines: Record<string, unknown>[];
  /** The last raw lines of stdout and stderr (what a crash left behind). */
  readonly tail: string[];
  readonly port: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

const TAIL_LINES = 40;

export function spawnEngine(env: Record<string, string>): EngineProcess {
  const child = spawn(NODE, [ENGINE_MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ENGINE_PORT: '0', ENGINE_EXECUTION_PROVIDER: 'cpu', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let resolvePort!: (p: number) => void;
  const port = new Promise<number>((r) => {
    resolvePort = r;
  });
  const { lines, tail } = readChildLog(child, {
    maxLines: 20_000,
    tailLines: TAIL_LINES,
    onLog: (j) => {
      if (typeof j.msg === 'string' && j.msg.startsWith('engine http: listening'))
        resolvePort(j.port as number);
    },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    lines,
    tail,
    port,
    exited,
    async stop(graceMs = 15_000) {
      const started = Date.now();
      if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), ms: 0 };
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(killer);
      return { ...r, ms: Date.now() - started };
    },
  };
}

export interface EngineCrash {
  readonly atMs: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines the crashed process wrote. */
  readonly tail: readonly string[];
}

/**
 * The engine under a supervisor, as production runs it (scripts/systemd/aegis-engine.service:
 * `Restart=on-failure`, `RestartSec=2`): an exit other than a clean one after `stop()` starts a
 * new process after `restartDelayMs`. Every such exit is recorded with its last log lines.
 */
export interface SupervisedEngine {
  readonly current: EngineProcess;
  readonly crashes: readonly EngineCrash[];
  /** Log lines of every process so far. */
  allLines(): Record<string, unknown>[];
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

export function superviseEngine(
  env: Record<string, string>,
  opts: { t0: () => number; restartDelayMs?: number },
): SupervisedEngine {
  const crashes: EngineCrash[] = [];
  const all: EngineProcess[] = [];
  let stopping = false;
  let current: EngineProcess;
  const launch = () => {
    const p = spawnEngine(env);
    current = p;
    all.push(p);
    void p.exited.then(async (r) => {
      if (stopping) return;
      crashes.push({ atMs: Date.now() - opts.t0(), code: r.code, signal: r.signal, tail: [...p.tail] });
      await sleep(opts.restartDelayMs ?? 2_000);
      if (!stopping) launch();
    });
  };
  launch();
  return {
    get current() {
      return current;
    },
    crashes,
    allLines: () => all.flatMap((p) => p.lines),
    async stop(graceMs) {
      stopping = true;
      return current.stop(graceMs);
    },
  };
}
