import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { migrate } from '../db/migrate.ts';
import { freePort } from './free-port.ts';
import { sleep } from './wait.ts';

/**
 * A PostgreSQL cluster of the test's own, which the test may stop, restart and crash at will
 * without touching the shared cluster on 127.0.0.1:5432 that other test files use.
 *
 * Debian's PostgreSQL binaries (`/usr/lib/postgresql/<major>/bin`) run `initdb` and the
 * postmaster. PostgreSQL refuses to run as root, so when the tests run as root the processes are
 * spawned with the uid/gid of the `postgres` OS user and the data folder (under the OS temp
 * folder) is handed to that user. Trust authentication, 127.0.0.1 only, a free port chosen once:
 * the port stays the same across restarts so clients reconnect to the same URL, as they would to a
 * production server that restarted. `fsync=off`: durability against an OS crash is not what these
 * tests exercise (a crash of PostgreSQL itself is), and it keeps a shared machine's disk quiet.
 */
export interface OwnPostgres {
  /** Superuser (`postgres`, trust) URL for database `db` (default `postgres`). */
  url(db?: string): string;
  readonly port: number;
  /** The cluster's data folder (removed by `stop()`). */
  readonly dataDir: string;
  /** Whether the postmaster is running now. */
  readonly running: boolean;
  /**
   * Stops the server (`fast`: SIGINT, rolls back open transactions and closes connections;
   * `immediate`: SIGQUIT, a crash without checkpoint, recovered from WAL at the next start), stays
   * down `downMs` (default 0), starts it again and resolves once it accepts connections.
   */
  restart(opts?: { downMs?: number; mode?: 'fast' | 'immediate' }): Promise<void>;
  /** Stops the server but keeps the cluster, for an outage of the test's own length; `start()` ends it. */
  halt(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts a halted server; resolves once it accepts connections. */
  start(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP to the postmaster and every backend): connections stay open and
   * nothing answers, as with a stalled host or a silent network. `resume()` (SIGCONT) ends it.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /**
   * A fresh database with every project migration applied (as the owner) and the application
   * role granted, like `createMigratedTestDatabase()` on the shared cluster.
   */
  createMigratedDatabase(prefix?: string): Promise<OwnMigratedDatabase>;
  /** Stops the server for good and deletes the cluster. */
  stop(): Promise<void>;
}

export interface OwnMigratedDatabase {
  readonly name: string;
  /** Owner (superuser) URL: fixtures and DDL. */
  readonly url: string;
  /** Application-role URL (RLS applies, owns nothing): the code under test. */
  readonly appUrl: string;
  readonly appRole: string;
}

export interface StartOwnPostgresOptions {
  /** Folder with initdb/postgres; default the newest `/usr/lib/postgresql/<major>/bin`. */
  binDir?: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

const APP_ROLE = 'aegis_app';
const READY_TIMEOUT_MS = 30_000;

function defaultBinDir(): string {
  const found = spawnSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], {
    encoding: 'utf8',
  });
  const dir = found.stdout.trim();
  if (found.status !== 0 || dir === '')
    throw new Error('own-postgres: no /usr/lib/postgresql/<major>/bin found');
  return dir;
}

/** uid/gid to run PostgreSQL as: the `postgres` OS user when we are root, else ourselves. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error('own-postgres: running as root needs a `postgres` OS user');
  }
  return { uid, gid };
}

/** Starts a new cluster (initdb + postmaster). Call `stop()` in afterAll. */
export async function startOwnPostgres(opts: StartOwnPostgresOptions = {}): Promise<OwnPostgres> {
  const binDir = opts.binDir ?? defaultBinDir();
  const identity = serverIdentity();
  const dataDir = mkdtempSync(join(tmpdir(), 'aegis-own-pg-'));
  if (identity) chownSync(dataDir, identity.uid, identity.gid);
  const spawnIdentity = identity ?? {};

  const init = spawnSync(
    join(binDir, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
    { ...spawnIdentity, encoding: 'utf8', cwd: dataDir },
  );
  if (init.status !== 0) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`own-postgres: initdb failed: ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dataDir,
    // fsync off survives a postmaster crash (the OS keeps the written pages); synchronous_commit
    // stays on: off would let an `immediate` restart lose commits a client was told about.
    fsync: 'off',
    max_connections: '100',
    ...opts.settings,
  };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);

  let child: ChildProcess | undefined;
  let log = '';
  let stopped = false;

  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;

  async function waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child === undefined || child.exitCode !== null) {
        throw new Error(`own-postgres: server exited while starting: ${log.slice(-2000)}`);
      }
      const probe = postgres(url(), { max: 1, connect_timeout: 1, onnotice: () => {} });
      try {
        await probe`select 1`;
        return;
      } catch {
        await sleep(100);
      } finally {
        await probe.end({ timeout: 1 }).catch(() => {});
      }
    }
    throw new Error(`own-postgres: not ready within ${READY_TIMEOUT_MS} ms: ${log.slice(-2000)}`);
  }

  async function start(): Promise<void> {
    if (child && child.exitCode === null) return;
    log = '';
    const proc = spawn(join(binDir, 'postgres'), args, {
      ...spawnIdentity,
      cwd: dataDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Keep the tail of the server log for error messages; the server logs to stderr.
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-8000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    child = proc;
    await waitReady();
  }

  async function halt(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    // A frozen server cannot act on the stop signal.
    if (paused) {
      paused = false;
      await signalCluster('SIGCONT');
    }
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    await exited;
  }

  /** The postmaster and its children (backends, checkpointer, …). */
  function clusterPids(): number[] {
    const root = child?.pid;
    if (root === undefined || child?.exitCode !== null) return [];
    const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(root)], { encoding: 'utf8' });
    const kids = out.stdout
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
    return [root, ...kids];
  }
  let paused = false;
  async function signalCluster(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    for (const pid of clusterPids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // a backend that ended meanwhile
      }
    }
  }

  // A test runner that dies without afterAll must not leave a postmaster behind.
  const onExit = () => {
    if (paused) void signalCluster('SIGCONT');
    if (child && child.exitCode === null) child.kill('SIGQUIT');
  };
  process.once('exit', onExit);

  try {
    await start();
  } catch (err) {
    await halt('immediate').catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    port,
    dataDir,
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    async restart({ downMs = 0, mode = 'fast' } = {}) {
      await halt(mode);
      if (downMs > 0) await sleep(downMs);
      await start();
    },
    halt,
    start,
    async pause() {
      paused = true;
      await signalCluster('SIGSTOP');
    },
    async resume() {
      paused = false;
      await signalCluster('SIGCONT');
    },
    async createMigratedDatabase(prefix = 'aegis_own') {
      const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
      const admin = postgres(url(), { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      const ownerUrl = url(name);
      await migrate({ ownerUrl, appRole: { name: APP_ROLE } });
      const app = new URL(ownerUrl);
      app.username = APP_ROLE;
      return { name, url: ownerUrl, appUrl: app.toString(), appRole: APP_ROLE };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt('immediate');
      process.removeListener('exit', onExit);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
