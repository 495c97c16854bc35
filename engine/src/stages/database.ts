import { connectSql } from '@aegis/shared/db/client';
import { withDeadline } from '@aegis/shared/deadline';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import type { EngineConfig } from '../config.ts';
import { loadCursors } from '../writer/cursor-store.ts';

/** The engine's PostgreSQL client (optional: no DATABASE_URL, no persistence) and where feeds resume. */
export interface EngineDatabase {
  readonly sql: Sql | undefined;
  /** Durable feed positions from `engine_cursors` (cursor name → position). */
  readonly cursors: ReadonlyMap<string, string>;
  /** Ends the client when the engine made it; a client the caller gave is the caller's to end. */
  close(timeoutS: number): Promise<void> | undefined;
}

/**
 * Stage 1: connect (or take the caller's client) and read the durable feed positions. A database
 * that is configured but unreachable or unmigrated fails the start, saying which.
 */
export async function openDatabase(
  config: EngineConfig,
  given: Sql | undefined,
  log: Logger,
): Promise<EngineDatabase> {
  const owned = !given && config.databaseUrl !== undefined;
  const sql: Sql | undefined =
    given ??
    (config.databaseUrl
      ? connectSql(config.databaseUrl, {
          max: 4,
          applicationName: 'aegis-engine',
          connectTimeout: Math.max(1, Math.ceil(config.dbTimeoutMs / 1000)),
          statementTimeoutMs: config.dbTimeoutMs,
          lockTimeoutMs: config.dbTimeoutMs,
        })
      : undefined);
  const close = (timeoutS: number) => (owned ? sql?.end({ timeout: timeoutS }) : undefined);
  let cursors = new Map<string, string>();
  if (sql) {
    try {
      cursors = await withDeadline(loadCursors(sql), config.dbTimeoutMs, 'read engine_cursors');
    } catch (err) {
      await close(1)?.catch(() => {});
      throw new AppError(
        ErrorCode.UNAVAILABLE,
        'engine: cannot read engine_cursors — is the database reachable and migrated (npm run db:migrate)?',
        { cause: (err as Error).message },
        { cause: err },
      );
    }
  } else
    log.warn('engine: no DATABASE_URL — persistence is off (ticks, features and signals are not stored)');
  return { sql, cursors, close };
}
