import { type ChildProcess, spawn } from 'node:child_process';
import { builtServerEntry, viteBin, webDir } from '@aegis/web/build';

/** Runs the built console (production) or the Vite dev server (dev) as a child process. */
export function startWebProcess(opts: { dev: boolean; env: NodeJS.ProcessEnv }): ChildProcess {
  const args = opts.dev ? [viteBin(), 'dev'] : [builtServerEntry];
  return spawn(process.execPath, args, {
    cwd: webDir,
    env: opts.env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
