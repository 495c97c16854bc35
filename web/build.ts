import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The console's production build, shared by `npm start` (launcher/src/start.ts) and the browser
 * tests. Building takes seconds to a minute on a busy machine, so it runs only when `.output` is
 * missing or older than anything it is built from (web sources, shared sources, the vite config
 * and package manifest).
 */
export const webDir = import.meta.dirname;
const repoRoot = path.resolve(webDir, '..');
export const builtServerEntry = path.join(webDir, '.output', 'server', 'index.mjs');

function newestMtime(target: string): number {
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry.name)));
  }
  return newest;
}

export function webBuildIsStale(): boolean {
  if (!existsSync(builtServerEntry)) return true;
  const built = statSync(builtServerEntry).mtimeMs;
  const inputs = [
    path.join(webDir, 'src'),
    path.join(webDir, 'public'),
    path.join(webDir, 'vite.config.ts'),
    path.join(webDir, 'package.json'),
    path.join(repoRoot, 'shared', 'src'),
  ];
  return inputs.some((input) => existsSync(input) && newestMtime(input) > built);
}

/**
 * The test runner's environment minus what would change the build: vitest sets NODE_ENV=test
 * and VITEST*, under which Vite produces a dev-flavoured SSR manifest that the production server
 * cannot load.
 */
function buildEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VITEST') && key !== 'TEST' && key !== 'MODE') env[key] = value;
  }
  env.NODE_ENV = 'production';
  return env;
}

// Outside the tree (nothing to ignore), one per checkout.
const lockDir = path.join(
  tmpdir(),
  `aegis-web-build-${createHash('sha256').update(webDir).digest('hex').slice(0, 12)}.lock`,
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * One build at a time across test files (vitest runs them in parallel) and processes: two
 * builds writing `.output` together corrupt it. The lock is a directory (mkdir is atomic) with
 * the holder's pid; a lock whose holder died is taken over.
 */
async function withBuildLock<T>(run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder = Number.NaN;
      try {
        holder = Number(readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        // Just created, pid not written yet: wait.
      }
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`web build lock ${lockDir} held for over 5 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await run();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Builds with this process's Node (the repo's Node 24: SolidStart 2 does not build on 20). */
export async function ensureWebBuild(): Promise<{ built: boolean; ms: number }> {
  if (!webBuildIsStale()) return { built: false, ms: 0 };
  // Checked again under the lock: another test file may have built it meanwhile.
  return withBuildLock(async () => (webBuildIsStale() ? build() : { built: false, ms: 0 }));
}

/** The console's own Vite, resolved from web/ wherever npm placed it (nested or hoisted). */
export function viteBin(): string {
  const vitePackage = createRequire(path.join(webDir, 'package.json')).resolve('vite/package.json');
  return path.join(path.dirname(vitePackage), 'bin', 'vite.js');
}

async function build(): Promise<{ built: boolean; ms: number }> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [viteBin(), 'build'], {
      cwd: webDir,
      env: buildEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build exited ${code}\n${output.slice(-4000)}`)),
    );
  });
  return { built: true, ms: Math.round(performance.now() - started) };
}
