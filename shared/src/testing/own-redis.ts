import { type ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { freePort } from './free-port.ts';
import { sleep } from './wait.ts';

/**
 * A Redis server of the test's own (`redis-server` from the machine's PATH), which the test may
 * kill and restart without touching the shared Redis on 127.0.0.1:6379 that other test files use.
 *
 * Persistence is off (`--save ''`, `--appendonly no`), so a restart brings Redis back EMPTY: the
 * streams, consumer groups and rate-limit keys are gone, as after a production Redis that lost
 * its memory. The port is chosen once and kept across restarts, so clients reconnect to the same
 * URL.
 */
export interface OwnRedis {
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  /** Kills the server (SIGKILL: no shutdown save either way), stays down `downMs`, starts it empty. */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** Stops the server for good. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

/** One PING over a raw socket: true when the server answers PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
    s.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
  });
}

/** Starts a new Redis on a free port. Call `stop()` in afterAll. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  let stopped = false;

  async function start(): Promise<void> {
    log = '';
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        // No dump file is written, and none is read at start: the folder is irrelevant.
        '--dir',
        '/tmp',
        '--dbfilename',
        `aegis-own-redis-${port}.rdb`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    child = proc;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`own-redis: exited while starting: ${log}`);
      if (await ping(port)) return;
      await sleep(50);
    }
    throw new Error(`own-redis: not ready within ${READY_TIMEOUT_MS} ms: ${log}`);
  }

  async function kill(): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await exited;
  }

  const onExit = () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  await start();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async restart({ downMs = 0 } = {}) {
      await kill();
      if (downMs > 0) await sleep(downMs);
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      process.removeListener('exit', onExit);
    },
  };
}
