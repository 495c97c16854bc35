import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import postgres, { type Sql } from 'postgres';
import { AppError, ErrorCode } from '../errors.ts';
import type { Logger } from '../logging.ts';

/**
 * The migration runner. Applies `drizzle/` (generated + custom SQL) as the owner role, then
 * creates or repairs the application role and its grants.
 *
 * Why not drizzle's own `migrate()`: it applies every pending file in ONE transaction, takes no
 * lock and does not say what it applied. This runner keeps drizzle's bookkeeping table and rule
 * (`drizzle.__drizzle_migrations`, a file is pending when its journal `when` is newer than the
 * last applied row) so `drizzle-kit migrate` and this runner agree, and adds:
 *   - a session advisory lock, so server, engine and CLI starting together migrate once;
 *   - one transaction per file (a failure leaves earlier files applied and the failing one not);
 *   - the list of applied tags, for logs and the CLI.
 */

/** Repository `drizzle/` folder (migrations travel with the source; there is no build step). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle', import.meta.url));
const MIGRATIONS_SCHEMA = 'drizzle';
const MIGRATIONS_TABLE = '__drizzle_migrations';
/** Arbitrary constant shared by every Aegis process ("aegis_mig" in hex-ish); pg_advisory_lock key. */
const MIGRATION_LOCK_KEY = 0x61656769735f6dn;
export const DEFAULT_APP_ROLE = 'aegis_app';

export interface AppRoleOptions {
  /** Role name; default `aegis_app`. */
  name?: string;
  /** Set (or reset) the role's password; left untouched when absent. */
  password?: string;
}

export interface MigrateOptions {
  /** Connection as the role that owns the schema (runs DDL). */
  ownerUrl: string;
  /** The application role to create/repair; `false` skips role management entirely. */
  appRole?: AppRoleOptions | false;
  log?: Logger;
  /** Defaults to the repository's `drizzle/` folder. */
  migrationsFolder?: string;
}

export interface MigrateResult {
  /** Tags of the migration files applied by this run, in order (empty when already current). */
  applied: string[];
  /** `timescaledb` when the extension is installed in the database, else `native-partitions`. */
  timeseries: 'timescaledb' | 'native-partitions';
  /** The role granted to, or null when role management was skipped or is unsupported. */
  appRole: string | null;
}

interface JournalMigration {
  tag: string;
  hash: string;
  folderMillis: number;
  statements: string[];
}

function loadMigrations(folder: string): JournalMigration[] {
  const files = readMigrationFiles({ migrationsFolder: folder });
  // readMigrationFiles keeps the journal order; tags come from the journal itself.
  const journal = JSON.parse(readFileSync(`${folder}/meta/_journal.json`, 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  return files.map((m, i) => ({
    tag: journal.entries[i]?.tag ?? String(m.folderMillis),
    hash: m.hash,
    folderMillis: m.folderMillis,
    statements: m.sql.filter((s) => s.trim().length > 0),
  }));
}

const SQLSTATE_UNDEFINED_TABLE = '42P01';
const SQLSTATE_INVALID_SCHEMA = '3F000';
const SQLSTATE_DUPLICATE_OBJECT = '42710';
const SQLSTATE_UNIQUE_VIOLATION = '23505';

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

function assertRoleName(name: string): void {
  // Role names end up in DDL (identifiers cannot be bound as parameters): keep them boring.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new AppError(ErrorCode.BAD_INPUT, 'application role name must match ^[a-z_][a-z0-9_]*$', { name });
  }
}

async function lastAppliedMillis(sql: Sql): Promise<number | null> {
  try {
    const rows = await sql<{ created_at: string | null }[]>`
      select created_at from ${sql(MIGRATIONS_SCHEMA)}.${sql(MIGRATIONS_TABLE)}
      order by created_at desc limit 1`;
    const v = rows[0]?.created_at;
    return v == null ? null : Number(v);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === SQLSTATE_UNDEFINED_TABLE || code === SQLSTATE_INVALID_SCHEMA) return null;
    throw err;
  }
}

/** Applies pending migrations and (re)creates the application role. Safe to run concurrently. */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const log = options.log;
  const migrations = loadMigrations(options.migrationsFolder ?? MIGRATIONS_FOLDER);
  // One connection: the advisory lock is per session, and every statement must run under it.
  const sql = postgres(options.ownerUrl, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: 'aegis-migrate' },
  });
  const applied: string[] = [];
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    try {
      await sql.unsafe(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(MIGRATIONS_SCHEMA)}`);
      await sql.unsafe(
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(MIGRATIONS_SCHEMA)}.${quoteIdent(MIGRATIONS_TABLE)} (
           id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
      );
      const last = await lastAppliedMillis(sql);
      const appliedHashes = new Map(
        (
          await sql<{ hash: string; created_at: string }[]>`
            select hash, created_at from ${sql(MIGRATIONS_SCHEMA)}.${sql(MIGRATIONS_TABLE)}`
        ).map((r) => [Number(r.created_at), r.hash]),
      );
      for (const m of migrations) {
        if (last !== null && m.folderMillis <= last) {
          const recorded = appliedHashes.get(m.folderMillis);
          if (recorded !== undefined && recorded !== m.hash) {
            // An applied file was edited afterwards: the database did not get the edit.
            log?.warn({ migration: m.tag }, 'applied migration file changed since it was applied');
          }
          continue;
        }
        const started = performance.now();
        await sql.begin(async (tx) => {
          // Simple protocol, as psql would: a chunk may hold several statements (custom SQL files).
          for (const statement of m.statements) await tx.unsafe(statement).simple();
          await tx`insert into ${tx(MIGRATIONS_SCHEMA)}.${tx(MIGRATIONS_TABLE)} (hash, created_at)
                   values (${m.hash}, ${m.folderMillis})`;
        });
        applied.push(m.tag);
        log?.info({ migration: m.tag, ms: Math.round(performance.now() - started) }, 'migration applied');
      }
      const appRole = options.appRole === false ? null : await ensureAppRole(sql, options.appRole ?? {}, log);
      const [ext] = await sql<
        { n: number }[]
      >`select count(*)::int as n from pg_extension where extname = 'timescaledb'`;
      return { applied, timeseries: ext && ext.n > 0 ? 'timescaledb' : 'native-partitions', appRole };
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(() => {});
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Tables the application may read and append to but never change (tamper evidence). */
const APPEND_ONLY_TABLES = new Set(['audit_log', 'order_events']);
/** Tables the application only reads: the native path's bar rollups, written by aegis_refresh_bars. */
const READ_ONLY_TABLES = new Set(['bars_1s', 'bars_1m']);

/**
 * Creates the application role if missing and enforces what it may do. Re-run after every
 * migration so new tables are granted and drift (a hand-made GRANT, an ALTER ROLE) is repaired.
 * Returns the role name, or null where the server cannot manage roles (PGlite: single user).
 */
async function ensureAppRole(
  sql: Sql,
  opts: AppRoleOptions,
  log: Logger | undefined,
): Promise<string | null> {
  const name = opts.name ?? DEFAULT_APP_ROLE;
  assertRoleName(name);
  const role = quoteIdent(name);
  const attributes = 'LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT';

  const [existing] = await sql<
    {
      rolsuper: boolean;
      rolbypassrls: boolean;
      rolcreatedb: boolean;
      rolcreaterole: boolean;
      rolreplication: boolean;
      rolcanlogin: boolean;
    }[]
  >`
    select rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolreplication, rolcanlogin
    from pg_roles where rolname = ${name}`;
  if (!existing) {
    try {
      await sql.unsafe(`CREATE ROLE ${role} ${attributes}`);
      log?.info({ role: name }, 'application role created');
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Roles are cluster-global: parallel test databases (or two hosts) race to create it.
      // duplicate_object is the normal loser; unique_violation is the catalog-level race.
      if (code !== SQLSTATE_DUPLICATE_OBJECT && code !== SQLSTATE_UNIQUE_VIOLATION) throw err;
    }
  }
  const attributesWrong =
    !existing ||
    existing.rolsuper ||
    existing.rolbypassrls ||
    existing.rolcreatedb ||
    existing.rolcreaterole ||
    existing.rolreplication ||
    !existing.rolcanlogin;
  if (existing && attributesWrong) {
    log?.warn({ role: name }, 'application role had unsafe attributes; resetting them');
  }
  if (existing && attributesWrong) await alterRole(sql, `ALTER ROLE ${role} ${attributes}`);
  if (opts.password !== undefined) {
    // DDL cannot take bind parameters; the literal is escaped and never logged.
    await alterRole(sql, `ALTER ROLE ${role} PASSWORD ${quoteLiteral(opts.password)}`);
  }

  const [owns] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_class c join pg_roles r on r.oid = c.relowner
    where r.rolname = ${name} and c.relnamespace = 'public'::regnamespace`;
  if (owns && owns.n > 0) {
    // An owner may disable RLS on its tables: the application role must own nothing.
    throw new AppError(
      ErrorCode.PRECONDITION_FAILED,
      'application role owns relations; reassign them to the owner',
      {
        role: name,
        relations: owns.n,
      },
    );
  }

  await sql.begin(async (tx) => {
    const [db] = await tx<{ db: string }[]>`select current_database() as db`;
    if (db) {
      // PUBLIC has CONNECT by default; granting it explicitly survives a hardened REVOKE. Under
      // a savepoint: PGlite (one template1 database) fails this GRANT, and it is not essential.
      await tx
        .savepoint((sp) => sp.unsafe(`GRANT CONNECT ON DATABASE ${quoteIdent(db.db)} TO ${role}`))
        .catch((err: unknown) => log?.warn({ err, role: name }, 'could not grant CONNECT on the database'));
    }
    await tx.unsafe(`GRANT USAGE ON SCHEMA public TO ${role}`);
    // /health/ready (running as the app role) compares the journal with this table.
    await tx.unsafe(`GRANT USAGE ON SCHEMA ${quoteIdent(MIGRATIONS_SCHEMA)} TO ${role}`);
    await tx.unsafe(
      `GRANT SELECT ON ${quoteIdent(MIGRATIONS_SCHEMA)}.${quoteIdent(MIGRATIONS_TABLE)} TO ${role}`,
    );

    // Our relations only: skip extension members (TimescaleDB keeps catalog tables in public)
    // and partitions/chunks (reached through their parent, whose privileges are what count).
    const relations = await tx<{ relname: string; relkind: string }[]>`
      select c.relname, c.relkind::text as relkind
      from pg_class c
      where c.relnamespace = 'public'::regnamespace
        and c.relkind in ('r', 'p', 'v', 'm', 'S')
        and not c.relispartition
        and c.relowner = (select oid from pg_roles where rolname = current_user)
        and not exists (select 1 from pg_depend d
                        where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by c.relname`;
    for (const r of relations) {
      const rel = `public.${quoteIdent(r.relname)}`;
      // Revoke then grant in one transaction: exactly the intended set, no window without access.
      if (r.relkind === 'S') {
        await tx.unsafe(`REVOKE ALL ON SEQUENCE ${rel} FROM ${role}`);
        await tx.unsafe(`GRANT USAGE, SELECT ON SEQUENCE ${rel} TO ${role}`);
        continue;
      }
      await tx.unsafe(`REVOKE ALL ON ${rel} FROM ${role}`);
      if (r.relkind === 'v' || r.relkind === 'm' || READ_ONLY_TABLES.has(r.relname)) {
        await tx.unsafe(`GRANT SELECT ON ${rel} TO ${role}`);
      } else if (APPEND_ONLY_TABLES.has(r.relname)) {
        await tx.unsafe(`GRANT SELECT, INSERT ON ${rel} TO ${role}`);
      } else {
        await tx.unsafe(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${rel} TO ${role}`);
      }
    }
    // Our routines (aegis_*): partition upkeep, bar refresh, pre-tenant auth lookups. The custom
    // migrations revoke EXECUTE from PUBLIC on the SECURITY DEFINER ones; only this role gets it.
    // aegis_ddl_* are migration helpers: never granted.
    const routines = await tx<{ signature: string; prokind: string }[]>`
      select p.oid::regprocedure::text as signature, p.prokind::text as prokind
      from pg_proc p
      where p.pronamespace = 'public'::regnamespace and p.proname like 'aegis\_%'
        and p.proname not like 'aegis\_ddl\_%'
        and p.proowner = (select oid from pg_roles where rolname = current_user)`;
    for (const p of routines) {
      const kind = p.prokind === 'p' ? 'PROCEDURE' : 'FUNCTION';
      await tx.unsafe(`GRANT EXECUTE ON ${kind} ${p.signature} TO ${role}`);
    }
  });
  return name;
}

/**
 * ALTER ROLE rewrites one row of the cluster-wide pg_authid: two databases migrating at once
 * (parallel tests, several hosts) can collide with "tuple concurrently updated". Retry briefly.
 */
async function alterRole(sql: Sql, statement: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sql.unsafe(statement);
      return;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const raced = e.code === 'XX000' && /concurrently updated/.test(e.message ?? '');
      if (!raced || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

export interface MigrationStatus {
  /** True when every journal entry is applied. */
  current: boolean;
  /** Tags not yet applied, in order. */
  pending: string[];
}

/**
 * Compares the journal with the database, for `/health/ready`. Accepts a URL (opens and closes a
 * connection) or an existing client (reuses it; works as the app role, which may read the table).
 */
export async function migrationStatus(
  target: string | Sql,
  migrationsFolder = MIGRATIONS_FOLDER,
): Promise<MigrationStatus> {
  const migrations = loadMigrations(migrationsFolder);
  const sql = typeof target === 'string' ? postgres(target, { max: 1, onnotice: () => {} }) : target;
  try {
    const last = await lastAppliedMillis(sql);
    const pending = migrations.filter((m) => last === null || m.folderMillis > last).map((m) => m.tag);
    return { current: pending.length === 0, pending };
  } finally {
    if (typeof target === 'string') await sql.end({ timeout: 5 });
  }
}
