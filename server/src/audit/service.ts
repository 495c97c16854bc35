// Over 400 lines on purpose: record, recordBatch and recordDetached are the chain's one writer
// (lock, head read, hashed fields), and verify and list are its reads beside them; how rows are
// read back and walked is in chain-rows.ts.

import { isIP } from 'node:net';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { type SQL, sql } from 'drizzle-orm';
import { type PgDatabase, PgTransaction } from 'drizzle-orm/pg-core';
import type { PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import { queryRows } from '../db/rows.ts';
import {
  type AuditActorType,
  type AuditOutcome,
  type ChainCursor,
  type ChainedFields,
  GENESIS_HASH,
  payloadDigest,
  rowHash,
} from './chain.ts';
import {
  type AuditEntry,
  type ChainWalkResult,
  chainFilter,
  type RawRow,
  ROW_COLUMNS,
  readChainPage,
  toAuditEntry,
  UTC_MS_ISO,
  walkChain,
} from './chain-rows.ts';

export type { AuditEntry } from './chain-rows.ts';

/**
 * The audit log service: `record` appends one row to its tenant's hash chain inside the caller's
 * transaction (so the audit row commits or rolls back with the action it describes), `verify`
 * walks a chain and reports the first broken seq, `list` reads it back with filters.
 *
 * Append-only is enforced by the database (the application role has INSERT and SELECT only);
 * tamper evidence comes from the chain (see chain.ts).
 */

// biome-ignore lint/suspicious/noExplicitAny: any drizzle postgres-js database or transaction, whatever its schema
export type AuditDb = PgDatabase<PostgresJsQueryResultHKT, any, any>;

export interface AuditActor {
  type: AuditActorType;
  /** User id, API key id, agent name; null for the system or an unknown user. */
  id: string | null;
}

export interface AuditEvent {
  /** Dotted verb, e.g. `auth.login`, `keys.create`, `orders.place`. */
  action: string;
  actor: AuditActor;
  targetType?: string | null;
  targetId?: string | null;
  /** Anything JSON-like; only its digest is stored, and secret-named members never enter it. */
  payload?: unknown;
  outcome?: AuditOutcome;
  /** Short, non-secret summary for people reading the log. */
  details?: string | null;
  /**
   * The chain the row joins. Omitted: the desk of the transaction (`app.tenant_id`, set with
   * SET LOCAL by the request context). `null`: the platform chain.
   */
  tenantId?: TenantId | null;
  /** Omitted: `app.request_id` of the transaction, if the request context set it. */
  requestId?: string | null;
  /** Omitted: `app.client_ip` of the transaction, if the request context set it. */
  ip?: string | null;
}

export interface RecordedAudit {
  id: number;
  tenantId: TenantId | null;
  seq: number;
  hash: string;
}

const MAX_TEXT = 512;
const MAX_DETAILS = 2000;

function bounded(value: string | null | undefined, max: number): string | null {
  if (value === undefined || value === null) return null;
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** A valid textual IP, without an IPv6 zone; anything else is stored as null rather than failing the action. */
function cleanIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const withoutZone = ip.split('%')[0] ?? '';
  return isIP(withoutZone) ? withoutZone : null;
}

/** Advisory-lock key of a chain: one lock per tenant chain, one for the platform chain. */
const chainLockKey = (tenantSql: SQL) =>
  sql`hashtextextended('aegis.audit:' || coalesce((${tenantSql})::text, 'platform'), 0)`;

/**
 * Appends one audit row. Call it inside the transaction of the action it records:
 *
 *   await audit.record(ctx.tx, { action: 'orders.place', actor, targetType: 'order', targetId, payload });
 *
 * Concurrency: appends to one chain are serialized by a transaction-scoped advisory lock taken
 * before the last row is read; under READ COMMITTED the read after the lock sees the previous
 * holder's committed row. (Under REPEATABLE READ the snapshot could predate it: the unique
 * (tenant, seq) index then rejects the duplicate rather than forking the chain.) Given a plain
 * database handle rather than a transaction, record opens its own transaction.
 */
export async function record(db: AuditDb, event: AuditEvent): Promise<RecordedAudit> {
  if (!(db instanceof PgTransaction)) return db.transaction((tx) => appendInTransaction(tx, event));
  return appendInTransaction(db, event);
}

function checkAction(action: string): void {
  if (!action || action.length > 128) {
    throw new AppError(ErrorCode.BAD_INPUT, 'audit action must be 1..128 characters');
  }
}

/** The hashed fields of an event, once its place in the chain, its time, request id and IP are known. */
function eventFields(
  event: AuditEvent,
  at: Pick<ChainedFields, 'tenantId' | 'seq' | 'ts' | 'requestId' | 'ip'>,
): ChainedFields {
  return {
    tenantId: at.tenantId,
    seq: at.seq,
    ts: at.ts,
    actorType: event.actor.type,
    actorId: bounded(event.actor.id, MAX_TEXT),
    action: event.action,
    targetType: bounded(event.targetType, MAX_TEXT),
    targetId: bounded(event.targetId, MAX_TEXT),
    outcome: event.outcome ?? 'ok',
    requestId: bounded(at.requestId, MAX_TEXT),
    ip: at.ip,
    payloadDigest: payloadDigest(event.payload),
    details: bounded(event.details, MAX_DETAILS),
  };
}

async function appendInTransaction(tx: AuditDb, event: AuditEvent): Promise<RecordedAudit> {
  checkAction(event.action);
  const tenantSql =
    event.tenantId === undefined
      ? sql`nullif(current_setting('app.tenant_id', true), '')::uuid`
      : sql`${event.tenantId}::uuid`;
  const requestIdSql =
    event.requestId === undefined
      ? sql`nullif(current_setting('app.request_id', true), '')`
      : sql`${bounded(event.requestId, MAX_TEXT)}::text`;
  const ipSql =
    event.ip === undefined
      ? sql`nullif(current_setting('app.client_ip', true), '')`
      : // Validated by isIP, so the cast cannot fail; host() is how verify reads it back.
        sql`host(${cleanIp(event.ip)}::inet)`;

  await tx.execute(sql`select pg_advisory_xact_lock(${chainLockKey(tenantSql)})`);
  // One round trip after the lock: the chain head (if any), the resolved request context and the
  // row's timestamp (database clock, so every server instance stamps on one clock, truncated to
  // milliseconds so the hashed ISO string is exactly what is stored).
  const [ctxRow] = (await tx.execute(sql`
    with ctx as (
      select ${tenantSql} as tenant_id, ${requestIdSql} as request_id, ${ipSql} as ip_text,
             date_trunc('milliseconds', clock_timestamp()) as ts
    )
    select ctx.tenant_id::text as tenant_id, ctx.request_id, ctx.ip_text,
           to_char(ctx.ts at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as ts,
           head.seq::text as head_seq, head.hash as head_hash
    from ctx
    left join lateral (
      select a.seq, a.hash from audit_log a
      where a.tenant_id is not distinct from ctx.tenant_id
      order by a.seq desc limit 1
    ) head on true`)) as unknown as Array<{
    /** The chain's desk (the event's or the transaction's), null for the platform chain. */
    tenant_id: TenantId | null;
    request_id: string | null;
    ip_text: string | null;
    ts: string;
    head_seq: string | null;
    head_hash: string | null;
  }>;
  if (!ctxRow) throw new AppError(ErrorCode.INTERNAL, 'audit: context query returned no row');

  // The IP as PostgreSQL stores it (host() of the inet), so verify re-reads the same text. An
  // explicit IP was normalized in the query above; one from the request setting is checked here
  // first (an invalid setting must not fail the action).
  const ip = event.ip === undefined ? cleanIp(ctxRow.ip_text) : null;
  let ipNormalized: string | null = event.ip === undefined ? null : ctxRow.ip_text;
  if (ip) {
    const [r] = (await tx.execute(sql`select host(${ip}::inet) as ip`)) as unknown as Array<{ ip: string }>;
    ipNormalized = r?.ip ?? null;
  }

  const prevHash = ctxRow.head_hash ?? GENESIS_HASH;
  const fields = eventFields(event, {
    tenantId: ctxRow.tenant_id,
    seq: ctxRow.head_seq === null ? 1 : Number(ctxRow.head_seq) + 1,
    ts: ctxRow.ts,
    requestId: ctxRow.request_id,
    ip: ipNormalized,
  });
  const hash = rowHash(prevHash, fields);
  const [inserted] = (await tx.execute(sql`
    insert into audit_log (tenant_id, seq, ts, actor_type, actor_id, action, target_type, target_id,
                           outcome, request_id, ip, payload_digest, details, prev_hash, hash)
    values (${fields.tenantId}::uuid, ${fields.seq}, ${fields.ts}::timestamptz, ${fields.actorType},
            ${fields.actorId}, ${fields.action}, ${fields.targetType}, ${fields.targetId}, ${fields.outcome},
            ${fields.requestId}, ${fields.ip}::inet, ${fields.payloadDigest}, ${fields.details},
            ${prevHash}, ${hash})
    returning id::text as id`)) as unknown as Array<{ id: string }>;
  return { id: Number(inserted?.id), tenantId: fields.tenantId, seq: fields.seq, hash };
}

/**
 * Appends several rows to one desk's chain in the caller's transaction: one chain lock, one head
 * read, one multi-row insert (a batch of orders placed together). The rows get consecutive seqs
 * in the order given and one database timestamp; each event names its own request id and IP (the
 * transaction's settings belong to no single request). The chain is exactly what `record` called
 * once per event would have written, so `verify` needs nothing new.
 */
export async function recordBatch(
  tx: AuditDb,
  tenantId: TenantId,
  events: readonly (AuditEvent & { requestId: string | null; ip: string | null })[],
): Promise<RecordedAudit[]> {
  if (events.length === 0) return [];
  for (const e of events) checkAction(e.action);
  const ips = [...new Set(events.map((e) => cleanIp(e.ip)).filter((ip): ip is string => ip !== null))];
  // The head read is sent with the lock and runs after it on the same connection (postgres.js
  // pipelines), so it sees the previous holder's committed rows: one round trip for both. With
  // the head: the timestamp and each distinct IP as PostgreSQL stores it (host()).
  const [, headRows] = await Promise.all([
    tx.execute(sql`select pg_advisory_xact_lock(${chainLockKey(sql`${tenantId}::uuid`)})`),
    tx.execute(sql`
    select to_char(date_trunc('milliseconds', clock_timestamp()) at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as ts,
           (select a.seq::text from audit_log a where a.tenant_id = ${tenantId}::uuid order by a.seq desc limit 1) as head_seq,
           (select a.hash from audit_log a where a.tenant_id = ${tenantId}::uuid order by a.seq desc limit 1) as head_hash,
           coalesce((select json_agg(host(u.x::inet) order by u.n) from unnest(${`{${ips.join(',')}}`}::text[]) with ordinality as u(x, n)), '[]'::json) as ips`),
  ]);
  const [head] = headRows as unknown as Array<{
    ts: string;
    head_seq: string | null;
    head_hash: string | null;
    ips: string[];
  }>;
  if (!head) throw new AppError(ErrorCode.INTERNAL, 'audit: head query returned no row');
  const hostOf = new Map(ips.map((ip, i) => [ip, head.ips[i] ?? null]));
  let prevHash = head.head_hash ?? GENESIS_HASH;
  let seq = head.head_seq === null ? 0 : Number(head.head_seq);
  const rows: (ChainedFields & { prevHash: string; hash: string })[] = [];
  for (const event of events) {
    const ip = cleanIp(event.ip);
    const fields = eventFields(event, {
      tenantId,
      seq: ++seq,
      ts: head.ts,
      requestId: event.requestId,
      ip: ip ? (hostOf.get(ip) ?? null) : null,
    });
    const hash = rowHash(prevHash, fields);
    rows.push({ ...fields, prevHash, hash });
    prevHash = hash;
  }
  const values = sql.join(
    rows.map(
      (
        f,
      ) => sql`(${f.tenantId}::uuid, ${f.seq}, ${f.ts}::timestamptz, ${f.actorType}, ${f.actorId}, ${f.action},
                 ${f.targetType}, ${f.targetId}, ${f.outcome}, ${f.requestId}, ${f.ip}::inet, ${f.payloadDigest},
                 ${f.details}, ${f.prevHash}, ${f.hash})`,
    ),
    sql`, `,
  );
  const inserted = (await tx.execute(sql`
    insert into audit_log (tenant_id, seq, ts, actor_type, actor_id, action, target_type, target_id,
                           outcome, request_id, ip, payload_digest, details, prev_hash, hash)
    values ${values}
    returning id::text as id, seq`)) as unknown as Array<{ id: string; seq: number | string }>;
  const idOf = new Map(inserted.map((r) => [Number(r.seq), Number(r.id)]));
  return rows.map((f) => ({ id: idOf.get(f.seq) ?? 0, tenantId, seq: f.seq, hash: f.hash }));
}

/**
 * Appends in a transaction of its own, for events that must survive the caller's rollback
 * (a refused order, a failed action): the caller's transaction is about to roll back, so a row
 * written there would vanish with it. The chain is named explicitly (`tenantId`, null = platform).
 *
 * Never call it for a chain the caller's still-open transaction has already appended to: that
 * transaction holds the chain's lock until it ends, so this one would wait for it. lock_timeout
 * turns such a mistake into an error instead of a hung request.
 */
export async function recordDetached(
  db: AuditDb,
  event: AuditEvent & { tenantId: TenantId | null },
): Promise<RecordedAudit> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('lock_timeout', '5s', true)`);
    if (event.tenantId !== null) {
      await tx.execute(sql`select set_config('app.tenant_id', ${event.tenantId}, true)`);
    }
    return appendInTransaction(tx, event);
  });
}

/** A chain walk's result (chain-rows.ts), naming the chain walked. */
export type VerifyResult = ChainWalkResult & { tenantId: TenantId | null };

export interface VerifyOptions {
  tenantId: TenantId | null;
  /**
   * A head recorded earlier (e.g. exported to a write-once store). A chain can only prove what it
   * still contains: deleting the newest rows leaves a valid shorter chain, which the anchor exposes.
   */
  anchor?: ChainCursor;
  pageSize?: number;
}

/** Walks a whole chain in seq order, page by page, and reports the first broken seq. */
export async function verify(db: AuditDb, options: VerifyOptions): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 1000;
  const result = await walkChain(
    (afterSeq) => readChainPage(db, options.tenantId, afterSeq, pageSize),
    pageSize,
    options.anchor,
  );
  return { ...result, tenantId: options.tenantId };
}

/** The row filters every audit read shares (`filterConditions`). */
export interface AuditRowFilters {
  /** Exact action, or a prefix ending in '.' or '*' (e.g. `orders.` for every order action). */
  action?: string;
  actorType?: AuditActorType;
  actorId?: string;
  targetType?: string;
  targetId?: string;
  outcome?: AuditOutcome;
  from?: Date;
  to?: Date;
}

export interface ListFilters extends AuditRowFilters {
  tenantId: TenantId | null;
  /** Opaque cursor from a previous page (older rows). */
  cursor?: string;
  /** Only rows newer than this seq (for following a chain: `audit tail --follow`). */
  sinceSeq?: number;
  limit?: number;
}

export interface ListPage {
  items: AuditEntry[];
  nextCursor: string | null;
}

/** Newest first. The cursor is the seq of the last row returned (keyset pagination within a chain). */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s:${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^s:(\d{1,15})$/.exec(text);
  if (!m) throw new AppError(ErrorCode.BAD_INPUT, 'cursor: invalid cursor', { field: 'cursor' });
  return Number(m[1]);
}

/**
 * The row filters every audit read shares (action exact or by prefix, actor, target, outcome,
 * time): the desk chain's `list` and the merged desk view (desk-view.ts) build them here.
 */
export function filterConditions(f: AuditRowFilters): SQL[] {
  const conds: SQL[] = [];
  if (f.action) {
    const a = f.action;
    if (a.endsWith('*') || a.endsWith('.')) {
      const prefix = a.endsWith('*') ? a.slice(0, -1) : a;
      // Escape LIKE metacharacters so a filter can never widen itself.
      const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
      conds.push(sql`action like ${`${escaped}%`}`);
    } else {
      conds.push(sql`action = ${a}`);
    }
  }
  if (f.actorType) conds.push(sql`actor_type = ${f.actorType}`);
  if (f.actorId) conds.push(sql`actor_id = ${f.actorId}`);
  if (f.targetType) conds.push(sql`target_type = ${f.targetType}`);
  if (f.targetId) conds.push(sql`target_id = ${f.targetId}`);
  if (f.outcome) conds.push(sql`outcome = ${f.outcome}`);
  if (f.from) conds.push(sql`ts >= ${f.from.toISOString()}::timestamptz`);
  if (f.to) conds.push(sql`ts < ${f.to.toISOString()}::timestamptz`);
  return conds;
}

export async function list(db: AuditDb, filters: ListFilters): Promise<ListPage> {
  const limit = Math.min(Math.max(filters.limit ?? 50, 1), 500);
  const conds: SQL[] = [chainFilter(filters.tenantId)];
  conds.push(...filterConditions(filters));
  if (filters.cursor !== undefined) conds.push(sql`seq < ${decodeCursor(filters.cursor)}`);
  if (filters.sinceSeq !== undefined) conds.push(sql`seq > ${filters.sinceSeq}`);
  const rows = await queryRows<RawRow>(
    db,
    sql`
    select ${ROW_COLUMNS} from audit_log
    where ${sql.join(conds, sql` and `)}
    order by audit_log.seq desc limit ${limit + 1}`,
  );
  const items = rows.slice(0, limit).map(toAuditEntry);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null };
}

/** The service as one object, so call sites read `audit.record(tx, …)`. */
export const audit = { record, recordDetached, verify, list } as const;
