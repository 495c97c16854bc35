import { connectSql } from '@aegis/shared/db/client';
import type { Sql } from 'postgres';

/**
 * A one-connection PostgreSQL client that a single engine component owns: the halt listener's
 * poll, the signal publisher's insert, the writer thread's COPY. Each of them bounds its queries
 * with a deadline, and after a failed or abandoned query the connection is suspect — one that saw
 * a deadline may still be mid-protocol (or silent for good), one a restart cut is dead — so the
 * next query must go out on a fresh one. This holds that client, replaces it, and ends it.
 *
 * The client comes from `connect` (owned: opened here, replaced after a failure, ended at `end`)
 * or is a `sql` the caller lent (borrowed: used as it is, never replaced nor ended here; whatever
 * connection that client hands out is the retry's). Neither: no client, `current` is undefined.
 */
export interface ConnectionSource {
  readonly connect?: (() => Sql) | undefined;
  readonly sql?: Sql | undefined;
}

export class OwnedConnection {
  readonly #source: ConnectionSource;
  #sql: Sql | undefined;
  #replacements = 0;

  constructor(source: ConnectionSource) {
    this.#source = source;
  }

  /** Opens the client if none is held yet (idempotent) and returns it. */
  open(): Sql | undefined {
    this.#sql ??= this.#source.connect?.() ?? this.#source.sql;
    return this.#sql;
  }

  /** The client the next query uses (undefined before `open`, after `end`, or with no source). */
  get current(): Sql | undefined {
    return this.#sql;
  }

  /** True when the client is opened and ended here (a `connect` was given). */
  get owned(): boolean {
    return this.#source.connect !== undefined;
  }

  /** Connections replaced so far (each after a failed or abandoned query). */
  get replacements(): number {
    return this.#replacements;
  }

  /**
   * Opens a fresh connection for the next query and ends the old one at once (its sockets
   * destroyed, whatever it was waiting for abandoned). A borrowed client is kept as it is.
   */
  replace(): Sql | undefined {
    const { connect } = this.#source;
    if (!connect) return this.#sql;
    const old = this.#sql;
    this.#sql = connect();
    this.#replacements++;
    void old?.end({ timeout: 0 }).catch(() => {});
    return this.#sql;
  }

  /** Lets go of the client; an owned one is ended (queries get `timeoutSeconds` to finish). */
  async end(timeoutSeconds = 1): Promise<void> {
    const sql = this.#sql;
    this.#sql = undefined;
    if (this.owned) await sql?.end({ timeout: timeoutSeconds }).catch(() => {});
  }
}

export interface OwnConnectionOptions {
  /** Names the backend in pg_stat_activity. */
  readonly applicationName: string;
  /** Bounds connecting, locks and (unless `statementTimeoutMs` says otherwise) each statement. */
  readonly dbTimeoutMs: number;
  readonly statementTimeoutMs?: number;
  readonly idleInTransactionTimeoutMs?: number;
}

/**
 * The engine's one-connection client, every server-side timeout set (shared/src/db/client.ts):
 * an owned connection runs one query at a time, so one socket is all it needs.
 */
export function ownConnection(url: string, o: OwnConnectionOptions): Sql {
  return connectSql(url, {
    max: 1,
    applicationName: o.applicationName,
    connectTimeout: Math.max(1, Math.ceil(o.dbTimeoutMs / 1000)),
    statementTimeoutMs: o.statementTimeoutMs ?? o.dbTimeoutMs,
    lockTimeoutMs: o.dbTimeoutMs,
    // Undefined: the shared default.
    idleInTransactionTimeoutMs: o.idleInTransactionTimeoutMs,
  });
}
