import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../..');
const webDir = path.join(root, 'web');
const builtEntry = path.join(webDir, '.output', 'server', 'index.mjs');
// The console's own Vite (web/ may pin a different one than the test runner's).
const viteBin = path.join(
  path.dirname(createRequire(path.join(webDir, 'package.json')).resolve('vite/package.json')),
  'bin',
  'vite.js',
);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when the console has never been built or its sources changed since the last build. */
export function webBuildIsStale(): boolean {
  if (!existsSync(builtEntry)) return true;
  const built = statSync(builtEntry).mtimeMs;
  return (
    newestMtime(path.join(webDir, 'src')) > built || newestMtime(path.join(root, 'shared', 'src')) > built
  );
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: 'inherit' });
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`)),
    );
    child.on('error', reject);
  });
}

/** Builds the SolidStart console with the project's Node 24 (SolidStart 2 does not build on 20). */
export async function buildWeb(env: NodeJS.ProcessEnv): Promise<void> {
  await run(process.execPath, [viteBin, 'build'], webDir, env);
}

/** Runs the built console (production) or the Vite dev server (dev) as a child process. */
export function startWebProcess(opts: { dev: boolean; env: NodeJS.ProcessEnv }): ChildProcess {
  const args = opts.dev ? [viteBin, 'dev'] : [builtEntry];
  return spawn(process.execPath, args, {
    cwd: webDir,
    env: opts.env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
